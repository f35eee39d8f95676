"""The confirm core shared by REST and Bulk: results of rows carrying their plan -> state and history."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordResult
from airflow_provider_sfcrm.sync.confirm import confirmed, history_statuses, outcome_unknown, plan_column
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow

AS_OF = datetime(2026, 1, 2, tzinfo=timezone.utc)
ID = "003ak0000000001"


def _carried(rows: list[dict]) -> pa.Table:
    columns = {}
    for name, kind in (
        ("op", pa.string()),
        ("identity", pa.string()),
        ("key", pa.string()),
        ("key_hash", pa.int64()),
        ("record_id", pa.string()),
        ("patch", pa.string()),
        ("digest", pa.string()),
        ("realized", pa.int16()),
        ("members", pa.int16()),
        ("status1", pa.string()),
    ):
        columns[plan_column(name)] = pa.array([row.get(name) for row in rows], kind)
    return pa.table(columns)


def test_the_record_id_is_salesforces_else_the_states_else_the_identity_of_an_update():
    base = dict(key_hash=1, patch="{}", digest="d", realized=0, members=1)
    table = _carried(
        [
            dict(base, op="upsert", identity="E1", key="e1", status1="realized"),
            dict(base, op="update", identity="x", key="e2", record_id="003S"),
            dict(base, op="update", identity=ID, key=ID.lower()),
            dict(base, op="upsert", identity="E4", key="e4"),
        ]
    )
    results = [
        RecordResult(0, True, id="003N"),
        RecordResult(1, True),
        RecordResult(2, True),
        RecordResult.failure(3, "DUPLICATE_VALUE", "dup"),
    ]

    rows, history = confirmed(table, results, ["LastName", "crm_1_seg__c"], AS_OF)

    assert [(r.key, r.record_id) for r in rows] == [("e1", "003N"), ("e2", "003S"), (ID.lower(), to18(ID))]
    assert rows[0] == StateRow("e1", 1, "003N", "{}", "d", 0, 1)
    assert history == [HistoryRow("e1", "003N", "crm_1_seg__c", "realized", AS_OF)]
    assert history_statuses(table, ["LastName", "crm_1_seg__c"])[0] == [("crm_1_seg__c", "realized")]


def test_results_must_line_up_with_the_rows_and_unknown_outcomes_are_told():
    with pytest.raises(ValueError, match="1 results for 0 sent rows"):
        confirmed(_carried([]), [RecordResult(0, True)], [], AS_OF)
    assert outcome_unknown([RecordResult(0, True), RecordResult.failure(1, UNKNOWN_OUTCOME, "lost")])
    assert not outcome_unknown([RecordResult.failure(0, "ENTITY_IS_DELETED", "gone")])
