"""Acceptance: the export with a sync state through Bulk API 2.0, against a sandbox over HTTPS.

The same plan as the REST sync (only changes are sent, vanished people exited, the state holds
what Salesforce confirmed), with one job per operation; the summary matches the REST sync's on the
same inputs, and a resumed task records nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_sfcrm.activation import bulk_spool
from airflow_provider_sfcrm.hooks._bulk2_ingest import Bulk2IngestJobs
from airflow_provider_sfcrm.operators import _bulk_export
from airflow_provider_sfcrm.operators._bulk_export import bulk_spool_dir
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.conftest import SYNC_STATE_CONN_ID
from tests.integration._export_org import CONN_ID, delete, start_export_org, write_segment
from tests.integration.test_segment_export_bulk import _context, _first_event, _ingest_jobs, run_deferrable

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00"
SCHEMA = pa.schema(
    [("ext", pa.string()), ("last", pa.string()), ("aud_1", pa.bool_()), ("aud_2", pa.bool_())]
)
#: The summary's counts that must match between the REST and the Bulk paths.
COUNTS = (
    "total",
    "written",
    "created",
    "updated",
    "rejected",
    "rejected_by_code",
    "unchanged",
    "stale",
    "vanished",
    "filtered",
)


@pytest.fixture
def org(tmp_path, monkeypatch):
    # Bulk jobs processed at once: the tests wait for polls, not for a processing model.
    yield from start_export_org(tmp_path / "org", monkeypatch, bulk_records_per_s=0, bulk_job_latency_ms=0)


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    monkeypatch.setattr(_bulk_export, "POLL_INTERVAL_S", 0.05)


def _operator(tmp, segment: str, as_of: str, **overrides: Any) -> SalesforceSegmentExportOperator:
    arguments: dict[str, Any] = dict(
        task_id="sync",
        sobject="Contact",
        segment_path=segment,
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
        audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
        sync_state=SYNC_STATE_CONN_ID,
        as_of=as_of,
        rejected_rows_path=str(tmp / f"rejected-{uuid.uuid4().hex[:6]}.parquet"),
        stale_rows_path=str(tmp / f"stale-{uuid.uuid4().hex[:6]}.parquet"),
        max_rejected_ratio=1.0,
        sfcrm_conn_id=CONN_ID,
        api="bulk",
    )
    arguments.update(overrides)
    return SalesforceSegmentExportOperator(**arguments)


def _days(tag: str, people: int) -> list[list[dict]]:
    day1 = [
        {"ext": f"{tag}-{i}", "last": f"P{i}", "aud_1": i % 3 == 0, "aud_2": i % 5 == 0}
        for i in range(people)
    ]
    # Day 2: a tenth change a membership, a seventh their name, every eleventh vanished.
    day2 = [
        dict(
            row,
            aud_1=not row["aud_1"] if i % 10 == 0 else row["aud_1"],
            last=f"Q{i}" if i % 7 == 0 else row["last"],
        )
        for i, row in enumerate(day1)
        if i % 11
    ]
    return [day1, day2]


def _statuses(org, tag: str) -> dict[str, tuple]:
    rows = org.hook.query_all(
        "SELECT Id, Ext_Id__c, LastName, crm_1_seg__c, crm_2_seg__c FROM Contact "
        f"WHERE Ext_Id__c LIKE '{tag}-%'"
    )
    return {r["Ext_Id__c"]: (r["Id"], r["LastName"], r["crm_1_seg__c"], r["crm_2_seg__c"]) for r in rows}


def _state(database, tag: str) -> dict[str, tuple]:
    return {
        key.lower(): (record_id, realized, members)
        for key, record_id, realized, members in database.query(
            "SELECT key, record_id, realized, members FROM sfcrm_sync_state"
        )
        if key.lower().startswith(tag.lower())
    }


def _history(database) -> list[tuple]:
    return sorted(
        (key, field, status, str(as_of))
        for key, field, status, as_of in database.query(
            "SELECT key, field, status, as_of FROM sfcrm_sync_history"
        )
    )


@pytest.mark.timeout(600)
def test_membership_days_through_bulk_match_the_rest_sync(tmp_path, monkeypatch, sync_state_db):
    people = 400
    summaries: dict[str, list[dict]] = {"rest": [], "bulk": []}
    final: dict[str, dict[str, tuple]] = {}
    # An org each (so a scope each in the one state database), the same inputs.
    for api, tag in (("rest", "R"), ("bulk", "B")):
        options = dict(bulk_records_per_s=0, bulk_job_latency_ms=0)
        for org in start_export_org(tmp_path / f"org-{api}", monkeypatch, **options):
            day1, day2 = _days(tag, people)
            seg1 = write_segment(tmp_path / f"{tag}1.parquet", day1, SCHEMA)
            seg2 = write_segment(tmp_path / f"{tag}2.parquet", day2, SCHEMA)
            summaries[api].append(run_deferrable(_operator(tmp_path, seg1, DAY1, api=api), _context()))
            if api == "bulk":
                org_day1 = _statuses(org, tag)
                assert len(org_day1) == people
                assert all(
                    org_day1[f"{tag}-{i}"][2:]
                    == ("realized" if i % 3 == 0 else None, "realized" if i % 5 == 0 else None)
                    for i in range(people)
                )
                state_day1 = _state(sync_state_db, tag)
                assert len(state_day1) == people
                assert {v[0] for v in state_day1.values()} == {v[0] for v in org_day1.values()}
            # Two of the people who vanish were deleted meanwhile: Salesforce refuses their exit.
            delete(org.hook, [_statuses(org, tag)[f"{tag}-{i}"][0] for i in (0, 33)])
            jobs_before = len(_ingest_jobs(org))
            summaries[api].append(run_deferrable(_operator(tmp_path, seg2, DAY2, api=api), _context()))
            if api == "bulk":  # one job of upserts (the changes), one of updates by Id (the exits)
                assert len(_ingest_jobs(org)) == jobs_before + 2
                rejected = pq.read_table(summaries[api][-1]["rejected_rows_path"]).to_pylist()
                assert sorted(
                    (r["sfcrm_identity"], r["sfcrm_error_code"], r["sfcrm_source"]) for r in rejected
                ) == [
                    ("b-0", "ENTITY_IS_DELETED", "salesforce"),  # a vanished person: their key
                    ("b-33", "ENTITY_IS_DELETED", "salesforce"),
                ]
                # The refused exit left the state as it was; a confirmed one is recorded.
                state = _state(sync_state_db, tag)
                assert state["b-0"] == state_day1["b-0"] and state_day1["b-0"][2]
                assert state["b-66"][2] == 0 and state_day1["b-66"][2]
            jobs_before = len(_ingest_jobs(org))
            summaries[api].append(run_deferrable(_operator(tmp_path, seg2, DAY2, api=api), _context()))
            if api == "bulk":  # the same membership again: only the refused exits are sent again
                assert len(_ingest_jobs(org)) == jobs_before + 1
            final[api] = _statuses(org, tag)

    for rest, bulk in zip(summaries["rest"], summaries["bulk"], strict=True):
        assert {k: bulk[k] for k in COUNTS} == {k: rest[k] for k in COUNTS}
    day1, day2, day3 = summaries["bulk"]
    # Day 2 changes the name (i % 7), a membership (i % 10), or a status: realized the day a person
    # enters an audience, existing after.
    changed = sum(1 for i in range(people) if i % 11 and (i % 3 == 0 or i % 5 == 0 or i % 7 == 0))
    gone = sum(1 for i in range(people) if i % 11 == 0)
    vanished = sum(1 for i in range(people) if i % 11 == 0 and (i % 3 == 0 or i % 5 == 0))  # members: exited
    assert (day1["written"], day1["created"]) == (people, people)
    assert (day2["vanished"], day2["written"], day2["rejected"]) == (vanished, changed + vanished - 2, 2)
    assert day2["unchanged"] == people - gone - changed
    assert (day3["written"], day3["rejected"], day3["vanished"]) == (0, 2, 2)
    assert (day3["unchanged"], day3["total"]) == (people - gone, people - gone + 2)
    for s in summaries["bulk"]:
        assert s["total"] == s["written"] + s["rejected"] + s["filtered"] + s["unchanged"] + s["stale"]

    final_bulk = final["bulk"]
    for i in range(1, people):
        if i == 33:  # deleted
            continue
        if i % 11 == 0:
            assert final_bulk[f"B-{i}"][2:] == (
                "exited" if i % 3 == 0 else None,
                "exited" if i % 5 == 0 else None,
            )
        else:
            was, now = i % 3 == 0, (i % 3 == 0) != (i % 10 == 0)
            expected_1 = {(True, True): "existing", (False, True): "realized", (True, False): "exited"}.get(
                (was, now)
            )
            assert final_bulk[f"B-{i}"][1:3] == (f"Q{i}" if i % 7 == 0 else f"P{i}", expected_1)
    # The state and the history of both paths are the same, person by person.
    rest_history = [(k[1:], f, s, a) for k, f, s, a in _history(sync_state_db) if k.lower().startswith("r")]
    bulk_history = [(k[1:], f, s, a) for k, f, s, a in _history(sync_state_db) if k.lower().startswith("b")]
    assert rest_history == bulk_history and bulk_history
    rest_state = {k[1:]: v[1:] for k, v in _state(sync_state_db, "R").items()}
    assert {k[1:]: v[1:] for k, v in _state(sync_state_db, "B").items()} == rest_state
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0


@pytest.mark.timeout(300)
def test_a_resumed_completion_records_nothing_twice(org, tmp_path, sync_state_db, monkeypatch):
    day1, day2 = _days("C", 120)
    seg1 = write_segment(tmp_path / "c1.parquet", day1, SCHEMA)
    seg2 = write_segment(tmp_path / "c2.parquet", day2, SCHEMA)
    run_deferrable(_operator(tmp_path, seg1, DAY1), _context())
    history_day1 = len(_history(sync_state_db))

    context = _context()
    with pytest.raises(TaskDeferred) as deferred:
        _operator(tmp_path, seg2, DAY2).execute(context)
    event = asyncio.run(_first_event(deferred.value.trigger)).payload
    real = bulk_spool.conclude_sections
    monkeypatch.setattr(
        bulk_spool, "conclude_sections", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("worker died"))
    )
    with pytest.raises(RuntimeError, match="worker died"):  # the state was recorded, the task was not done
        _operator(tmp_path, seg2, DAY2).execute_bulk_complete(context, event=event, **deferred.value.kwargs)
    recorded = (_history(sync_state_db), _state(sync_state_db, "C"))
    assert len(recorded[0]) > history_day1
    monkeypatch.setattr(bulk_spool, "conclude_sections", real)

    summary = _operator(tmp_path, seg2, DAY2).execute_bulk_complete(
        context, event=event, **deferred.value.kwargs
    )

    assert (_history(sync_state_db), _state(sync_state_db, "C")) == recorded
    assert summary["vanished"] == 6 and summary["written"] == summary["total"] - summary["unchanged"]
    assert not bulk_spool_dir(context).exists()
    # The same day again finds everything recorded exactly once: nothing left to send.
    jobs = len(_ingest_jobs(org))
    again = run_deferrable(_operator(tmp_path, seg2, DAY2), _context())
    assert (again["written"], again["unchanged"], again["total"]) == (0, len(day2), len(day2))
    assert len(_ingest_jobs(org)) == jobs  # nothing to send: no job


@pytest.mark.timeout(300)
def test_bulk_insert_with_a_sync_state_journals_and_settles(org, tmp_path, sync_state_db):
    tag = uuid.uuid4().hex[:6]
    schema = pa.schema([("email", pa.string()), ("last", pa.string())])
    rows = [{"email": f"{tag}{i}@example.com", "last": f"I{i}"} for i in range(50)]
    options = dict(
        operation="insert",
        external_id_field="Email",
        field_mapping={"email": "Email", "last": "LastName"},
        audiences={},
    )
    first = run_deferrable(
        _operator(tmp_path, write_segment(tmp_path / "i1.parquet", rows, schema), DAY1, **options), _context()
    )
    assert (first["written"], first["created"]) == (50, 50)
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0
    assert sync_state_db.query("SELECT count(*), count(record_id) FROM sfcrm_sync_state")[0] == (50, 50)

    # Changed names update the records created (by Id), new people are inserted: two jobs.
    changed = [dict(row, last=f"J{i}") if i < 10 else row for i, row in enumerate(rows)]
    changed += [{"email": f"{tag}new{i}@example.com", "last": f"N{i}"} for i in range(5)]
    jobs = len(_ingest_jobs(org))
    second = run_deferrable(
        _operator(tmp_path, write_segment(tmp_path / "i2.parquet", changed, schema), DAY2, **options),
        _context(),
    )
    assert (second["written"], second["created"], second["updated"], second["unchanged"]) == (15, 5, 10, 40)
    assert len(_ingest_jobs(org)) == jobs + 2
    names = {
        r["Email"]: r["LastName"]
        for r in org.hook.query_all(f"SELECT Email, LastName FROM Contact WHERE Email LIKE '{tag}%'")
    }
    assert len(names) == 55 and names[f"{tag}3@example.com"] == "J3"
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0


@pytest.mark.timeout(300)
def test_auto_decides_each_sync_day_on_its_rows_to_send(org, tmp_path, sync_state_db, monkeypatch, capfd):
    monkeypatch.setattr(_bulk_export, "BULK_THRESHOLD_ROWS", 30)
    people = 100
    day1 = [
        {"ext": f"A-{i}", "last": f"P{i}", "aud_1": i % 3 == 0, "aud_2": i % 5 == 0} for i in range(people)
    ]
    members = sum(1 for i in range(people) if i % 3 == 0 or i % 5 == 0)
    # Day 3: two new names, and person 3 (a member) vanished: 2 rows to send and 1 exit.
    day3 = [dict(row, last=f"R{i}") if i in (1, 2) else row for i, row in enumerate(day1) if i != 3]
    jobs, writes = len(_ingest_jobs(org)), org.write_calls()
    summaries, contexts = [], []
    for day, as_of, rows in ((1, DAY1, day1), (2, DAY2, day1), (3, DAY3, day3)):
        segment = write_segment(tmp_path / f"a{day}.parquet", rows, SCHEMA)
        contexts.append(_context())
        summaries.append(run_deferrable(_operator(tmp_path, segment, as_of, api="auto"), contexts[-1]))
    logged = capfd.readouterr().out

    # Day 1 creates everyone, day 2 turns every member's realized into existing: Bulk, a job each.
    assert [(s["api"], s["written"]) for s in summaries[:2]] == [("bulk", people), ("bulk", members)]
    assert "api=auto: 100 rows to send (100 segment rows), threshold 30: bulk" in logged
    assert f"api=auto: {members} rows to send (100 segment rows), threshold 30: bulk" in logged
    # Day 3: a segment above the threshold, 3 rows to send: REST, in two requests (upserts, exits).
    day3_summary = summaries[2]
    assert "api=auto: 3 rows to send (99 segment rows), threshold 30: rest" in logged
    assert (len(_ingest_jobs(org)), org.write_calls()) == (jobs + 2, writes + 2)
    assert (day3_summary["api"], day3_summary["written"], day3_summary["vanished"]) == ("rest", 3, 1)
    assert (day3_summary["unchanged"], day3_summary["total"], day3_summary["rejected"]) == (97, 100, 0)
    org_now = _statuses(org, "A")
    assert [org_now[f"A-{i}"][1] for i in (1, 2, 4)] == ["R1", "R2", "P4"]
    assert org_now["A-3"][2:] == ("exited", None) and org_now["A-6"][2:] == ("existing", None)
    state = _state(sync_state_db, "A")
    assert state["a-3"][2] == 0 and state["a-6"][2] == 1
    assert ("a-3", "crm_1_seg__c", "exited") in {row[:3] for row in _history(sync_state_db)}
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0  # no Bulk token left
    assert not any(bulk_spool_dir(context).exists() for context in contexts)
    # The same day again: nothing to send, REST, nothing written.
    again = run_deferrable(
        _operator(tmp_path, write_segment(tmp_path / "a4.parquet", day3, SCHEMA), DAY3, api="auto"),
        _context(),
    )
    assert (again["api"], again["written"], again["unchanged"]) == ("rest", 0, 99)
    assert org.write_calls() == writes + 2


@pytest.mark.timeout(300)
def test_a_retry_after_a_crash_in_the_upload_resumes_the_spool_and_records_once(
    org, tmp_path, sync_state_db, monkeypatch
):
    day1, _ = _days("U", 60)
    segment = write_segment(tmp_path / "u.parquet", day1, SCHEMA)
    context, before = _context(), {job["id"] for job in _ingest_jobs(org)}
    real, crashed = Bulk2IngestJobs.upload, []

    def lost_answer(self, job_id, data):
        real(self, job_id, data)
        if not crashed:  # the upload arrived, its answer did not, the worker died
            crashed.append(job_id)
            raise RuntimeError("worker died")

    monkeypatch.setattr(Bulk2IngestJobs, "upload", lost_answer)
    with pytest.raises(RuntimeError, match="worker died"):
        _operator(tmp_path, segment, DAY1).execute(context)
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_state")[0][0] == 0  # nothing confirmed yet

    summary = run_deferrable(_operator(tmp_path, segment, DAY1), context)

    assert (summary["total"], summary["written"], summary["created"]) == (60, 60, 60)
    jobs = {job["id"]: job["state"] for job in _ingest_jobs(org) if job["id"] not in before}
    assert jobs.pop(crashed[0]) == "Aborted" and list(jobs.values()) == ["JobComplete"]
    members = sum(1 for i in range(60) if i % 3 == 0) + sum(1 for i in range(60) if i % 5 == 0)
    assert len(_history(sync_state_db)) == members  # one status each, recorded once
    assert len(_state(sync_state_db, "U")) == 60
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0
