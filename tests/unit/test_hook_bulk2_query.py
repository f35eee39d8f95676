"""Bulk2QueryJobs.wait: polls until the job ends, backing off, and says why a job failed."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmApiError
from airflow_provider_sfcrm.hooks._bulk2_query import Bulk2QueryJobs


def jobs_with(states, monkeypatch):
    naps: list[float] = []
    jobs = Bulk2QueryJobs(transport=None, sleep=naps.append)
    answers = iter(states)
    monkeypatch.setattr(jobs, "info", lambda job_id: next(answers))
    return jobs, naps


def test_it_polls_until_the_job_is_complete_doubling_the_pause(monkeypatch):
    states = [
        {"state": "UploadComplete"},
        *[{"state": "InProgress"}] * 6,
        {"state": "JobComplete", "id": "750x"},
    ]
    jobs, naps = jobs_with(states, monkeypatch)
    seen = []
    assert jobs.wait("750x", first_poll_s=1, max_poll_s=8, on_poll=seen.append)["id"] == "750x"
    assert naps == [1, 2, 4, 8, 8, 8, 8]
    assert len(seen) == 8


@pytest.mark.parametrize(
    ("final", "message"),
    [
        (
            {"state": "Failed", "errorMessage": "INVALID_FIELD: No such column"},
            "ended Failed: INVALID_FIELD: No such column",
        ),
        ({"state": "Aborted"}, "ended Aborted: no reason given"),
    ],
)
def test_a_job_that_fails_or_is_aborted_raises_its_reason(monkeypatch, final, message):
    jobs, _ = jobs_with([{"state": "InProgress"}, final], monkeypatch)
    with pytest.raises(SfCrmApiError, match=message):
        jobs.wait("750x", first_poll_s=0)


def test_a_job_that_never_ends_times_out(monkeypatch):
    jobs, _ = jobs_with(iter(lambda: {"state": "InProgress"}, None), monkeypatch)
    with pytest.raises(SfCrmApiError, match="still InProgress after 0s"):
        jobs.wait("750x", first_poll_s=0, timeout_s=0)
