"""Acceptance: a Bulk API 2.0 export resumed — after its deferral, or as a retry — on a worker whose
disk does not hold the spool, with ``bulk_spool_path`` (or ``[sfcrm] bulk_spool_path``) set, against a
sandbox over HTTPS.

Another worker is the same task with its local spool directory deleted (a Kubernetes pod starts with
an empty disk), or with another ``$AIRFLOW_HOME`` (a Celery worker on another machine). The copy is on
a ``file://`` location, as on a shared mount; object stores are reached through the same fsspec calls.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks._bulk2_ingest import Bulk2IngestJobs
from airflow_provider_sfcrm.operators import _bulk_export
from airflow_provider_sfcrm.operators._bulk_export import bulk_spool_dir
from tests.integration._export_org import bad_positions, delete, snapshot, start_export_org, write_segment
from tests.integration.test_segment_export_bulk import _context, _first_event, _ingest_jobs, run_deferrable
from tests.integration.test_segment_export_bulk_sync import SCHEMA as SYNC_SCHEMA
from tests.integration.test_segment_export_bulk_sync import _days, _state, _statuses
from tests.integration.test_segment_export_bulk_sync import _operator as _sync_operator
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

UPLOADS = "PUT /jobs/ingest/{job}/batches"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:  # Bulk jobs processed at once, as in the Bulk tests
        yield from start_export_org(
            tmp_path_factory.mktemp("export-bulk-mirror"),
            monkeypatch,
            bulk_records_per_s=0,
            bulk_job_latency_ms=0,
        )


@pytest.fixture(autouse=True)
def _fast_polls_and_no_configured_location(monkeypatch):
    monkeypatch.setattr(_bulk_export, "POLL_INTERVAL_S", 0.05)
    monkeypatch.delenv("AIRFLOW__SFCRM__BULK_SPOOL_PATH", raising=False)


def _uploads(org) -> int:
    return int(org.sandbox.stats()["api_calls_by_route"].get(UPLOADS, 0))


def _copy(shared: Path, context) -> Path:
    """Where the copy of the task's spool is under the ``bulk_spool_path`` ``shared``."""
    return shared.joinpath(*bulk_spool_dir(context).parts[-3:])


def _rendered(operator, context):
    operator.render_template_fields(context)  # as Airflow does before execute and before resuming
    return operator


def test_a_task_resumed_on_another_worker_restores_its_spool_and_concludes(org, tmp_path):
    n, per_kind = 600, 3
    ids = _seed(org, n, "m")
    bad = bad_positions(n, list(KIND_CODES), per_kind, seed=21, not_after=n - 20)
    delete(org.hook, [ids[i] for i, kind in bad.items() if kind == "deleted"])
    rows = _segment_rows(ids, bad)
    segment = write_segment(tmp_path / "contacts.parquet", rows, SCHEMA)
    shared, context = tmp_path / "shared", _context()
    context["params"] = {"spool": shared.as_uri()}
    options = dict(api="bulk", bulk_spool_path="{{ params.spool }}")  # templated
    with pytest.raises(TaskDeferred) as deferred:
        _rendered(_operator(segment, tmp_path / "rejected.parquet", **options), context).execute(context)
    copy = _copy(shared, context)
    assert (copy / "manifest.json").is_file() and (copy / "jobs.json").is_file()
    # The task resumes on whichever worker: the one that spooled keeps nothing once the copy is complete.
    assert not bulk_spool_dir(context).exists()
    event = asyncio.run(_first_event(deferred.value.trigger)).payload

    summary = _rendered(
        _operator(segment, tmp_path / "rejected.parquet", **options), context
    ).execute_bulk_complete(context, event=event, **deferred.value.kwargs)

    good = n - len(bad)
    assert (summary["total"], summary["written"], summary["rejected"]) == (n, good, len(bad))
    assert summary["rejected_by_code"] == expected_codes(per_kind) and summary["api"] == "bulk"
    check_rejected_file(summary["rejected_rows_path"], rows, bad)
    mismatches = org_mismatches(org, ids, rows, bad, "m")
    assert not mismatches, mismatches[:3]
    assert not bulk_spool_dir(context).exists() and not copy.exists()
    assert shared.is_dir()  # only the task's own copy goes


