"""Waits, in the triggerer, until Bulk API 2.0 ingest jobs have ended (``JobComplete``, ``Failed``,
``Aborted``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_sfcrm.hooks._bulk2_ingest import TERMINAL_STATES

if TYPE_CHECKING:
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook


class SalesforceBulkJobTrigger(BaseTrigger):
    """Polls each job's info until all have ended, then fires one event.

    The event is ``{"status": "success", "jobs": {job_id: job info}}`` once every job ended (in
    whatever state: the task reads each one's results), ``{"status": "error", "message": ...}`` when
    polling failed, or ``{"status": "timeout", "message": ..., "jobs": ...}``. The poll interval
    starts at ``poll_interval`` and doubles up to ``max_poll_interval``.

    :param sfcrm_conn_id: the Salesforce CRM connection; the trigger builds its own hook from it.
    :param job_ids: the Bulk API 2.0 ingest jobs to wait for.
    :param poll_interval: seconds before the second poll.
    :param max_poll_interval: the longest pause between two polls.
    :param deadline: the epoch second (UTC) after which the trigger gives up; None waits forever.
    """

    def __init__(
        self,
        *,
        sfcrm_conn_id: str,
        job_ids: Sequence[str],
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.sfcrm_conn_id = sfcrm_conn_id
        self.job_ids = list(job_ids)
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.deadline = None if deadline is None else float(deadline)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sfcrm_conn_id": self.sfcrm_conn_id,
                "job_ids": list(self.job_ids),
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
            },
        )

    def _new_hook(self) -> SalesforceCrmHook:
        # Imported here so that a triggerer only loads simple-salesforce when the trigger runs.
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        return SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Exactly one event, whatever happens: the task resumes on it.
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        ended: dict[str, dict[str, Any]] = {}
        try:
            # The hook reads its connection and talks HTTP synchronously: keep both off the event loop.
            hook = await asyncio.to_thread(self._new_hook)
            jobs = hook.bulk2_ingest_jobs()
            pause = self.poll_interval
            while True:
                for job_id in self.job_ids:
                    if job_id not in ended:
                        info = await asyncio.to_thread(jobs.info, job_id)
                        if info.get("state") in TERMINAL_STATES:
                            ended[job_id] = _essentials(info)
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
                        "message": f"Bulk API 2.0 jobs {', '.join(waiting)} had not ended by the deadline",
                        "jobs": ended,
                    }
                await asyncio.sleep(pause if remaining is None else min(pause, remaining))
                pause = min(pause * 2, self.max_poll_interval)
        except Exception as exc:
            # Hook errors never carry secrets (hook contract); the class name helps whoever reads the log.
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}", "jobs": ended}


def _essentials(info: dict[str, Any]) -> dict[str, Any]:
    """What the task needs of a job's info (the event is stored in the metadata database)."""
    keys = ("id", "state", "errorMessage", "numberRecordsProcessed", "numberRecordsFailed")
    return {key: info.get(key) for key in keys}
