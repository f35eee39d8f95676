"""The extract's Bulk API 2.0 read waits for its query job in the triggerer, against a sandbox over HTTPS.

The task plans, creates the job and defers to ``SalesforceBulkJobTrigger`` (kind ``query``) with plain
values only; the trigger polls; the task resumes, in a new operator as in a new worker, and writes the
same bytes as REST and as the in-worker wait (``deferrable=False``). The summary counts the worker's
calls on both sides of the deferral, not the triggerer's polls. A job that is aborted, a wait that times
out, a column that vanished while the job ran: each fails the task by name and leaves no job behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators.extract import SalesforceExtractOperator
from airflow_provider_sfcrm.triggers.bulk_job import SalesforceBulkJobTrigger
from tests.conftest import create_audience_field, set_connection_env, unique_mapping_id
from tests.integration._deferral import first_event
from tests.integration._extract_helpers import UTC, extract, org_at, rows

pytestmark = pytest.mark.integration

START = dt.datetime(2024, 9, 2, 8, tzinfo=UTC)
END = START + dt.timedelta(hours=1)
CONTEXT = {"data_interval_start": START, "data_interval_end": END}
CONTACTS = 30


def _operator(tmp_path, name: str, conn_id: str = "sfcrm_default", **options) -> SalesforceExtractOperator:
    return SalesforceExtractOperator(
        task_id="extract_contact",
        sobject="Contact",
        output_path=str(tmp_path / name),
        sfcrm_conn_id=conn_id,
        **{"api": "bulk", **options},
    )


def _defer(operator: SalesforceExtractOperator) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(CONTEXT)
    return deferred.value


def _resume(operator: SalesforceExtractOperator, deferred: TaskDeferred, event: dict) -> dict:
    """The task resumed as Airflow resumes it: the method and kwargs it named, the trigger's event."""
    return getattr(operator, deferred.method_name)(CONTEXT, event=event, **deferred.kwargs)


def _event(trigger) -> dict:
    return asyncio.run(first_event(trigger)).payload


def _query_jobs(hook: SalesforceCrmHook) -> dict[str, str]:
    """``{job id: state}`` of the org's Bulk API 2.0 query jobs."""
    listed = hook.get_conn().restful("jobs/query")["records"]
    return {job["id"]: job["state"] for job in listed if job.get("jobType") == "V2Query"}


@pytest.fixture(scope="module")
def org(sandbox):
    """CONTACTS Contacts written in the interval, on the session sandbox's clock."""
    with org_at(sandbox, START + dt.timedelta(minutes=15), "sfcrm_default") as (hook, _):
        records = [{"LastName": f"Deferred {n}", "Email": f"d{n}@example.com"} for n in range(CONTACTS)]
        assert all(r.success for r in hook.upsert_records("Contact", records, external_id_field=None))
        yield sandbox


@pytest.fixture
def conn(org, monkeypatch):
    set_connection_env(monkeypatch, "sfcrm_default", org)


@pytest.fixture
def slow_org(sandbox_factory, monkeypatch):
    """An org whose Bulk jobs stay queued for a minute: the task finds its job still waiting."""
    running = sandbox_factory(bulk_job_latency_ms=60_000)
    set_connection_env(monkeypatch, "sfcrm_slow", running)
    return running


