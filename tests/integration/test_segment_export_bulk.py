"""Acceptance: segments into Contacts through Bulk API 2.0 (``api="bulk"`` / ``"auto"``), deferral,
and resuming the same job after a crash, against a sandbox over HTTPS.

The same acceptance as the REST path (``test_segment_export_contacts``): counts add up, every good
row is in Salesforce by SOQL, every bad row is in the rejected file with Salesforce's code (or ours,
for the rows refused before sending), and a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.hooks._bulk2_ingest import Bulk2IngestJobs
from airflow_provider_sfcrm.operators import _bulk_export
from airflow_provider_sfcrm.operators._bulk_export import bulk_spool_dir
from airflow_provider_sfcrm.sources import FileSegment
from airflow_provider_sfcrm.triggers.bulk_job import SalesforceBulkJobTrigger
from tests.integration._deferral import first_event as _first_event
from tests.integration._deferral import run_deferrable
from tests.integration._export_org import (
    bad_positions,
    delete,
    snapshot,
    start_export_org,
    write_segment,
)
from tests.integration.test_segment_export_contacts import (
    KIND_CODES,
    SCHEMA,
    _operator,
    _seed,
    _segment_rows,
    check_rejected_file,
    expected_codes,
    org_mismatches,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        # Bulk jobs processed at once: the tests wait for polls, not for a processing model.
        yield from start_export_org(
            tmp_path_factory.mktemp("export-bulk"), monkeypatch, bulk_records_per_s=0, bulk_job_latency_ms=0
        )


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    monkeypatch.setattr(_bulk_export, "POLL_INTERVAL_S", 0.05)


def _context() -> dict[str, Any]:
    """A task instance of a run of its own: its Bulk spool directory is its own."""
    ti = SimpleNamespace(
        dag_id="bulk_dag", run_id=f"run_{uuid.uuid4().hex[:8]}", task_id="export", map_index=-1
    )
    return {"ti": ti}


def _ingest_jobs(org) -> list[dict[str, Any]]:
    """The org's Bulk API 2.0 ingest jobs, from its job list."""
    return [
        job
        for job in org.hook.get_conn().restful("jobs/ingest")["records"]
        if job.get("jobType") == "V2Ingest"
    ]


@pytest.mark.timeout(600)
def test_bulk_update_passes_the_rest_acceptance(org, tmp_path):
    n, per_kind = 5_000, 20
    ids = _seed(org, n, "b")
    bad = bad_positions(n, list(KIND_CODES), per_kind, seed=12, not_after=n - 100)
    delete(org.hook, [ids[i] for i, kind in bad.items() if kind == "deleted"])
    rows = _segment_rows(ids, bad)
    segment = write_segment(tmp_path / "contacts.parquet", rows, SCHEMA)
    writes_before, jobs_before = org.write_calls(), len(_ingest_jobs(org))

    summary = run_deferrable(_operator(segment, tmp_path / "rejected.parquet", api="bulk"), _context())

    good = n - len(bad)
    assert summary["total"] == n and summary["written"] == good and summary["rejected"] == len(bad)
    assert (summary["created"], summary["updated"]) == (0, good)
    assert summary["rejected_by_code"] == expected_codes(per_kind)
    assert org.write_calls() == writes_before  # no sObject Collections write: one Bulk job
    assert len(_ingest_jobs(org)) == jobs_before + 1
    assert summary["api_calls"] <= 20, summary["api_calls"]
    assert summary["api"] == "bulk"

    check_rejected_file(summary["rejected_rows_path"], rows, bad)
    mismatches = org_mismatches(org, ids, rows, bad, "b")
    assert not mismatches, mismatches[:3]
    state = snapshot(org.hook, "Contact")

    again = run_deferrable(_operator(segment, tmp_path / "rejected-2.parquet", api="bulk"), _context())
    assert {k: again[k] for k in ("total", "written", "rejected", "rejected_by_code")} == {
        k: summary[k] for k in ("total", "written", "rejected", "rejected_by_code")
    }
    assert snapshot(org.hook, "Contact") == state


