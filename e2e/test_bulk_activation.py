"""The Contacts activation through Bulk API 2.0: the task waits in the triggerer, not on a worker.

Triggered with ``api=bulk`` (the trigger form's *API*), the ``activate`` task plans the sync against
the sync state, spools the rows to send as CSV job data, queues the jobs and **defers**: while
Salesforce processes them the task holds no worker slot and the triggerer polls the jobs. The
triggerer is restarted while the task waits — a deploy must not lose a job. The spool's copy is in
``[sfcrm] bulk_spool_path`` (set for the whole deployment), the worker keeps none: the task resumes
on either worker as on another machine or a new Kubernetes pod, restores its spool from the copy,
maps the jobs' results back onto the input rows and records the confirmed writes in the sync state.
The org, the sync state and the summary are then checked as for the REST scenarios, and no record
was written over REST. A second day on ``api=auto`` sends only what changed.

Then a third day on Bulk is stopped by a user while its jobs run (*Mark as failed*): the triggerer
aborts the jobs that had not ended (the trigger's ``on_kill``), and the sync state records nothing
of that run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from e2e import processes
from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.org import scenario

CONTACTS = "example_sfcrm_activate_contacts"
# One run per DAG and logical date: the UI scenario takes the 10th, the sensor scenario the 8th.
DAY_END = datetime(2026, 1, 11, tzinfo=timezone.utc)
# Processing slow enough that the task is seen waiting: Salesforce queues a Bulk job for a while.
SLOW_BULK = {"bulk_records_per_s": 400}


@pytest.fixture(scope="module")
def org(deployment, api):
    with scenario("bulk", deployment, api, dags=[CONTACTS], profiles=3000) as org:
        org.sandbox.start(**SLOW_BULK)  # counters start afresh: every call counted is the DAG's
        yield org


def _statuses_recorded(org, run_id: str) -> int:
    """The statuses the ``activate`` task of ``run_id`` recorded in the sync state's history."""
    rows = org.sync_state.query(
        "SELECT COUNT(*) FROM sfcrm_sync_history WHERE run_id = %s", (f"{CONTACTS}/{run_id}/activate",)
    )
    return int(rows[0][0])


def _job_polls(org) -> int:
    """``GET jobs/ingest/<id>`` calls the org has answered (the trigger's polls, once the task waits)."""
    return int(org.sandbox.stats()["api_calls_by_route"].get("GET /jobs/ingest/{job}", 0))


def _activate(api, run_id: str) -> dict:
    (ti,) = [ti for ti in api.task_instances(CONTACTS, run_id) if ti["task_id"] == "activate"]
    return ti


