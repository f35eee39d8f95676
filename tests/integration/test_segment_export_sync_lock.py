"""Acceptance: one run at a time per sync scope, against a sandbox over HTTPS.

A Bulk sync run that deferred holds its scope until it has recorded its jobs' results: another run of
the same scope is refused before it reads, spools or sends anything, and runs once the first has
concluded — so an overlap never inserts a person twice. Only the seam that asks Airflow for the
holder's task instance states (``ti.get_task_states``) is played by the test.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_sfcrm.exceptions import SfCrmSyncBusyError
from airflow_provider_sfcrm.operators._bulk_export import bulk_spool_dir
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.conftest import SYNC_STATE_CONN_ID
from tests.integration._deferral import first_event, run_deferrable
from tests.integration._export_org import CONN_ID, start_export_org, write_segment

# The Bulk sync tests' quick polls (an autouse fixture).
from tests.integration.test_segment_export_bulk_sync import _fast_polls as _fast_polls

pytestmark = pytest.mark.integration

DAY1, DAY2 = "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"
MEMBERSHIP = pa.schema([("ext", pa.string()), ("last", pa.string()), ("aud_1", pa.bool_())])
PEOPLE = pa.schema([("email", pa.string()), ("last", pa.string())])
_WRITE_METHODS = ("POST ", "PATCH ", "PUT ", "DELETE ")


@pytest.fixture
def org(tmp_path, monkeypatch):  # Bulk jobs processed at once: the tests wait for polls, not for a model
    yield from start_export_org(tmp_path / "org", monkeypatch, bulk_records_per_s=0, bulk_job_latency_ms=0)


class TaskStates:
    """What Airflow answers about the task instances of each run (``RuntimeTaskInstance.get_task_states``)."""

    def __init__(self) -> None:
        self.by_run: dict[str, str] = {}
        self.asked: list[str] = []

    def context(self, dag_id: str = "sync_dag", task_id: str = "export") -> dict[str, Any]:
        """A task instance of a run of its own, which asks this for other holders' states."""

        def get_task_states(dag_id: str, task_ids: list[str], run_ids: list[str], **_: Any) -> dict:
            self.asked += run_ids
            return {
                run: {task: self.by_run[run] for task in task_ids} for run in run_ids if run in self.by_run
            }

        ti = SimpleNamespace(
            dag_id=dag_id,
            run_id=f"scheduled__{uuid.uuid4().hex[:8]}",
            task_id=task_id,
            map_index=-1,
            get_task_states=get_task_states,
        )
        return {"ti": ti}


def _operator(tmp: Path, segment: str, as_of: str, **overrides: Any) -> SalesforceSegmentExportOperator:
    arguments: dict[str, Any] = dict(
        task_id="export",
        sobject="Contact",
        segment_path=segment,
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
        audiences={"aud_1": "crm_1_seg"},
        sync_state=SYNC_STATE_CONN_ID,
        as_of=as_of,
        rejected_rows_path=str(tmp / f"rejected-{uuid.uuid4().hex[:6]}.parquet"),
        stale_rows_path=str(tmp / f"stale-{uuid.uuid4().hex[:6]}.parquet"),
        sfcrm_conn_id=CONN_ID,
        api="bulk",
    )
    arguments.update(overrides)
    return SalesforceSegmentExportOperator(**arguments)


def _writes(org) -> dict[str, int]:
    """The sandbox's write requests so far, by route (logins excepted: they write nothing)."""
    return {
        route: int(count)
        for route, count in org.sandbox.stats()["api_calls_by_route"].items()
        if route.startswith(_WRITE_METHODS) and "oauth2" not in route
    }


