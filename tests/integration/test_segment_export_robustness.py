"""What users met when they ran the export as users do: bad values, lost answers, stopped and killed tasks."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.exceptions import SfCrmStoppedError
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.integration._export_org import (
    CONN_ID,
    insert,
    renaming_export,
    renaming_segment,
    start_export_org,
    write_segment,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LEAD_SCHEMA = pa.schema(
    [("ext", pa.string()), ("last", pa.string()), ("company", pa.string()), ("revenue", pa.float64())]
)


def _lead_rows(n: int, prefix: str) -> list[dict]:
    return [
        {"ext": f"{prefix}-{i}", "last": f"Last{i}", "company": f"Co{i}", "revenue": 1000.0 + i}
        for i in range(n)
    ]


def _lead_upsert(segment: str, tmp_path: Path, **overrides) -> SalesforceSegmentExportOperator:
    args = dict(
        task_id="export_leads",
        sobject="Lead",
        operation="upsert",
        external_id_field="Ext_Id__c",
        segment_path=segment,
        field_mapping={
            "ext": "Ext_Id__c",
            "last": "LastName",
            "company": "Company",
            "revenue": "AnnualRevenue",
        },
        rejected_rows_path=str(tmp_path / "rejected.parquet"),
        max_rejected_ratio=0.01,
        chunk_rows=300,
        sfcrm_conn_id=CONN_ID,
    )
    args.update(overrides)
    return SalesforceSegmentExportOperator(**args)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from start_export_org(tmp_path_factory.mktemp("export-robustness"), monkeypatch)


@pytest.mark.parametrize("bad", [math.inf, -math.inf], ids=["inf", "-inf"])
def test_one_infinite_number_rejects_its_row_and_nothing_else(org, tmp_path, bad):
    org.sandbox.reset()
    rows = _lead_rows(1001, f"inf{bad > 0}")
    rows[1000]["revenue"] = bad
    rows[10]["revenue"] = math.nan  # a missing number: the field is left as it is, the row is written
    segment = write_segment(tmp_path / "leads.parquet", rows, LEAD_SCHEMA)

    summary = _lead_upsert(segment, tmp_path).execute({})

    assert (summary["total"], summary["written"], summary["created"], summary["rejected"]) == (
        1001,
        1000,
        1000,
        1,
    )
    assert summary["rejected_by_code"] == {"NON_FINITE_NUMBER": 1}
    rejected = pq.read_table(summary["rejected_rows_path"]).to_pylist()
    assert [(r["sfcrm_row_number"], r["sfcrm_error_fields"]) for r in rejected] == [
        (1000, [["AnnualRevenue"]])
    ]
    assert "Annual Revenue" in rejected[0]["sfcrm_error_messages"][0]
    assert org.sandbox.stats()["records"]["Lead"] == 1000


def test_values_of_the_wrong_type_reject_their_rows_with_the_field_named(org, tmp_path):
    org.sandbox.reset()
    rows = [
        {"ext": f"typed-{i}", "last": f"L{i}", "company": "Co", "revenue": str(1000 + i), "employees": str(i)}
        for i in range(20)
    ]
    rows[3]["revenue"] = "a lot"
    rows[5]["employees"] = "12.5"  # Employees takes whole numbers only
    rows[7]["revenue"] = " 2.5e3 "  # a number written as text is fine
    schema = pa.schema([*LEAD_SCHEMA.remove(3), ("revenue", pa.string()), ("employees", pa.string())])
    segment = write_segment(tmp_path / "typed.parquet", rows, schema)
    mapping = {
        "ext": "Ext_Id__c",
        "last": "LastName",
        "company": "Company",
        "revenue": "AnnualRevenue",
        "employees": "NumberOfEmployees",
    }

    summary = _lead_upsert(segment, tmp_path, field_mapping=mapping, max_rejected_ratio=0.5).execute({})

    assert (summary["written"], summary["rejected_by_code"]) == (18, {"INVALID_TYPE_ON_FIELD_IN_RECORD": 2})
    rejected = {r["sfcrm_row_number"]: r for r in pq.read_table(summary["rejected_rows_path"]).to_pylist()}
    assert rejected[3]["sfcrm_error_fields"] == [["AnnualRevenue"]]
    assert rejected[5]["sfcrm_error_fields"] == [["NumberOfEmployees"]]
    assert "Employees: value not of required type: 12.5" in rejected[5]["sfcrm_error_messages"][0]
    # Refused before sending: Salesforce may refuse a wrongly typed JSON value for the whole request
    # (JSON_PARSER_ERROR), which would have taken the other rows of the batch down with it.
    assert {r["sfcrm_source"] for r in rejected.values()} == {"client"}


def test_created_and_updated_are_exact_or_said_to_be_unknown_after_lost_answers(tmp_path, monkeypatch):
    # Every write is processed, but one answer in four never arrives: the upsert is sent again and
    # the second answer says "updated" for the Leads the lost first answer had created.
    faults = {"seed": 11, "drop_connection_rate": 0.25}
    for org in start_export_org(tmp_path / "org", monkeypatch, faults=faults):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{CONN_ID.upper()}",
            json.dumps(org.sandbox.connection_dict(backoff_initial_s=0.01, backoff_max_s=0.05)),
        )
        org.sandbox.reset()
        existing = _lead_rows(400, "lost")[:100]
        insert(
            org.hook, "Lead", [{"Ext_Id__c": r["ext"], "LastName": "Old", "Company": "Old"} for r in existing]
        )
        segment = write_segment(tmp_path / "lost.parquet", _lead_rows(400, "lost"), LEAD_SCHEMA)

        summary = _lead_upsert(segment, tmp_path, batch_size=20, max_workers=2).execute({})
        in_org = org.sandbox.stats()["records"]["Lead"]

    assert (summary["total"], summary["written"], summary["rejected"]) == (400, 400, 0)
    assert in_org == 400
    unknown_rows = [
        row for first, last in summary["created_or_updated_rows"] for row in range(first, last + 1)
    ]
    assert summary["created_or_updated"] == len(unknown_rows) > 0  # the seed drops some answers
    assert summary["created"] + summary["updated"] + summary["created_or_updated"] == 400
    # Rows 0-99 existed, 100-399 were new: every row whose split is claimed is claimed rightly.
    known_created = 300 - sum(1 for row in unknown_rows if row >= 100)
    known_updated = 100 - sum(1 for row in unknown_rows if row < 100)
    assert (summary["created"], summary["updated"]) == (known_created, known_updated)


def _kill_once_writing(op, write_calls, writes_before: int) -> None:
    """Stop mid-run whatever the machine's load: once the first write has reached the org."""
    deadline = time.monotonic() + 60
    while write_calls() == writes_before and time.monotonic() < deadline:
        time.sleep(0.02)
    op.on_kill()