def test_auto_uses_bulk_above_the_threshold_and_rest_below(org, tmp_path, monkeypatch):
    monkeypatch.setattr(_bulk_export, "BULK_THRESHOLD_ROWS", 300)
    ids = _seed(org, 500, "a")
    mapping = {"sfid": "Id", "last": "LastName"}
    big = write_segment(
        tmp_path / "big.parquet",
        [{"sfid": sfid, "last": f"Auto{i}"} for i, sfid in enumerate(ids)],
        pa.schema([("sfid", pa.string()), ("last", pa.string())]),
    )
    small = write_segment(
        tmp_path / "small.parquet",
        [{"sfid": sfid, "last": f"Small{i}"} for i, sfid in enumerate(ids[:300])],
        pa.schema([("sfid", pa.string()), ("last", pa.string())]),
    )
    writes, jobs = org.write_calls(), len(_ingest_jobs(org))

    summary = run_deferrable(
        _operator(big, tmp_path / "r1.parquet", api="auto", field_mapping=mapping, audiences={}), _context()
    )
    assert (summary["written"], summary["rejected"], summary["api"]) == (500, 0, "bulk")
    assert (org.write_calls(), len(_ingest_jobs(org))) == (writes, jobs + 1)

    summary = _operator(
        small, tmp_path / "r2.parquet", api="auto", field_mapping=mapping, audiences={}
    ).execute(_context())
    assert (summary["written"], summary["rejected"], summary["api"]) == (300, 0, "rest")
    assert org.write_calls() == writes + 2 and len(_ingest_jobs(org)) == jobs + 1
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for sfid in ids] == [f"Small{i}" for i in range(300)] + [
        f"Auto{i}" for i in range(300, 500)
    ]


def test_auto_decides_on_the_rows_to_send_not_the_segments_rows(org, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(_bulk_export, "BULK_THRESHOLD_ROWS", 300)
    ids = _seed(org, 500, "s")
    mapping = {"sfid": "Id", "last": "LastName"}
    schema = pa.schema([("sfid", pa.string()), ("last", pa.string()), ("score", pa.int64())])
    rows = [{"sfid": sfid, "last": f"Few{i}", "score": i} for i, sfid in enumerate(ids)]
    rows[5]["sfid"] = "not-an-id"  # selected, refused before sending: counted among the rows to send
    filtered = write_segment(tmp_path / "filtered.parquet", rows, schema)
    # 450 rows, of which the first 200 are repeated later (the later rows win): 250 to send.
    repeated = write_segment(
        tmp_path / "repeated.parquet",
        [{"sfid": sfid, "last": f"Twice{i}", "score": i} for i, sfid in enumerate(ids[:250] + ids[:200])],
        schema,
    )
    options = dict(api="auto", field_mapping=mapping, audiences={}, max_rejected_ratio=1.0)
    writes, jobs = org.write_calls(), len(_ingest_jobs(org))
    context = _context()
    passes, read = [], FileSegment.batches
    monkeypatch.setattr(FileSegment, "batches", lambda self, *a, **k: passes.append(1) or read(self, *a, **k))

    few = _operator(filtered, tmp_path / "few.parquet", row_filter="score < 200", **options).execute(context)

    assert len(passes) == 2  # the export's own two passes: deciding took no pass of its own
    monkeypatch.setattr(FileSegment, "batches", read)

    assert (few["api"], few["total"], few["written"], few["rejected"], few["filtered"]) == (
        "rest",
        500,
        199,
        1,
        300,
    )
    assert "api=auto: 200 rows to send (500 segment rows), threshold 300: rest" in capfd.readouterr().out
    assert (org.write_calls(), len(_ingest_jobs(org))) == (writes + 1, jobs)  # one request, no job
    assert not bulk_spool_dir(context).exists()
    # The rejected rows are where, and what, the REST path puts them.
    rest = _operator(
        filtered, tmp_path / "rest.parquet", row_filter="score < 200", **dict(options, api="rest")
    )
    rest_summary = rest.execute(_context())
    assert pq.read_table(few["rejected_rows_path"]).equals(pq.read_table(rest_summary["rejected_rows_path"]))
    assert pq.read_table(few["rejected_rows_path"]).column("sfcrm_error_code").to_pylist() == ["MALFORMED_ID"]
    varying = ("duration_s", "api_usage", "rejected_rows_path")
    assert {k: v for k, v in few.items() if k not in varying} == {
        k: v for k, v in rest_summary.items() if k not in varying
    }

    twice = _operator(repeated, tmp_path / "twice.parquet", **options).execute(_context())

    assert (twice["api"], twice["written"], twice["rejected_by_code"]) == (
        "rest",
        250,
        {"DUPLICATE_IN_SEGMENT": 200},
    )
    assert len(_ingest_jobs(org)) == jobs
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for sfid in ids[:250]] == [f"Twice{i}" for i in range(250, 450)] + [
        f"Twice{i}" for i in range(200, 250)
    ]

    more = _operator(filtered, tmp_path / "more.parquet", row_filter="score < 400", **options)
    summary = run_deferrable(more, _context())
    assert (summary["api"], summary["written"], summary["rejected"], summary["filtered"]) == (
        "bulk",
        399,
        1,
        100,
    )
    assert len(_ingest_jobs(org)) == jobs + 1


