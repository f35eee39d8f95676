"""ExtractRun.resume: what the trigger's event says decides whether the query job is read; a job that
did not complete fails the task with its reason and is cleaned up (the hook's query jobs faked)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmApiError
from airflow_provider_sfcrm.extraction.window import ExtractWindow
from airflow_provider_sfcrm.operators._extract_run import DeferredRead, ExtractRun

UTC = dt.timezone.utc
JOB = "750ak0000000001AAA"
WINDOW = ExtractWindow.of_interval(
    dt.datetime(2024, 1, 31, 10, tzinfo=UTC), dt.datetime(2024, 1, 31, 11, tzinfo=UTC)
)


class Jobs:
    def __init__(self, state: str):
        self.state, self.calls = state, []

    def info(self, job_id):
        self.calls.append("info")
        return {"id": job_id, "state": self.state}

    def abort(self, job_id):
        self.calls.append("abort")

    def delete(self, job_id):
        self.calls.append("delete")


class Hook:
    def __init__(self, jobs):
        self.jobs = jobs

    def bulk2_query_jobs(self):
        return self.jobs

    def describe_object(self, sobject):
        raise AssertionError("a job that did not complete is not read: no describe")


def resume(event, state):
    jobs = Jobs(state)
    run = ExtractRun(
        Hook(jobs),
        "Contact",
        WINDOW,
        output_path="/tmp/never-written",
        columns=None,
        where=None,
        api="bulk",
        max_api_share=None,
        bulk_threshold=1,
        rows_per_file=10,
        log=logging.getLogger("test"),
    )
    deferred = DeferredRead(
        sobject="Contact",
        output_path="/tmp/never-written",
        interval=WINDOW.describe(),
        job_id=JOB,
        query="SELECT Id, SystemModstamp, IsDeleted FROM Contact WHERE (x) ORDER BY Id",
        columns=["Id", "SystemModstamp", "IsDeleted"],
        expected=3,
        include_deleted=True,
        api_calls=3,
        started_at=0.0,
    )
    with pytest.raises(SfCrmApiError) as failed:
        run.resume(deferred, event)
    return failed.value, jobs.calls


@pytest.mark.parametrize(
    ("event", "state", "message", "code", "cleanup"),
    [
        (
            {
                "status": "success",
                "jobs": {JOB: {"state": "Failed", "errorMessage": "InvalidBatch : timed out"}},
            },
            "Failed",
            f"Bulk query job {JOB} ended Failed: InvalidBatch : timed out",
            "JOB_Failed",
            ["info", "delete"],
        ),
        (
            {"status": "success", "jobs": {JOB: {"state": "Aborted", "errorMessage": None}}},
            "Aborted",
            f"Bulk query job {JOB} ended Aborted: no reason given",
            "JOB_Aborted",
            ["info", "delete"],
        ),
        (
            {
                "status": "error",
                "message": "SfCrmApiError: GET jobs/query/{id}: SERVER_UNAVAILABLE",
                "jobs": {},
            },
            "InProgress",
            f"waiting for Bulk API 2.0 query job {JOB} ended in error: SfCrmApiError: .*SERVER_UNAVAILABLE. "
            "A retry of the task creates a new job",
            "WAIT_ERROR",
            ["info", "abort", "delete"],  # nobody will read it: stopped, then removed
        ),
        (
            None,
            "UploadComplete",
            f"query job {JOB} ended in no event",
            "WAIT_NONE",
            ["info", "abort", "delete"],
        ),
        (
            {"status": "success", "jobs": {"750other": {"state": "JobComplete"}}},
            "JobComplete",
            f"the trigger's event does not report Bulk API 2.0 query job {JOB}",
            None,
            ["info", "delete"],
        ),
    ],
)
def test_a_job_that_did_not_complete_fails_with_its_reason_and_is_cleaned_up(
    event, state, message, code, cleanup
):
    error, calls = resume(event, state)
    assert re.search(message, str(error)), str(error)
    assert error.error_code == code
    assert calls == cleanup


def test_what_crosses_the_deferral_is_plain_json():
    deferred = DeferredRead("Contact", "/x", WINDOW.describe(), JOB, "SELECT Id", ["Id"], 1, True, 2, 0.5)
    as_kwargs = dataclasses.asdict(deferred)
    assert DeferredRead(**json.loads(json.dumps(as_kwargs))) == deferred
