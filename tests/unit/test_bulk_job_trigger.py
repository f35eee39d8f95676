"""SalesforceBulkJobTrigger: one event once every job ended; polls paced by the processing rate seen."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.triggers import bulk_job
from airflow_provider_sfcrm.triggers.bulk_job import SalesforceBulkJobTrigger


class _Jobs:
    def __init__(self, answers: dict[str, list[dict]]):
        self.answers = {job: iter(infos) for job, infos in answers.items()}
        self.polls = 0

    def info(self, job_id: str) -> dict:
        self.polls += 1
        answer = next(self.answers[job_id])
        if isinstance(answer, Exception):
            raise answer
        return {"id": job_id, **answer}


def _hook_of(jobs, kind="ingest"):
    """A hook whose client of ``kind`` jobs is ``jobs``; the other kind's must not be asked for."""

    def other(self):
        raise AssertionError(f"asked for the other kind of job than {kind}")

    clients = {"ingest": "bulk2_ingest_jobs", "query": "bulk2_query_jobs"}
    return type(
        "Hook", (), {name: (lambda self: jobs) if k == kind else other for k, name in clients.items()}
    )()


def _run(trigger, jobs, monkeypatch):
    """Run the trigger to its event with a fake clock: each pause advances it; returns (event, pauses)."""
    pauses: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        now[0] += seconds

    monkeypatch.setattr(bulk_job, "_sleep", fake_sleep)
    monkeypatch.setattr(bulk_job, "_monotonic", lambda: now[0])
    monkeypatch.setattr(trigger, "_new_hook", lambda: _hook_of(jobs, trigger.kind))

    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first()), pauses


def test_queued_jobs_back_off_then_polls_follow_the_processing_rate(monkeypatch):
    jobs = _Jobs(
        {
            "750a": [
                {"state": "UploadComplete", "numberRecordsProcessed": 0},
                {"state": "UploadComplete", "numberRecordsProcessed": 0},
                {"state": "InProgress", "numberRecordsProcessed": 1_000},
                {"state": "InProgress", "numberRecordsProcessed": 21_000},  # 20,000 in 4 s: 5,000/s
                {"state": "JobComplete", "numberRecordsProcessed": 100_000, "numberRecordsFailed": 3},
            ]
        }
    )
    trigger = SalesforceBulkJobTrigger(
        sfcrm_conn_id="c", job_ids=["750a"], expected_records=[100_000], poll_interval=1, max_poll_interval=30
    )
    event, pauses = _run(trigger, jobs, monkeypatch)
    assert event == {
        "status": "success",
        "jobs": {
            "750a": {
                "id": "750a",
                "state": "JobComplete",
                "errorMessage": None,
                "numberRecordsProcessed": 100_000,
                "numberRecordsFailed": 3,
            }
        },
    }
    # 1, 2 while queued; 4 after the first progress (no rate yet); then 79,000 left at 5,000/s.
    assert pauses == [1, 2, 4, 15.8]


def test_the_estimate_is_capped_and_several_jobs_are_all_awaited(monkeypatch):
    slow = [{"state": "InProgress", "numberRecordsProcessed": n} for n in (10, 20)]
    jobs = _Jobs(
        {
            "750a": [
                *slow,
                {"state": "Failed", "errorMessage": "out of batches", "numberRecordsProcessed": 30},
            ],
            "750b": [{"state": "JobComplete", "numberRecordsProcessed": 5}],
        }
    )
    trigger = SalesforceBulkJobTrigger(
        sfcrm_conn_id="c", job_ids=["750a", "750b"], expected_records=[10_000, 5], max_poll_interval=30
    )
    event, pauses = _run(trigger, jobs, monkeypatch)
    assert event["status"] == "success"
    assert (
        event["jobs"]["750a"]["state"] == "Failed"
        and event["jobs"]["750a"]["errorMessage"] == "out of batches"
    )
    assert event["jobs"]["750b"]["state"] == "JobComplete"
    assert pauses == [1, 30]  # 9,980 left at 10 per second: capped at max_poll_interval
    assert jobs.polls == 4  # the ended job is not asked again