def test_bulk_sends_only_the_rows_a_row_filter_selects_and_counts_the_others(org, tmp_path):
    ids = _seed(org, 40, "f")
    mapping = {"sfid": "Id", "last": "LastName"}
    segment = write_segment(
        tmp_path / "filtered.parquet",
        [{"sfid": sfid, "last": f"Kept{i}" if i % 4 else f"Left{i}"} for i, sfid in enumerate(ids)],
        pa.schema([("sfid", pa.string()), ("last", pa.string())]),
    )
    before = snapshot(org.hook, "Contact")

    summary = run_deferrable(
        _operator(
            segment,
            tmp_path / "rf.parquet",
            api="bulk",
            field_mapping=mapping,
            audiences={},
            row_filter="last NOT IN (" + ", ".join(f"'Left{i}'" for i in range(0, 40, 4)) + ")",
        ),
        _context(),
    )

    assert (summary["total"], summary["written"], summary["filtered"], summary["rejected"]) == (40, 30, 10, 0)
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for i, sfid in enumerate(ids) if i % 4] == [
        f"Kept{i}" for i in range(40) if i % 4
    ]
    assert all(state[sfid] == before[sfid] for i, sfid in enumerate(ids) if not i % 4)


def test_bulk_upsert_and_insert_count_created_and_updated(org, tmp_path):
    tag = uuid.uuid4().hex[:6]
    schema = pa.schema([("ext", pa.string()), ("first", pa.string()), ("last", pa.string())])
    first = write_segment(
        tmp_path / "u1.parquet",
        [{"ext": f"{tag}-{i}", "first": "One", "last": f"U{i}"} for i in range(40)],
        schema,
    )
    mapping = {"ext": "Ext_Id__c", "first": "FirstName", "last": "LastName"}
    options = dict(
        api="bulk", operation="upsert", external_id_field="Ext_Id__c", field_mapping=mapping, audiences={}
    )
    created = run_deferrable(_operator(first, tmp_path / "ru1.parquet", **options), _context())
    assert (created["written"], created["created"], created["updated"]) == (40, 40, 0)

    second_rows = [{"ext": f"{tag}-{i}", "first": "Two", "last": f"U{i}"} for i in range(20, 60)]
    second_rows.append({"ext": f"{tag}-x", "first": "NoLast", "last": None})  # refused before sending
    second = write_segment(tmp_path / "u2.parquet", second_rows, schema)
    upserted = run_deferrable(
        _operator(second, tmp_path / "ru2.parquet", max_rejected_ratio=0.5, **options), _context()
    )
    assert (upserted["written"], upserted["created"], upserted["updated"]) == (40, 20, 20)
    assert upserted["rejected_by_code"] == {"REQUIRED_FIELD_MISSING": 1}
    assert pq.read_table(upserted["rejected_rows_path"]).column("sfcrm_source").to_pylist() == ["client"]
    rows = org.hook.query_all(f"SELECT Ext_Id__c, FirstName FROM Contact WHERE Ext_Id__c LIKE '{tag}-%'")
    assert sorted((r["Ext_Id__c"], r["FirstName"]) for r in rows) == sorted(
        [(f"{tag}-{i}", "One") for i in range(20)] + [(f"{tag}-{i}", "Two") for i in range(20, 60)]
    )

    inserts = write_segment(
        tmp_path / "i.parquet",
        [{"ext": None, "first": "Same", "last": f"Ins{tag}"} for _ in range(3)],  # identical rows
        schema,
    )
    inserted = run_deferrable(
        _operator(
            inserts,
            tmp_path / "ri.parquet",
            api="bulk",
            operation="insert",
            field_mapping={"first": "FirstName", "last": "LastName"},
            audiences={},
        ),
        _context(),
    )
    assert (inserted["written"], inserted["created"], inserted["rejected"]) == (3, 3, 0)
    assert len(org.hook.query_all(f"SELECT Id FROM Contact WHERE LastName = 'Ins{tag}'")) == 3


