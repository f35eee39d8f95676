"""Crash-safe inserts: each group of records to create is recorded before it is sent.

An insert (POST) cannot be sent twice without creating twice, and a killed task leaves no answer.
So before a group is sent, :func:`journal_entries` describes it — per record, the identity value
it is created with, its state key and the state it will have once confirmed — and the store keeps
it (``sfcrm_sync_pending``, committed). Once the group's outcome is recorded, the entry is settled.
A retry first calls :func:`reconcile`: for every unsettled group it looks the identity values up in
Salesforce (SOQL), records the records that exist as if their creation had been confirmed, and
forgets the group; the others are sent again by the plan, as never created. Pure: no Airflow, no
HTTP (the lookup is a parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from airflow_provider_sfcrm.activation.dedup import identity_keys
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow, SyncStateStore

#: Finds records by identity value: ``[(value, Salesforce Id)]`` of those that exist.
FindFn = Callable[[Sequence[str]], list[tuple[str, str]]]


def journal_entries(
    columns: dict[str, list[Any]], statuses: list[list[tuple[str, str]]], as_of: datetime
) -> list[dict[str, Any]]:
    """One entry per record of a group: identity value ``v``, key ``k``, key hash ``h``, and the state
    once confirmed — patch ``p``, digest ``d``, flags ``r`` / ``m``, as-of ``a``, statuses ``s``."""
    stamp = int(as_of.timestamp())
    return [
        {
            "v": columns["identity"][at],
            "k": columns["key"][at],
            "h": columns["key_hash"][at],
            "p": columns["patch"][at],
            "d": columns["digest"][at],
            "r": columns["realized"][at],
            "m": columns["members"][at],
            "a": stamp,
            "s": statuses[at],
        }
        for at in range(len(columns["key"]))
    ]


def reconcile(
    state: SyncStateStore,
    scope_id: int,
    shard: tuple[int, int],
    find: FindFn,
    *,
    case_sensitive: bool,
    run_id: str,
    log: Callable[..., object],
) -> None:
    """Record the records of every unsettled insert group that Salesforce has, and settle the groups."""
    index, count = shard
    for batch in state.pending(scope_id, count, index):
        found = find([entry["v"] for entry in batch.entries])
        keys = identity_keys(
            pa.array([value for value, _ in found], pa.string()),
            by_salesforce_id=False,
            case_sensitive=case_sensitive,
        ).to_pylist()
        ids = dict(zip(keys, (record_id for _, record_id in found), strict=True))
        rows, history = [], []
        for entry in batch.entries:
            record_id = ids.get(entry["k"])
            if record_id is None:
                continue
            rows.append(
                StateRow(entry["k"], entry["h"], record_id, entry["p"], entry["d"], entry["r"], entry["m"])
            )
            moment = datetime.fromtimestamp(entry["a"], tz=timezone.utc)
            history += [HistoryRow(entry["k"], record_id, f, status, moment) for f, status in entry["s"]]
        state.apply(scope_id, rows, history, run_id=batch.run_id or run_id, done_batches=[batch.batch_id])
        log(
            "Reconciled insert group %s of an earlier run: %d of %d records had been created (now "
            "recorded); the others are sent again",
            batch.batch_id,
            len(rows),
            len(batch.entries),
        )
