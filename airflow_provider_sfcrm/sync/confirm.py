"""What Salesforce confirmed, as state rows and status history: one implementation for REST and Bulk.

Every row sent with a sync state carries its plan values in ``__sfcrm_plan_*`` columns
(:func:`plan_column`) to the moment its result is known — a REST request's answer, or a Bulk API
2.0 job's result set read back hours later. :func:`confirmed` turns those rows and their results
into the :class:`~.store.StateRow` and :class:`~.store.HistoryRow` records the store applies; a row
Salesforce did not confirm changes nothing. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from airflow_provider_sfcrm.activation.ids import is_well_formed, to18
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordResult
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow

PLAN_PREFIX = "__sfcrm_plan_"
#: The plan values a state row is made of (besides the statuses ``status<i>``).
STATE_COLUMNS = ("op", "identity", "key", "key_hash", "record_id", "patch", "digest", "realized", "members")


def plan_column(name: str) -> str:
    """The column of ``table`` that carries the plan value ``name``."""
    return PLAN_PREFIX + name


def history_statuses(table: pa.Table, field_names: Sequence[str]) -> list[list[tuple[str, str]]]:
    """Per row, ``[(field, status)]`` of the audience statuses it sends (untranslated).

    ``field_names`` are the plan's fields in order: ``status<i>`` is the status sent to the i-th.
    """
    per_row: list[list[tuple[str, str]]] = [[] for _ in range(table.num_rows)]
    for i, field in enumerate(field_names):
        name = plan_column(f"status{i}")
        if name in table.column_names:
            for row, status in zip(per_row, table.column(name).to_pylist(), strict=True):
                if status is not None:
                    row.append((field, status))
    return per_row


def confirmed(
    table: pa.Table,
    results: Sequence[RecordResult],
    field_names: Sequence[str],
    as_of: datetime,
) -> tuple[list[StateRow], list[HistoryRow]]:
    """The state rows and history of the rows of ``table`` whose ``results`` (in row order) succeeded.

    A record's Id is the one Salesforce answered, else the one the state knew, else (update by Id)
    the identity itself.
    """
    if len(results) != table.num_rows:
        raise ValueError(f"{len(results)} results for {table.num_rows} sent rows")
    column = {name: table.column(plan_column(name)).to_pylist() for name in STATE_COLUMNS}
    statuses = history_statuses(table, field_names)
    rows, history = [], []
    for at, result in enumerate(results):
        if not result.success:
            continue
        record_id = result.id or column["record_id"][at] or _id_of(column["identity"][at], column["op"][at])
        key = column["key"][at]
        rows.append(
            StateRow(
                key,
                column["key_hash"][at],
                record_id,
                column["patch"][at],
                column["digest"][at],
                column["realized"][at],
                column["members"][at],
            )
        )
        history += [HistoryRow(key, record_id, field, status, as_of) for field, status in statuses[at]]
    return rows, history


def outcome_unknown(results: Sequence[RecordResult]) -> bool:
    """Whether Salesforce may have written one of these without saying so (an insert group then stays
    journaled: the next run finds out by SOQL)."""
    return any(UNKNOWN_OUTCOME in result.status_codes for result in results)


def _id_of(identity: str | None, operation: str) -> str | None:
    if operation == "update" and identity and is_well_formed(identity):
        return to18(identity)
    return None