def test_the_bulk_read_defers_to_its_query_job_and_resumes_to_the_rest_bytes(org, conn, tmp_path):
    calls = [org.stats()["api_calls"]]
    deferred = _defer(_operator(tmp_path, "bulk"))
    calls.append(org.stats()["api_calls"])
    saved = deferred.kwargs["extract"]

    # The trigger and what the task keeps are plain values; the trigger waits for a query job.
    classpath, trigger_kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_sfcrm.triggers.bulk_job.SalesforceBulkJobTrigger"
    assert json.loads(json.dumps(trigger_kwargs)) == trigger_kwargs
    assert json.loads(json.dumps(deferred.kwargs)) == deferred.kwargs
    assert trigger_kwargs["kind"] == "query" and trigger_kwargs["job_ids"] == [saved["job_id"]]
    assert trigger_kwargs["expected_records"] == [CONTACTS] and saved["expected"] == CONTACTS
    assert deferred.method_name == "execute_bulk_query_complete"
    assert saved["columns"][:1] == ["Id"] and "LastName" in saved["columns"]
    assert saved["interval"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert saved["api_calls"] == calls[1] - calls[0]  # describe, COUNT(), create

    # The triggerer rebuilds the trigger from its serialised form, as Airflow does.
    event = _event(SalesforceBulkJobTrigger(**trigger_kwargs))
    calls.append(org.stats()["api_calls"])
    assert event["status"] == "success" and event["jobs"][saved["job_id"]]["state"] == "JobComplete"

    # Resumed by another operator object (another worker): the describe comes again.
    summary = _resume(_operator(tmp_path, "bulk"), deferred, event)
    calls.append(org.stats()["api_calls"])
    assert (summary["rows"], summary["api"]) == (CONTACTS, "bulk")
    assert saved["job_id"] not in _query_jobs(SalesforceCrmHook("sfcrm_default"))  # deleted once read
    # The worker's calls on both sides of the deferral; the triggerer's polls are not the task's.
    polls = calls[2] - calls[1]
    assert polls >= 1
    assert (
        summary["api_calls"] == (calls[1] - calls[0]) + (calls[3] - calls[2]) == calls[3] - calls[0] - polls
    )

    # The same bytes as REST and as the wait in the worker (which does not defer, and counts its polls).
    rest = extract(tmp_path / "rest", "Contact", START, END, api="rest")
    before = org.stats()["api_calls"]
    in_worker = _operator(tmp_path, "in-worker", deferrable=False).execute(CONTEXT)
    assert in_worker["api"] == "bulk" and in_worker["api_calls"] == org.stats()["api_calls"] - before
    for name in ("part-00000.parquet", "_manifest.json"):
        expected = (tmp_path / "rest" / "Contact" / f"{START:%Y%m%dT%H%M%S}" / name).read_bytes()
        assert (tmp_path / "bulk" / name).read_bytes() == expected, name
        assert (tmp_path / "in-worker" / name).read_bytes() == expected, name
    assert [r["Id"] for r in rows(summary["output_path"])] == [r["Id"] for r in rows(rest["output_path"])]


def test_a_job_aborted_while_the_task_waits_fails_it_with_the_jobs_state(slow_org, tmp_path):
    deferred = _defer(_operator(tmp_path, "aborted", "sfcrm_slow"))
    job_id = deferred.kwargs["extract"]["job_id"]
    hook = SalesforceCrmHook("sfcrm_slow")
    hook.bulk2_query_jobs().abort(job_id)  # someone aborts it in Salesforce

    event = _event(deferred.trigger)
    assert event["jobs"][job_id]["state"] == "Aborted"
    with pytest.raises(SfCrmApiError, match=f"Bulk query job {job_id} ended Aborted") as failed:
        _resume(_operator(tmp_path, "aborted", "sfcrm_slow"), deferred, event)
    assert failed.value.error_code == "JOB_Aborted"
    assert job_id not in _query_jobs(hook)  # deleted
    assert not (tmp_path / "aborted").exists()


def test_the_tasks_execution_timeout_ends_the_wait_naming_the_job_and_stops_it(slow_org, tmp_path):
    timeout = dt.timedelta(seconds=2)
    started = time.time()
    deferred = _defer(_operator(tmp_path, "late", "sfcrm_slow", execution_timeout=timeout))
    job_id = deferred.kwargs["extract"]["job_id"]
    # The wait ends when the try's execution_timeout runs out, counted from the try's start; Airflow's
    # own deferral timeout backs it up.
    _, kwargs = deferred.trigger.serialize()
    assert started <= kwargs["deadline"] - timeout.total_seconds() <= time.time()
    assert deferred.timeout == timeout
    event = _event(deferred.trigger)
    assert event["status"] == "timeout" and job_id in event["message"]

    with pytest.raises(
        SfCrmApiError, match=f"waiting for Bulk API 2.0 query job {job_id} ended in timeout"
    ) as failed:
        _resume(_operator(tmp_path, "late", "sfcrm_slow", execution_timeout=timeout), deferred, event)
    assert "execution_timeout (0:00:02) ran out" in str(failed.value)
    assert failed.value.error_code == "WAIT_TIMEOUT"
    # Nobody will read it: aborted while still queued, then deleted. A retry creates a new job.
    assert slow_org.calls_to("PATCH /jobs/query") == 1
    assert job_id not in _query_jobs(SalesforceCrmHook("sfcrm_slow"))


def test_stopping_the_waiting_task_aborts_its_query_job(slow_org, tmp_path):
    deferred = _defer(_operator(tmp_path, "stopped", "sfcrm_slow"))
    job_id = deferred.kwargs["extract"]["job_id"]
    assert _query_jobs(SalesforceCrmHook("sfcrm_slow"))[job_id] == "UploadComplete"

    asyncio.run(deferred.trigger.on_kill())  # a user marked the deferred task failed

    assert _query_jobs(SalesforceCrmHook("sfcrm_slow"))[job_id] == "Aborted"


def test_a_column_that_vanished_while_the_job_ran_is_named(org, conn, tmp_path):
    hook = SalesforceCrmHook("sfcrm_default")
    field = create_audience_field(hook, "Contact", unique_mapping_id("ext"), kind="text", access="read")
    deferred = _defer(_operator(tmp_path, "vanished", columns=["LastName", field]))
    job_id = deferred.kwargs["extract"]["job_id"]
    assert field in deferred.kwargs["extract"]["columns"]
    event = _event(deferred.trigger)

    # An administrator takes the field away from the integration user meanwhile.
    grant = hook.query_all(f"SELECT Id FROM FieldPermissions WHERE Field = 'Contact.{field}'")[0]["Id"]
    hook._json("PATCH", f"sobjects/FieldPermissions/{grant}", json={"PermissionsRead": False})

    with pytest.raises(SfCrmConfigError, match=f"no field.s. {field} visible.*query job {job_id} ran"):
        _resume(_operator(tmp_path, "vanished", columns=["LastName", field]), deferred, event)
    assert job_id not in _query_jobs(hook)
    assert not (tmp_path / "vanished").exists()
