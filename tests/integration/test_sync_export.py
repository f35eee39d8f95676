"""The export with a sync state against the sandbox: crashes (kill -9) and retries, orgs, shards.

Each killed run is a real process (a Python script running the operator) killed with SIGKILL
mid-run; the retry runs the same export again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.exceptions import SfCrmVanishedError
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.conftest import SYNC_STATE_CONN_ID
from tests.integration._export_org import CONN_ID, start_export_org

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MEMBERSHIP_SCHEMA = pa.schema(
    [("ext", pa.string()), ("last", pa.string()), ("aud_1", pa.bool_()), ("aud_2", pa.bool_())]
)

#: The membership syncs' upsert of two audiences on an external id.
MEMBERSHIP_UPSERT = dict(
    operation="upsert",
    external_id_field="Ext_Id__c",
    field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
    audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
)

_EXPORT_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
print("started", flush=True)
summary = SalesforceSegmentExportOperator(**json.loads({arguments!r})).execute({{}})
print("summary " + json.dumps(summary), flush=True)
"""


def export_arguments(segment: str, tmp: Path, **overrides) -> dict:
    arguments = dict(
        task_id="sync",
        sobject="Contact",
        segment_path=segment,
        sync_state=SYNC_STATE_CONN_ID,
        rejected_rows_path=str(tmp / "rejected.parquet"),
        stale_rows_path=str(tmp / "stale.parquet"),
        sfcrm_conn_id=CONN_ID,
    )
    arguments.update(overrides)
    return arguments


def run_killed(arguments: dict, until, *, timeout: float = 240) -> None:
    """Run the export in a process of its own and SIGKILL it as soon as ``until()`` holds."""
    script = _EXPORT_SCRIPT.format(repo=str(REPO), arguments=json.dumps(arguments))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=dict(os.environ))
    try:
        while child.stdout.readline().strip() != b"started":  # Airflow may log first
            assert child.poll() is None, "the export process died on its own"
        deadline = time.monotonic() + timeout
        while not until():
            assert child.poll() is None, "the export finished before it could be killed"
            assert time.monotonic() < deadline, "the kill condition never came"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def write_segment(path: Path, rows: list[dict], schema: pa.Schema) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=20_000)
    return str(path)


@pytest.mark.timeout(900)
def test_killed_insert_then_retry_creates_exactly_one_record_per_row(tmp_path, monkeypatch, sync_state_db):
    people = 200_000
    rows = [{"email": f"person{i}@example.com", "last": f"Person {i}"} for i in range(people)]
    schema = pa.schema([("email", pa.string()), ("last", pa.string())])
    segment = write_segment(tmp_path / "people.parquet", rows, schema)
    arguments = export_arguments(
        segment,
        tmp_path,
        operation="insert",
        external_id_field="Email",
        field_mapping={"email": "Email", "last": "LastName"},
        as_of="2026-01-02T00:00:00+00:00",
    )
    for org in start_export_org(tmp_path / "org", monkeypatch, per_record_latency_ms=0.2):
        run_killed(arguments, lambda org=org: org.sandbox.stats()["records"]["Contact"] >= 0.4 * people)
        created_before_retry = org.sandbox.stats()["records"]["Contact"]
        recorded = sync_state_db.query("SELECT count(*) FROM sfcrm_sync_state")[0][0]
        unsettled = sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0]

        summary = SalesforceSegmentExportOperator(**arguments).execute({})
        emails = [r["Email"] for r in org.hook.query_all("SELECT Email FROM Contact")]

    assert 0.4 * people <= created_before_retry < people
    assert recorded < created_before_retry and unsettled > 0  # the kill landed with inserts unconfirmed
    assert len(emails) == people and set(emails) == {r["email"] for r in rows}  # no duplicate, none lost
    assert summary["rejected"] == 0
    assert summary["written"] == people - created_before_retry
    assert summary["unchanged"] == created_before_retry  # reconciled by SOQL, not sent again
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0
    assert sync_state_db.query("SELECT count(*), count(record_id) FROM sfcrm_sync_state")[0] == (
        people,
        people,
    )