def test_a_failed_poll_is_an_error_event_and_a_deadline_a_timeout(monkeypatch):
    jobs = _Jobs({"750a": [SfCrmApiError("GET jobs/ingest/{id}: NOT_FOUND: gone")]})
    event, _ = _run(SalesforceBulkJobTrigger(sfcrm_conn_id="c", job_ids=["750a"]), jobs, monkeypatch)
    assert event["status"] == "error" and "NOT_FOUND: gone" in event["message"]

    jobs = _Jobs({"750a": [{"state": "InProgress"}]})
    trigger = SalesforceBulkJobTrigger(sfcrm_conn_id="c", job_ids=["750a"], deadline=1_764_554_400.0)
    event, _ = _run(trigger, jobs, monkeypatch)
    assert event["status"] == "timeout"
    assert event["message"] == "Bulk API 2.0 jobs 750a had not ended by the deadline, 2025-12-01T02:00:00Z"


@pytest.mark.parametrize("kind", [None, "ingest", "query"])
def test_it_serialises_to_plain_values(kind):
    options = {} if kind is None else {"kind": kind}
    trigger = SalesforceBulkJobTrigger(
        sfcrm_conn_id="c", job_ids=["750a"], expected_records=[7], deadline=9.5, **options
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_sfcrm.triggers.bulk_job.SalesforceBulkJobTrigger"
    assert SalesforceBulkJobTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["job_ids"] == ["750a"] and kwargs["expected_records"] == [7]
    assert kwargs["kind"] == (kind or "ingest")  # ingest jobs, as before the kind existed


def test_an_unknown_kind_of_job_is_refused():
    with pytest.raises(SfCrmConfigError, match="kind must be one of ingest, query, not 'batch'"):
        SalesforceBulkJobTrigger(sfcrm_conn_id="c", job_ids=["750a"], kind="batch")


def test_a_query_job_is_polled_through_the_query_jobs_with_its_count_as_the_estimate(monkeypatch):
    jobs = _Jobs(
        {
            "750q": [
                {"state": "UploadComplete", "numberRecordsProcessed": 0},
                {"state": "InProgress", "numberRecordsProcessed": 10_000},
                {"state": "InProgress", "numberRecordsProcessed": 30_000},  # 20,000 in 2 s: 10,000/s
                {"state": "JobComplete", "numberRecordsProcessed": 250_000},
            ]
        }
    )
    trigger = SalesforceBulkJobTrigger(
        sfcrm_conn_id="c", job_ids=["750q"], expected_records=[250_000], kind="query"
    )
    event, pauses = _run(trigger, jobs, monkeypatch)  # the hook gives only query jobs to this trigger
    assert event["status"] == "success" and event["jobs"]["750q"]["state"] == "JobComplete"
    assert pauses == [1, 2, 22]  # 220,000 rows left at 10,000 per second


@pytest.mark.parametrize(
    ("kind", "hint"),
    [(None, "in Setup, Bulk Data Load Jobs"), ("query", 'with PATCH jobs/query/<id> {"state": "Aborted"}')],
)
def test_a_user_stopping_the_waiting_task_aborts_the_jobs_that_have_not_ended(
    monkeypatch, capsys, kind, hint
):
    class Jobs:
        states = {"750a": "InProgress", "750b": "JobComplete", "750c": "UploadComplete", "750d": "Open"}

        def __init__(self):
            self.aborted: list[str] = []

        def info(self, job_id):
            if job_id == "750c":
                raise SfCrmApiError("GET jobs/ingest/750c: SERVER_UNAVAILABLE")
            return {"id": job_id, "state": self.states[job_id]}

        def abort(self, job_id):
            self.aborted.append(job_id)
            return {"id": job_id, "state": "Aborted"}

    jobs = Jobs()
    options = {} if kind is None else {"kind": kind}
    trigger = SalesforceBulkJobTrigger(sfcrm_conn_id="c", job_ids=["750a", "750b", "750c", "750d"], **options)
    monkeypatch.setattr(trigger, "_new_hook", lambda: _hook_of(jobs, kind or "ingest"))

    asyncio.run(trigger.on_kill())

    assert jobs.aborted == ["750a", "750d"]  # not the one that ended; the one that failed to answer is named
    logged = "".join(capsys.readouterr())  # the trigger logs through structlog
    assert "Could not abort Bulk API 2.0 job 750c" in logged and "SERVER_UNAVAILABLE" in logged
    assert hint in logged  # where to abort it by hand