@pytest.mark.parametrize("crash_in", ["close", "upload"])
def test_a_retry_on_another_worker_resumes_the_jobs_instead_of_uploading_again(
    org, tmp_path, monkeypatch, crash_in
):
    ids = _seed(org, 30, "w")
    segment = write_segment(tmp_path / "w.parquet", _segment_rows(ids, {}), SCHEMA)
    shared, context = tmp_path / "shared", _context()
    options = dict(api="bulk", bulk_spool_path=shared.as_uri())
    jobs_before, uploads_before = {job["id"] for job in _ingest_jobs(org)}, _uploads(org)
    real, crashed = getattr(Bulk2IngestJobs, crash_in), []

    def crash_once(self, job_id, *args):
        if not crashed:
            crashed.append(job_id)
            if crash_in == "upload":  # the upload's answer is lost: it may or may not have arrived
                real(self, job_id, *args)
            raise RuntimeError("worker died")
        return real(self, job_id, *args)

    with monkeypatch.context() as patched:
        patched.setattr(Bulk2IngestJobs, crash_in, crash_once)
        with pytest.raises(RuntimeError, match="worker died"):
            _operator(segment, tmp_path / "w-rejected.parquet", **options).execute(context)
    shutil.rmtree(bulk_spool_dir(context))  # the retry runs on another worker

    summary = run_deferrable(_operator(segment, tmp_path / "w-rejected.parquet", **options), context)

    assert (summary["total"], summary["written"], summary["rejected"]) == (30, 30, 0)
    jobs = {job["id"]: job["state"] for job in _ingest_jobs(org) if job["id"] not in jobs_before}
    if crash_in == "close":  # recorded as uploaded in the copy: the same job is closed, no second upload
        assert jobs == {crashed[0]: "JobComplete"}
        assert _uploads(org) == uploads_before + 1
    else:  # the copy knew the job but not that its upload arrived: aborted (never processed), a new one
        assert len(jobs) == 2 and jobs.pop(crashed[0]) == "Aborted"
        assert list(jobs.values()) == ["JobComplete"]
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for sfid in ids] == [f"Last{i}" for i in range(30)]
    assert not _copy(shared, context).exists()


def test_a_cleared_task_on_the_worker_that_kept_a_concluded_spool_sends_again(org, tmp_path, monkeypatch):
    ids = _seed(org, 20, "k")
    schema = pa.schema([("sfid", pa.string()), ("last", pa.string())])
    mapping = dict(field_mapping={"sfid": "Id", "last": "LastName"}, audiences={})
    shared, context = tmp_path / "shared", _context()
    options = dict(api="bulk", bulk_spool_path=shared.as_uri(), **mapping)
    first = write_segment(tmp_path / "k1.parquet", [{"sfid": s, "last": "First"} for s in ids], schema)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker-a"))
    with monkeypatch.context() as patched:  # worker A dies after queuing the job: its disk keeps the spool
        patched.setattr(
            Bulk2IngestJobs, "close", lambda *a: (_ for _ in ()).throw(RuntimeError("worker died"))
        )
        with pytest.raises(RuntimeError, match="worker died"):
            _operator(first, tmp_path / "k1-rejected.parquet", **options).execute(context)
    kept = bulk_spool_dir(context)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker-b"))  # the retry, elsewhere, concludes
    assert (
        run_deferrable(_operator(first, tmp_path / "k1-rejected.parquet", **options), context)["written"]
        == 20
    )
    assert (kept / "manifest.json").is_file()  # worker A's disk was never told
    jobs = len(_ingest_jobs(org))

    # The task is cleared (corrected data) and runs on worker A again: its copy is stale, not resumed.
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker-a"))
    second = write_segment(tmp_path / "k2.parquet", [{"sfid": s, "last": "Second"} for s in ids], schema)
    summary = run_deferrable(_operator(second, tmp_path / "k2-rejected.parquet", **options), context)

    assert (summary["written"], len(_ingest_jobs(org))) == (20, jobs + 1)
    state = snapshot(org.hook, "Contact")
    assert {state[sfid]["LastName"] for sfid in ids} == {"Second"}
    assert not kept.exists() and not _copy(shared, context).exists()