def _membership_days(people: int) -> list[list[dict]]:
    day1 = [
        {"ext": f"EXT-{i}", "last": f"Person {i}", "aud_1": i % 3 == 0, "aud_2": i % 5 == 0}
        for i in range(people)
    ]
    day2 = [dict(row, aud_1=i % 4 == 0) for i, row in enumerate(day1) if i % 17]
    return [day1, day2]


def _final_state(org, database) -> tuple[dict, list, list]:
    """What the org and the state hold, keyed by external id (record Ids differ between orgs)."""
    records = org.hook.query_all("SELECT Ext_Id__c, LastName, crm_1_seg__c, crm_2_seg__c FROM Contact")
    org_fields = {r["Ext_Id__c"]: (r["LastName"], r["crm_1_seg__c"], r["crm_2_seg__c"]) for r in records}
    state = sorted(
        (
            key,
            digest,
            realized,
            members,
            json.dumps(json.loads(fields) if isinstance(fields, str) else fields),
        )
        for key, digest, realized, members, fields in database.query(
            "SELECT key, digest, realized, members, fields FROM sfcrm_sync_state"
        )
    )
    history = sorted(
        (key, field, status, str(as_of))
        for key, field, status, as_of in database.query(
            "SELECT key, field, status, as_of FROM sfcrm_sync_history"
        )
    )
    return org_fields, state, history


@pytest.mark.timeout(600)
def test_killed_membership_sync_then_retry_ends_as_an_uninterrupted_run(tmp_path, monkeypatch, sync_state_db):
    days = _membership_days(3000)
    segments = [
        write_segment(tmp_path / f"day{n}.parquet", day, MEMBERSHIP_SCHEMA) for n, day in enumerate(days)
    ]
    as_of = ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]
    common = dict(
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
        audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
        batch_size=50,
        max_workers=2,
    )
    for org in start_export_org(tmp_path / "org", monkeypatch, latency_ms=40):
        for n in range(2):  # uninterrupted: the reference
            SalesforceSegmentExportOperator(
                **export_arguments(segments[n], tmp_path, as_of=as_of[n], **common)
            ).execute({})
        reference = _final_state(org, sync_state_db)

        org.sandbox.reset()
        with sync_state_db.connect() as connection:  # the same org, as if nothing had been synced
            for table in ("state", "history", "marks", "pending", "scopes"):
                connection.execute(f"DELETE FROM sfcrm_sync_{table}")
            connection.commit()
        for n in range(2):  # each day killed mid-run, then retried
            arguments = export_arguments(segments[n], tmp_path, as_of=as_of[n], **common)
            writes = org.write_calls()
            run_killed(arguments, lambda org=org, writes=writes: org.write_calls() >= writes + 20)
            summary = SalesforceSegmentExportOperator(**arguments).execute({})
            assert summary["written"] > 0 and summary["rejected"] == 0
        retried = _final_state(org, sync_state_db)

    assert retried[0] == reference[0]  # Salesforce: every field of every person
    assert retried[1] == reference[1]  # the sync state
    assert retried[2] == reference[2]  # the status history, each status once
    assert any(status == "exited" for _, _, status, _ in reference[2])


@pytest.mark.timeout(300)
def test_another_org_never_inherits_the_state(tmp_path, monkeypatch, sync_state_db):
    rows = [{"ext": f"EXT-{i}", "last": f"Person {i}", "aud_1": True, "aud_2": False} for i in range(300)]
    segment = write_segment(tmp_path / "day.parquet", rows, MEMBERSHIP_SCHEMA)
    arguments = export_arguments(segment, tmp_path, as_of="2026-01-02T00:00:00+00:00", **MEMBERSHIP_UPSERT)
    summaries, orgs = [], []
    for n in range(2):  # two orgs (a refreshed sandbox gets a new org id too), one state database
        for org in start_export_org(tmp_path / f"org{n}", monkeypatch):
            summaries.append(SalesforceSegmentExportOperator(**arguments).execute({}))
            orgs.append(org.hook.org_id)
            statuses = [r["crm_1_seg__c"] for r in org.hook.query_all("SELECT crm_1_seg__c FROM Contact")]
            assert statuses == ["realized"] * 300  # long text areas cannot be filtered in SOQL

    assert orgs[0] != orgs[1]
    assert [s["written"] for s in summaries] == [300, 300]
    scopes = sync_state_db.query(
        "SELECT org_id, sobject, identity_field FROM sfcrm_sync_scopes ORDER BY scope_id"
    )
    assert scopes == [(orgs[0], "Contact", "Ext_Id__c"), (orgs[1], "Contact", "Ext_Id__c")]


