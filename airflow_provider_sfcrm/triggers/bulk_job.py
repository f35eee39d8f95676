"""Waits, in the triggerer, until Bulk API 2.0 jobs — ingest jobs (the segment export) or query jobs (the
extract) — have ended (``JobComplete``, ``Failed``, ``Aborted``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks._bulk2_ingest import TERMINAL_STATES

if TYPE_CHECKING:
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook


# The clock and the pause, as module names so that tests can drive them.
_monotonic = time.monotonic
_sleep = asyncio.sleep
#: The job kinds, and the hook method that gives each one's client (``info`` and ``abort``).
JOB_CLIENTS = {"ingest": "bulk2_ingest_jobs", "query": "bulk2_query_jobs"}
# Where a user aborts a job of each kind by hand when the trigger could not.
_ABORT_BY_HAND = {
    "ingest": "in Setup, Bulk Data Load Jobs",
    "query": 'with PATCH jobs/query/<id> {"state": "Aborted"}',
}


class SalesforceBulkJobTrigger(BaseTrigger):
    """Polls each job's info until all have ended, then fires one event.

    The event is ``{"status": "success", "jobs": {job_id: job info}}`` once every job ended (in
    whatever state: the task reads each one's results), ``{"status": "error", "message": ...}`` when
    polling failed, or ``{"status": "timeout", "message": ..., "jobs": ...}``.

    Polls are spaced by what the jobs tell: once a job's ``numberRecordsProcessed`` grows, the next
    poll comes when, at the rate seen, its remaining records should be done; before that (queued
    jobs), the pause starts at ``poll_interval`` and doubles. Pauses stay within ``poll_interval`` ..
    ``max_poll_interval``: few requests, and little waiting after a job ends.

    :param sfcrm_conn_id: the Salesforce CRM connection; the trigger builds its own hook from it.
    :param job_ids: the Bulk API 2.0 jobs to wait for, all of ``kind``.
    :param expected_records: the records each job should process (same order), for the estimate: those
        uploaded to an ingest job, the rows a query job's ``COUNT()`` found.
    :param poll_interval: seconds before the second poll.
    :param max_poll_interval: the longest pause between two polls.
    :param deadline: the epoch second (UTC) after which the trigger gives up; None waits forever.
    :param kind: ``"ingest"`` (``jobs/ingest``) or ``"query"`` (``jobs/query``).
    """

    def __init__(
        self,
        *,
        sfcrm_conn_id: str,
        job_ids: Sequence[str],
        expected_records: Sequence[int] | None = None,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        deadline: float | None = None,
        kind: str = "ingest",
    ) -> None:
        super().__init__()
        if kind not in JOB_CLIENTS:
            raise SfCrmConfigError(f"kind must be one of {', '.join(JOB_CLIENTS)}, not {kind!r}")
        self.sfcrm_conn_id = sfcrm_conn_id
        self.job_ids = list(job_ids)
        self.expected_records = [int(n) for n in expected_records] if expected_records is not None else None
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.deadline = None if deadline is None else float(deadline)
        self.kind = kind
        self._jobs: Any = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sfcrm_conn_id": self.sfcrm_conn_id,
                "job_ids": list(self.job_ids),
                "expected_records": self.expected_records,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "kind": self.kind,
            },
        )

    def _new_hook(self) -> SalesforceCrmHook:
        # Imported here so that a triggerer only loads simple-salesforce when the trigger runs.
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        return SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)

    def _new_jobs(self) -> Any:
        """A hook of its own, and its client of this kind of job (a login, off the event loop)."""
        hook = self._new_hook()
        return getattr(hook, JOB_CLIENTS[self.kind])()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Exactly one event, whatever happens: the task resumes on it.
        yield TriggerEvent(await self._wait())

    async def on_kill(self) -> None:
        """A user marked the waiting task failed or succeeded, or cleared it: abort its jobs that have
        not ended, so that Salesforce stops working for a task nobody waits for any more.

        Airflow (3.3 and later) calls this for a user's action only — never when a triggerer stops, or
        hands its triggers to another — so a deploy never aborts a job. What an ingest job had written
        before it was aborted stays written; a retry of the task finds the job ``Aborted`` and rejects
        the records it did not process as ``BULK_JOB_UNPROCESSED`` (replayable). An aborted query job
        has no results; a retry of the extract creates a new one.
        """
        jobs = self._jobs
        if jobs is None:  # stopped before it first polled
            try:
                jobs = await asyncio.to_thread(self._new_jobs)
            except Exception as exc:
                self.log.warning(
                    "Could not abort Bulk API 2.0 jobs %s (abort them %s): %s: %s",
                    ", ".join(self.job_ids),
                    _ABORT_BY_HAND[self.kind],
                    type(exc).__name__,
                    exc,
                )
                return
        for job_id in self.job_ids:
            try:
                if (await asyncio.to_thread(jobs.info, job_id)).get("state") in TERMINAL_STATES:
                    continue
                await asyncio.to_thread(jobs.abort, job_id)
                self.log.info("Aborted Bulk API 2.0 job %s: the waiting task was stopped", job_id)
            except Exception as exc:  # one job's failure must not keep the others running
                self.log.warning(
                    "Could not abort Bulk API 2.0 job %s (abort it %s): %s: %s",
                    job_id,
                    _ABORT_BY_HAND[self.kind],
                    type(exc).__name__,
                    exc,
                )

    async def _wait(self) -> dict[str, Any]:
        ended: dict[str, dict[str, Any]] = {}
        try:
            # The hook reads its connection and talks HTTP synchronously: keep both off the event loop.
            jobs = self._jobs = await asyncio.to_thread(self._new_jobs)  # on_kill reuses it: no second login
            pause = self.poll_interval
            expected = dict(zip(self.job_ids, self.expected_records or [], strict=False))
            seen: dict[str, tuple[float, int]] = {}  # job -> (when, records processed) at its first progress
            while True:
                estimates = []
                for job_id in self.job_ids:
                    if job_id in ended:
                        continue
                    info = await asyncio.to_thread(jobs.info, job_id)
                    if info.get("state") in TERMINAL_STATES:
                        ended[job_id] = _essentials(info)
                        continue
                    estimate = _remaining_s(seen, job_id, info, expected.get(job_id))
                    if estimate is not None:
                        estimates.append(estimate)
                waiting = [job_id for job_id in self.job_ids if job_id not in ended]
                if not waiting:
                    return {"status": "success", "jobs": ended}
                self.log.info(
                    "Waiting for %d of %d Bulk API 2.0 jobs: %s",
                    len(waiting),
                    len(self.job_ids),
                    ", ".join(waiting),
                )
                remaining = None if self.deadline is None else self.deadline - time.time()
                if remaining is not None and remaining <= 0:
                    return {
                        "status": "timeout",
                        "message": f"Bulk API 2.0 jobs {', '.join(waiting)} had not ended by the deadline, "
                        f"{_utc_text(self.deadline)}",
                        "jobs": ended,
                    }
                if estimates:  # processing: come back when the slowest job should be done
                    pause = max(self.poll_interval, min(max(estimates), self.max_poll_interval))
                await _sleep(pause if remaining is None else min(pause, remaining))
                if not estimates:  # still queued: back off
                    pause = min(pause * 2, self.max_poll_interval)
        except Exception as exc:
            # Hook errors never carry secrets (hook contract); the class name helps whoever reads the log.
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}", "jobs": ended}


def _remaining_s(
    seen: dict[str, tuple[float, int]], job_id: str, info: dict[str, Any], expected: int | None
) -> float | None:
    """Seconds until the job should have processed all ``expected`` records, at the rate seen so far."""
    now, processed = _monotonic(), int(info.get("numberRecordsProcessed") or 0)
    if not processed:  # still queued: no rate yet
        return None
    if job_id not in seen:  # the first sign of progress is where the rate is measured from
        seen[job_id] = (now, processed)
        return None
    since, before = seen[job_id]
    if expected is None or processed <= before or now <= since:
        return None
    rate = (processed - before) / (now - since)
    return max(expected - processed, 0) / rate


def _utc_text(epoch: float | None) -> str:
    """``epoch`` as an ISO 8601 UTC moment, to the second."""
    moment = dt.datetime.fromtimestamp(epoch or 0, tz=dt.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _essentials(info: dict[str, Any]) -> dict[str, Any]:
    """What the task needs of a job's info (the event is stored in the metadata database)."""
    keys = ("id", "state", "errorMessage", "numberRecordsProcessed", "numberRecordsFailed")
    return {key: info.get(key) for key in keys}