def _defer(operator: SalesforceSegmentExportOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    return deferred.value


def _resume(
    operator: SalesforceSegmentExportOperator, context: dict[str, Any], deferred: TaskDeferred
) -> dict:
    event = asyncio.run(first_event(deferred.trigger)).payload
    return getattr(operator, deferred.method_name)(context, event=event, **(deferred.kwargs or {}))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("api", ["bulk", "rest"])
def test_a_deferred_bulk_sync_holds_its_scope_until_it_has_recorded(org, tmp_path, sync_state_db, api):
    rows = [{"ext": f"L-{i}", "last": f"P{i}", "aud_1": i % 2 == 0} for i in range(60)]
    segment = write_segment(tmp_path / "day1.parquet", rows, MEMBERSHIP)
    states = TaskStates()
    first, second = states.context(), states.context()
    deferred = _defer(_operator(tmp_path, segment, DAY1), first)
    states.by_run[first["ti"].run_id] = "deferred"  # its jobs run while the task waits in the triggerer
    writes = _writes(org)

    late = _operator(tmp_path, segment, DAY1, api=api)
    with pytest.raises(SfCrmSyncBusyError) as refused:
        late.execute(second)

    assert _writes(org) == writes  # not one write request: no job, no upload, no record
    assert states.asked == [first["ti"].run_id]
    assert refused.value.holder == ("sync_dag", first["ti"].run_id, "export")
    message = str(refused.value)
    assert f"DAG 'sync_dag', run '{first['ti'].run_id}', task 'export' holds it since" in message
    assert "sent, spooled and recorded nothing" in message
    assert "max_active_runs=1" in message and "--max-active-runs 1" in message
    assert not Path(late.rejected_rows_path).exists() and not bulk_spool_dir(second).exists()
    # A dry run writes nothing: it plans alongside, unrefused.
    dry = _operator(tmp_path, segment, DAY1, dry_run=True).execute(states.context())
    assert dry["dry_run"] and dry["written"] == 60 and _writes(org) == writes  # "would write"

    concluded = _resume(_operator(tmp_path, segment, DAY1), first, deferred)
    assert (concluded["written"], concluded["created"]) == (60, 60)
    states.by_run[first["ti"].run_id] = "success"

    after = run_deferrable(_operator(tmp_path, segment, DAY1, api=api), second)  # its retry, say
    assert (after["written"], after["unchanged"], after["total"]) == (0, 60, 60)  # planned on the record
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_locks") == [(0,)]


@pytest.mark.timeout(300)
def test_overlapping_insert_runs_create_each_person_once(tmp_path, monkeypatch, sync_state_db):
    tag = uuid.uuid4().hex[:6]
    rows = [{"email": f"{tag}{i}@example.com", "last": f"I{i}"} for i in range(50)]
    segment = write_segment(tmp_path / "people.parquet", rows, PEOPLE)
    insert = dict(
        operation="insert",
        external_id_field="Email",
        field_mapping={"email": "Email", "last": "LastName"},
        audiences={},
    )
    states = TaskStates()
    scheduled, backfill = states.context(), states.context()
    # The org takes a while to start a job: the first run's inserts are not in Salesforce yet when
    # the second comes, so no lookup of unsettled inserts can find them.
    for org in start_export_org(
        tmp_path / "org", monkeypatch, bulk_records_per_s=0, bulk_job_latency_ms=3000
    ):
        deferred = _defer(_operator(tmp_path, segment, DAY2, **insert), scheduled)
        states.by_run[scheduled["ti"].run_id] = "deferred"

        refusals = []
        try:  # the old code let it plan on the same state and insert everyone again
            run_deferrable(_operator(tmp_path, segment, DAY1, **insert), backfill)
        except SfCrmSyncBusyError as busy:
            refusals.append(busy)
        _resume(_operator(tmp_path, segment, DAY2, **insert), scheduled, deferred)
        retried = run_deferrable(_operator(tmp_path, segment, DAY1, **insert), backfill)  # its retry
        query = f"SELECT Email FROM Contact WHERE Email LIKE '{tag}%'"
        emails = [r["Email"] for r in org.hook.query_all(query)]

    assert sorted(emails) == sorted(row["email"] for row in rows)  # each person once
    assert len(refusals) == 1 and refusals[0].holder[1] == scheduled["ti"].run_id
    assert (retried["written"], retried["created"], retried["unchanged"]) == (0, 0, 50)


@pytest.mark.timeout(300)
def test_a_holder_whose_task_ended_is_taken_over(org, tmp_path, sync_state_db, capfd):
    rows = [{"ext": f"T-{i}", "last": f"P{i}", "aud_1": True} for i in range(30)]
    segment = write_segment(tmp_path / "day1.parquet", rows, MEMBERSHIP)
    states = TaskStates()
    abandoned, newcomer = states.context(), states.context()
    _defer(_operator(tmp_path, segment, DAY1), abandoned)  # then marked failed in the UI, never resumed
    states.by_run[abandoned["ti"].run_id] = "failed"

    summary = run_deferrable(_operator(tmp_path, segment, DAY2), newcomer)

    assert summary["total"] == 30 and summary["rejected"] == 0
    assert (
        f"Took over the sync lock of scope 1 from DAG 'sync_dag', run '{abandoned['ti'].run_id}'"
        in capfd.readouterr().out
    )
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_locks") == [(0,)]


@pytest.mark.timeout(300)
def test_a_bulk_run_that_failed_with_its_spool_keeps_the_scope_for_its_retry(
    org, tmp_path, sync_state_db, monkeypatch
):
    from airflow_provider_sfcrm.hooks._bulk2_ingest import Bulk2IngestJobs

    rows = [{"ext": f"K-{i}", "last": f"P{i}", "aud_1": True} for i in range(40)]
    segment = write_segment(tmp_path / "day1.parquet", rows, MEMBERSHIP)
    states = TaskStates()
    crashed, other = states.context(), states.context()
    real = Bulk2IngestJobs.upload

    def lost_answer(self, job_id, data):  # the upload arrived, its answer did not
        real(self, job_id, data)
        raise RuntimeError("worker died")

    monkeypatch.setattr(Bulk2IngestJobs, "upload", lost_answer)
    with pytest.raises(RuntimeError, match="worker died"):
        _operator(tmp_path, segment, DAY1).execute(crashed)
    monkeypatch.setattr(Bulk2IngestJobs, "upload", real)
    states.by_run[crashed["ti"].run_id] = "up_for_retry"

    with pytest.raises(SfCrmSyncBusyError):  # its job may be running: the scope stays its own
        _operator(tmp_path, segment, DAY1, api="rest").execute(other)
    retried = run_deferrable(_operator(tmp_path, segment, DAY1), crashed)  # re-enters, resumes the spool

    assert (retried["written"], retried["created"]) == (40, 40)
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_locks") == [(0,)]
    assert run_deferrable(_operator(tmp_path, segment, DAY1, api="rest"), other)["unchanged"] == 40