@pytest.mark.timeout(300)
def test_concurrent_shards_never_lose_each_others_state(tmp_path, monkeypatch, sync_state_db):
    import threading

    from airflow_provider_sfcrm.sync.sharding import shard_numbers

    people = [
        {"ext": f"EXT-{i}", "last": f"Person {i}", "aud_1": i % 2 == 0, "aud_2": False} for i in range(1500)
    ]
    table = pa.Table.from_pylist(people, schema=MEMBERSHIP_SCHEMA)
    shards = shard_numbers(table.column("ext"), 3, by_salesforce_id=False)
    summaries, errors = [], []
    for org in start_export_org(tmp_path / "org", monkeypatch):

        def sync_shard(index: int) -> None:
            part = str(tmp_path / f"shard-{index}.parquet")
            pq.write_table(table.filter(pa.array(shards == index)), part)
            arguments = export_arguments(
                part,
                tmp_path / str(index),
                operation="upsert",
                external_id_field="Ext_Id__c",
                field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
                audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
                as_of="2026-01-02T00:00:00+00:00",
                shard_index=index,
                shard_count=3,
                batch_size=50,
            )
            try:
                summaries.append(SalesforceSegmentExportOperator(**arguments).execute({}))
            except Exception as exc:  # reported below, with the others
                errors.append(exc)

        threads = [threading.Thread(target=sync_shard, args=(index,)) for index in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        in_org = org.sandbox.stats()["records"]["Contact"]

    assert errors == []
    assert sorted(s["written"] for s in summaries) == sorted(int((shards == i).sum()) for i in range(3))
    assert in_org == 1500
    assert sync_state_db.query("SELECT count(*), count(DISTINCT key) FROM sfcrm_sync_state") == [(1500, 1500)]
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_history") == [(750,)]


@pytest.mark.timeout(300)
def test_a_truncated_segment_exits_nobody_unless_the_guard_is_disabled(tmp_path, monkeypatch, sync_state_db):
    people = [{"ext": f"EXT-{i}", "last": f"Person {i}", "aud_1": True, "aud_2": False} for i in range(1000)]
    full = write_segment(tmp_path / "day1.parquet", people, MEMBERSHIP_SCHEMA)
    truncated = write_segment(tmp_path / "day2.parquet", people[:100], MEMBERSHIP_SCHEMA)  # 10 %

    def arguments(segment: str, day: int, **overrides) -> dict:
        as_of = f"2026-01-0{day + 1}T00:00:00+00:00"
        return export_arguments(segment, tmp_path, as_of=as_of, **MEMBERSHIP_UPSERT, **overrides)

    def statuses(org) -> list[str]:
        return sorted(r["crm_1_seg__c"] for r in org.hook.query_all("SELECT crm_1_seg__c FROM Contact"))

    for org in start_export_org(tmp_path / "org", monkeypatch):
        day1 = SalesforceSegmentExportOperator(**arguments(full, 1)).execute({})
        state_before, writes_before = _final_state(org, sync_state_db), org.write_calls()

        with pytest.raises(SfCrmVanishedError) as refused:
            SalesforceSegmentExportOperator(**arguments(truncated, 2)).execute({})
        org_after_refusal, writes_after_refusal = statuses(org), org.write_calls()
        state_after_refusal = _final_state(org, sync_state_db)

        forced = SalesforceSegmentExportOperator(**arguments(truncated, 2, max_vanished_ratio=None)).execute(
            {}
        )
        org_after_forced = statuses(org)

    assert day1["written"] == 1000
    message = str(refused.value)
    assert "900 of the 1,000 people" in message and "max_vanished_ratio 0.5" in message
    assert "Check the segment" in message
    assert writes_after_refusal == writes_before  # not one write request
    assert org_after_refusal == ["realized"] * 1000
    assert state_after_refusal == state_before
    assert forced["vanished"] == 900 and forced["written"] == 1000  # 900 exits, 100 realized → existing
    assert org_after_forced == ["existing"] * 100 + ["exited"] * 900