def test_on_kill_stops_sending_and_saves_what_was_not_sent(tmp_path, monkeypatch):
    for org in start_export_org(tmp_path / "org", monkeypatch, latency_ms=150):
        segment = renaming_segment(org.hook, tmp_path / "contacts.parquet", 3000)
        op = renaming_export(
            segment, tmp_path / "rejected.parquet", CONN_ID, batch_size=50, max_workers=2, chunk_rows=500
        )
        writes_before = org.write_calls()

        threading.Thread(
            target=_kill_once_writing, args=(op, org.write_calls, writes_before), daemon=True
        ).start()

        with pytest.raises(SfCrmStoppedError, match="Replay the rejected rows") as info:
            op.execute({})
        time.sleep(0.5)  # nothing may be sent after execute returned
        writes = org.write_calls() - writes_before
        assert org.write_calls() - writes_before == writes
        renamed = sum(
            1 for row in org.hook.query_all("SELECT LastName FROM Contact") if row["LastName"][:3] == "New"
        )

    summary = info.value.summary
    assert summary["stopped"] is True
    assert 0 < summary["written"] < 3000 and writes < 3000 / 50
    assert summary["written"] == renamed == writes * 50  # in-flight requests finished, whole batches
    assert summary["rejected_by_code"] == {"TASK_STOPPED": 3000 - summary["written"]}
    rejected = pq.read_table(summary["rejected_rows_path"])
    written_rows = set(range(3000)) - set(rejected.column("sfcrm_row_number").to_pylist())
    assert len(written_rows) == summary["written"]
    assert set(rejected.column("sfcrm_source").to_pylist()) == {"client"}
    assert rejected.column("last").to_pylist()[-1] == "New2999"  # replayable as it is


_KILLED_EXPORT = """
import json, os, sys
sys.path.insert(0, {repo!r})
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
op = SalesforceSegmentExportOperator(
    task_id="export", sobject="Contact", segment_path={segment!r},
    field_mapping={{"sfid": "Id", "last": "LastName"}}, rejected_rows_path={rejected!r},
    batch_size=50, max_workers=1, chunk_rows=200, sfcrm_conn_id={conn_id!r},
)
print("started", flush=True)
op.execute({{}})
"""


def test_a_killed_run_leaves_no_unreadable_rejected_file(tmp_path, monkeypatch):
    rejected = tmp_path / "out" / "rejected.parquet"
    for org in start_export_org(tmp_path / "org", monkeypatch, latency_ms=200):
        segment = renaming_segment(org.hook, tmp_path / "contacts.parquet", 1000)
        script = _KILLED_EXPORT.format(
            repo=str(REPO), segment=segment, rejected=str(rejected), conn_id=CONN_ID
        )
        writes_before = org.write_calls()
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=dict(os.environ))
        try:
            while child.stdout.readline().strip() != b"started":  # Airflow may log first
                assert child.poll() is None, "the export process died on its own"
            deadline = time.monotonic() + 60
            while org.write_calls() < writes_before + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert org.write_calls() >= writes_before + 2, "the export never started writing"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()

    assert not rejected.exists()  # no 4-byte, unreadable file where a reader would look
    # At most the hidden temporary file the run was writing, which readers of the directory skip.
    assert [p.name for p in rejected.parent.iterdir() if not p.name.startswith(".rejected.parquet.")] == []


def test_openlineage_names_the_segment_and_the_fields_written(org, tmp_path):
    org.sandbox.reset()
    segment = write_segment(tmp_path / "lineage.parquet", _lead_rows(3, "ol"), LEAD_SCHEMA)
    op = _lead_upsert(segment, tmp_path)
    assert op.get_openlineage_facets_on_complete(None) is None  # nothing ran yet

    op.execute({})
    lineage = op.get_openlineage_facets_on_complete(None)

    [source] = lineage.inputs
    assert (source.namespace, source.name) == ("file", segment)
    [output] = lineage.outputs
    host = org.sandbox.base_url.split("://", 1)[1]
    assert (output.namespace, output.name) == (f"salesforce://{host}", "Lead")
    fields = {f.name: f.type for f in output.facets["schema"].fields}
    assert fields == {
        "Ext_Id__c": "string",
        "LastName": "string",
        "Company": "string",
        "AnnualRevenue": "currency",
    }
    assert output.outputFacets["outputStatistics"].rowCount == 3