def test_the_task_defers_to_a_serialisable_trigger(org, tmp_path):
    ids = _seed(org, 10, "t")
    segment = write_segment(tmp_path / "t.parquet", _segment_rows(ids, {}), SCHEMA)
    context = _context()
    with pytest.raises(TaskDeferred) as deferred:
        _operator(segment, tmp_path / "t-rejected.parquet", api="bulk").execute(context)
    assert deferred.value.method_name == "execute_bulk_complete"
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "airflow_provider_sfcrm.triggers.bulk_job.SalesforceBulkJobTrigger"
    assert SalesforceBulkJobTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert len(kwargs["job_ids"]) == 1
    event = asyncio.run(_first_event(deferred.value.trigger)).payload
    assert event["status"] == "success" and event["jobs"][kwargs["job_ids"][0]]["state"] == "JobComplete"
    operator = _operator(segment, tmp_path / "t-rejected.parquet", api="bulk")  # a new process resumes
    summary = operator.execute_bulk_complete(context, event=event, **deferred.value.kwargs)
    assert (summary["total"], summary["written"]) == (10, 10)
    assert not bulk_spool_dir(context).exists()


def test_the_tasks_execution_timeout_ends_the_wait_and_a_retry_waits_for_the_same_jobs(org, tmp_path):
    ids = _seed(org, 20, "x")
    segment = write_segment(tmp_path / "x.parquet", _segment_rows(ids, {}), SCHEMA)
    context, jobs_before, timeout = (
        _context(),
        {job["id"] for job in _ingest_jobs(org)},
        dt.timedelta(minutes=5),
    )
    started = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        _operator(segment, tmp_path / "x-rejected.parquet", api="bulk", execution_timeout=timeout).execute(
            context
        )
    # The wait ends when the try's execution_timeout runs out, counted from the try's start (checks and
    # spooling included); Airflow's own deferral timeout backs it up.
    _, kwargs = deferred.value.trigger.serialize()
    assert started <= kwargs["deadline"] - timeout.total_seconds() <= time.time()
    assert deferred.value.timeout == timeout
    (job_id,) = kwargs["job_ids"]
    # The trigger's event when the deadline passes first (its contract: tests/unit/test_bulk_job_trigger.py).
    event = {
        "status": "timeout",
        "message": f"Bulk API 2.0 jobs {job_id} had not ended by the deadline",
        "jobs": {},
    }
    operator = _operator(segment, tmp_path / "x-rejected.parquet", api="bulk", execution_timeout=timeout)
    with pytest.raises(SfCrmApiError, match=f"{job_id} had not ended") as failed:
        operator.execute_bulk_complete(context, event=event, **deferred.value.kwargs)
    assert failed.value.error_code == "WAIT_TIMEOUT"
    assert "execution_timeout (0:05:00) ran out" in str(failed.value) and "uploading nothing again" in str(
        failed.value
    )
    # Not aborted: the job keeps its data and its work; the spool stays for the retry.
    assert {job["id"]: job["state"] for job in _ingest_jobs(org) if job["id"] not in jobs_before} == {
        job_id: "JobComplete"
    }
    assert bulk_spool_dir(context).is_dir()

    uploads = org.sandbox.calls_to("PUT /jobs/ingest")
    summary = run_deferrable(_operator(segment, tmp_path / "x-rejected.parquet", api="bulk"), context)

    assert (summary["total"], summary["written"], summary["rejected"]) == (20, 20, 0)
    assert (
        org.sandbox.calls_to("PUT /jobs/ingest") == uploads
    )  # the retry uploaded nothing: it waited for the job
    assert [job["id"] for job in _ingest_jobs(org) if job["id"] not in jobs_before] == [job_id]
    assert not bulk_spool_dir(context).exists()