def test_without_a_location_a_task_resumed_elsewhere_says_what_to_set(org, tmp_path):
    ids = _seed(org, 5, "g")
    segment = write_segment(tmp_path / "g.parquet", _segment_rows(ids, {}), SCHEMA)
    context = _context()
    with pytest.raises(TaskDeferred) as deferred:
        _operator(segment, tmp_path / "g-rejected.parquet", api="bulk").execute(context)
    shutil.rmtree(bulk_spool_dir(context))
    event = asyncio.run(_first_event(deferred.value.trigger)).payload

    with pytest.raises(SfCrmConfigError) as error:
        _operator(segment, tmp_path / "g-rejected.parquet", api="bulk").execute_bulk_complete(
            context, event=event, **deferred.value.kwargs
        )

    message = str(error.value)
    assert "is gone" in message and "Set bulk_spool_path (or [sfcrm] bulk_spool_path" in message


@pytest.mark.parametrize("how", [dict(api="rest"), dict(api="bulk", dry_run=True)])
def test_rest_and_dry_runs_never_touch_the_location(org, tmp_path, how):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be: any write there fails")
    ids = _seed(org, 5, "n")
    segment = write_segment(tmp_path / "n.parquet", _segment_rows(ids, {}), SCHEMA)
    operator = _operator(segment, tmp_path / "n-rejected.parquet", bulk_spool_path=f"{blocker}/spools", **how)
    summary = operator.execute(_context())
    assert (summary["written"], summary["api"]) == (5, "rest")

    unreachable = _operator(segment, tmp_path / "n2.parquet", api="bulk", bulk_spool_path=f"{blocker}/spools")
    jobs, context = len(_ingest_jobs(org)), _context()
    with pytest.raises(SfCrmConfigError, match=f"^bulk_spool_path '{blocker}/spools/.*': cannot write"):
        unreachable.execute(context)
    assert len(_ingest_jobs(org)) == jobs  # refused before any job was created
    assert not bulk_spool_dir(context).exists()  # and before the segment was spooled


@pytest.mark.timeout(300)
def test_a_sync_run_resumed_elsewhere_records_its_jobs_through_the_configured_location(
    tmp_path, monkeypatch, sync_state_db
):
    for org in start_export_org(tmp_path / "org", monkeypatch, bulk_records_per_s=0, bulk_job_latency_ms=0):
        shared = tmp_path / "shared"
        monkeypatch.setenv("AIRFLOW__SFCRM__BULK_SPOOL_PATH", shared.as_uri())  # no operator argument
        day1, _ = _days("E", 90)
        segment = write_segment(tmp_path / "e.parquet", day1, SYNC_SCHEMA)
        context = _context()
        with pytest.raises(TaskDeferred) as deferred:
            _sync_operator(tmp_path, segment, "2026-01-02T00:00:00+00:00").execute(context)
        assert (_copy(shared, context) / "manifest.json").is_file() and not bulk_spool_dir(context).exists()
        event = asyncio.run(_first_event(deferred.value.trigger)).payload

        summary = _sync_operator(tmp_path, segment, "2026-01-02T00:00:00+00:00").execute_bulk_complete(
            context, event=event, **deferred.value.kwargs
        )

        assert (summary["total"], summary["written"], summary["created"]) == (90, 90, 90)
        org_rows = _statuses(org, "E")
        assert len(org_rows) == 90 and org_rows["E-3"][2:] == ("realized", None)
        state = _state(sync_state_db, "E")
        assert len(state) == 90 and {v[0] for v in state.values()} == {v[0] for v in org_rows.values()}
        assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_pending")[0][0] == 0
        assert not bulk_spool_dir(context).exists() and not _copy(shared, context).exists()