def test_a_bulk_activation_waits_in_the_triggerer_and_records_what_salesforce_confirmed(deployment, api, org):
    run_id = api.trigger(CONTACTS, logical_date=DAY_END.isoformat(), conf={"api": "bulk"})
    deferred = processes.wait_until(
        lambda: (ti := _activate(api, run_id))["state"] == "deferred" and ti,
        timeout=300,
        interval=1,
        what="activate to defer while its Bulk API 2.0 jobs run",
    )
    assert "SalesforceBulkJobTrigger" in deferred["trigger"]["classpath"]
    assert org.sandbox.calls_to("jobs/ingest") > 0, "the jobs were queued before the task deferred"

    # The spool's copy is where every worker reaches it; the worker that spooled keeps nothing. The
    # earlier scenarios' runs (api=auto, sent over REST) left nothing there.
    (copy,) = deployment.bulk_spool_copies.glob(f"{CONTACTS}/*/activate")
    assert copy.parent.name == re.sub(r"[^A-Za-z0-9._=-]+", "_", run_id)
    assert (copy / "manifest.json").is_file() and (copy / "jobs.json").is_file()
    assert not list(deployment.home.glob(f"sfcrm/bulk/{CONTACTS}/*/activate"))

    deployment.stop_component("triggerer")
    deployment.start_component("triggerer")
    api.wait_for_run(CONTACTS, run_id, timeout=420)

    activate = _activate(api, run_id)
    assert activate["try_number"] == 1, "the task resumed from its trigger; it was not retried"
    log = api.task_log(CONTACTS, run_id, "activate")
    assert f"Restored the Bulk API 2.0 spool from {copy.as_uri()}" in log, log[-4000:]
    assert not copy.exists() and not copy.parent.exists(), "the copy goes when the task concludes"
    assert not list(deployment.home.glob(f"sfcrm/bulk/{CONTACTS}/*/activate"))
    summary = api.xcom(CONTACTS, run_id, "activate")
    assert_counts_add_up(summary, org.segment_rows("Contact"))
    assert summary["written"] > 0 and not summary["dry_run"] and summary["api"] == "bulk"
    assert org.sandbox.calls_to("composite/sobjects") == 0, "every record went through Bulk jobs"
    assert_final_state(org, "Contact", org.expected_after_syncs("Contact", [DAY_END]))
    assert _statuses_recorded(org, run_id) > 0

    # The next day on api=auto: only what changed is sent, and the org and state stay exact.
    next_day = DAY_END + timedelta(days=1)
    second = api.trigger(CONTACTS, logical_date=next_day.isoformat(), conf={"api": "auto"})
    api.wait_for_run(CONTACTS, second, timeout=420)
    day2 = api.xcom(CONTACTS, second, "activate")
    assert_counts_add_up(day2, org.segment_rows("Contact"))
    assert day2["unchanged"] > 0 and day2["written"] < summary["written"]
    assert day2["api"] == "rest", "3,000 rows are under api=auto's threshold"
    assert_final_state(org, "Contact", org.expected_after_syncs("Contact", [DAY_END, next_day]))


def _ingest_jobs(org) -> dict[str, str]:
    """``{job id: state}`` of the org's Bulk API 2.0 ingest jobs."""
    listed = org.hook().get_conn().restful("jobs/ingest")["records"]
    return {job["id"]: job["state"] for job in listed if job.get("jobType") == "V2Ingest"}


def test_marking_a_waiting_bulk_task_failed_aborts_its_jobs(deployment, api, org):
    org.sandbox.start(bulk_records_per_s=2)  # slow enough that the jobs are still running when stopped
    day = DAY_END + timedelta(days=2)
    before = set(_ingest_jobs(org))
    run_id = api.trigger(CONTACTS, logical_date=day.isoformat(), conf={"api": "bulk"})
    processes.wait_until(
        lambda: _activate(api, run_id)["state"] == "deferred",
        timeout=300,
        interval=1,
        what="activate to defer",
    )
    ours = set(_ingest_jobs(org)) - before
    assert ours, "the task deferred after queuing its jobs"
    # Airflow calls on_kill only on a trigger that runs: wait until a triggerer took the trigger and
    # it polled the jobs since (a trigger stopped before any triggerer picked it up has nothing to
    # call, and its jobs run on).
    processes.wait_until(
        lambda: _activate(api, run_id).get("triggerer_job"), timeout=120, interval=1, what="a triggerer"
    )
    polls = _job_polls(org)
    processes.wait_until(lambda: _job_polls(org) > polls, timeout=120, interval=1, what="the trigger to poll")

    api.set_task_state(CONTACTS, run_id, "activate", "failed")

    try:
        states = processes.wait_until(
            lambda: (
                (s := {j: st for j, st in _ingest_jobs(org).items() if j in ours})
                and all(st in ("Aborted", "JobComplete", "Failed") for st in s.values())
                and s
            ),
            timeout=120,
            interval=1,
            what="the stopped task's jobs to be aborted",
        )
    except TimeoutError as exc:
        log = api.task_log(CONTACTS, run_id, "activate")
        raise AssertionError(f"{exc}; the task's log ends:\n{log[-4000:]}") from None
    assert "Aborted" in states.values(), f"the triggerer should have aborted the running jobs: {states}"
    assert _activate(api, run_id)["state"] == "failed"
    assert _statuses_recorded(org, run_id) == 0, "the stopped run recorded nothing in the sync state"