@pytest.mark.parametrize("case", ["bulk", "auto_sent_over_rest", "bulk_nothing_to_send"])
def test_the_summarys_duration_counts_the_checks_and_the_spooling(org, tmp_path, monkeypatch, case):
    spool = _bulk_export._spool

    def slow_spool(*args, **kwargs):  # a big segment's checks and spooling take a while
        time.sleep(1.0)
        return spool(*args, **kwargs)

    monkeypatch.setattr(_bulk_export, "_spool", slow_spool)
    ids = _seed(org, 10, f"d{case[:4]}")
    bad = {i: "missing" for i in range(10)} if case == "bulk_nothing_to_send" else {}
    segment = write_segment(tmp_path / "d.parquet", _segment_rows(ids, bad), SCHEMA)
    api = "auto" if case == "auto_sent_over_rest" else "bulk"
    operator = _operator(segment, tmp_path / "d-rejected.parquet", api=api, max_rejected_ratio=1.0)
    summary = run_deferrable(operator, _context())
    assert summary["api"] == ("rest" if case == "auto_sent_over_rest" else "bulk")
    assert summary["total"] == 10 and summary["written"] + summary["rejected"] == 10
    assert summary["duration_s"] >= 1.0, summary["duration_s"]


@pytest.mark.parametrize("crash_in", ["close", "upload"])
def test_a_retry_after_a_crash_resumes_instead_of_uploading_again(org, tmp_path, monkeypatch, crash_in):
    ids = _seed(org, 30, "c")
    segment = write_segment(tmp_path / "c.parquet", _segment_rows(ids, {}), SCHEMA)
    context, jobs_before = _context(), {job["id"] for job in _ingest_jobs(org)}
    real = getattr(Bulk2IngestJobs, crash_in)
    uploads = []

    def crash_once(self, job_id, *args):
        if not uploads:
            uploads.append(job_id)
            if crash_in == "upload":  # the upload's answer is lost: it may or may not have arrived
                real(self, job_id, *args)
            raise RuntimeError("worker died")
        return real(self, job_id, *args)

    monkeypatch.setattr(Bulk2IngestJobs, crash_in, crash_once)
    with pytest.raises(RuntimeError, match="worker died"):
        _operator(segment, tmp_path / "c-rejected.parquet", api="bulk").execute(context)
    first = [job for job in _ingest_jobs(org) if job["id"] not in jobs_before]
    assert [job["id"] for job in first] == uploads

    summary = run_deferrable(_operator(segment, tmp_path / "c-rejected.parquet", api="bulk"), context)

    assert (summary["total"], summary["written"], summary["rejected"]) == (30, 30, 0)
    jobs = {job["id"]: job["state"] for job in _ingest_jobs(org) if job["id"] not in jobs_before}
    if crash_in == "close":  # uploaded for sure: the same job is closed and waited for
        assert jobs == {uploads[0]: "JobComplete"}
    else:  # not known to be uploaded: that job is aborted (never processed), the data goes to a new one
        assert len(jobs) == 2 and jobs.pop(uploads[0]) == "Aborted"
        assert list(jobs.values()) == ["JobComplete"]
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for sfid in ids] == [f"Last{i}" for i in range(30)]


def test_bulk_refuses_what_only_rest_can_do(org, tmp_path):
    ids = _seed(org, 3, "r")
    segment = write_segment(tmp_path / "r.parquet", _segment_rows(ids, {}), SCHEMA)
    with pytest.raises(SfCrmConfigError, match='api="bulk" cannot be used with all_or_none'):
        _operator(segment, tmp_path / "r1.parquet", api="bulk", all_or_none=True).execute(_context())
    with pytest.raises(SfCrmConfigError, match='api="bulk" cannot be used with duplicate_rule_header'):
        _operator(
            segment, tmp_path / "r3.parquet", api="bulk", duplicate_rule_header={"allow_save": True}
        ).execute(_context())
    with pytest.raises(SfCrmConfigError, match="api must be one of rest, bulk, auto"):
        _operator(segment, tmp_path / "r2.parquet", api="soap").execute(_context())


@pytest.mark.parametrize("api", ["bulk", "auto"])
def test_the_rejected_rows_never_overwrite_the_input(org, tmp_path, api):
    ids = _seed(org, 3, "o")
    segment = write_segment(tmp_path / "o.parquet", _segment_rows(ids, {}), SCHEMA)
    before = (tmp_path / "o.parquet").read_bytes()
    with pytest.raises(SfCrmConfigError, match="rejected_rows_path .* is one of the segment's input files"):
        _operator(segment, segment, api=api).execute(_context())
    assert (tmp_path / "o.parquet").read_bytes() == before
