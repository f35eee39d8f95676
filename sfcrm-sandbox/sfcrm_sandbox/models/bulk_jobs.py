"""The org's Bulk jobs, of both APIs: where they are kept, their files, and what they share.

Jobs live in memory, their data and results in files under ``<data-dir>/bulk/<job id>/`` (a
million-row job costs the sandbox disk, not memory). Like sessions, jobs do not survive a restart:
the directory is emptied when the server starts. Ids: ``750`` jobs, ``751`` batches, ``752`` query
results (Salesforce's key prefixes).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfcrm_sandbox.models.bulk_engine import BulkEngine, BulkSettings
from sfcrm_sandbox.models.bulk_limits import BulkAllocations
from sfcrm_sandbox.models.bulk_rows import BulkWriter
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.values import now_datetime
from sfcrm_sandbox.models.writes import Writer

JOB_PREFIX, BATCH_PREFIX, RESULT_PREFIX = "750", "751", "752"


class JobRejected(Exception):
    """A Bulk request Salesforce refuses (the job's state, its settings, a limit).

    :param code: the error code (Bulk 2.0 ``errorCode`` / Bulk 1.0 ``exceptionCode``).
    :param message: the message.
    :param status: the HTTP status.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# Bulk API 2.0 job states: Open → UploadComplete → InProgress → JobComplete | Failed | Aborted.
OPEN, UPLOAD_COMPLETE, IN_PROGRESS = "Open", "UploadComplete", "InProgress"
JOB_COMPLETE, FAILED, ABORTED = "JobComplete", "Failed", "Aborted"
TERMINAL = (JOB_COMPLETE, FAILED, ABORTED)


def aborting_terminal_job(state: str) -> JobRejected:
    """Aborting a job that already ended (Salesforce's text for a completed job, observed)."""
    label = {JOB_COMPLETE: "Completed"}.get(state, state)
    return JobRejected("INVALIDJOBSTATE", f"Aborting already {label} Job not allowed")


class JobFiles:
    """A job's files: uploaded data, results."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / name

    def write(self, name: str, data: bytes) -> None:
        self.path(name).write_bytes(data)

    def append(self, name: str, text: str) -> None:
        with self.path(name).open("a", encoding="utf-8", newline="") as out:
            out.write(text)

    def read(self, name: str) -> bytes:
        path = self.root / name
        return path.read_bytes() if path.exists() else b""

    def lines(self, name: str) -> Iterator[str]:
        """The text of ``name`` line by line, line endings kept (for the CSV reader)."""
        with self.path(name).open(encoding="utf-8-sig", newline="") as text:
            yield from text

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class JobStamp:
    """What every job records about its creation and its last change."""

    id: str
    created_by: str
    created_date: str
    api_version: float
    system_modstamp: str = ""

    def __post_init__(self) -> None:
        self.system_modstamp = self.system_modstamp or self.created_date

    def touch(self) -> None:
        self.system_modstamp = now_datetime()


class Clocked:
    """Processing times a job reports (``totalProcessingTime``, ``apiActiveProcessingTime``, ms)."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.finished: float | None = None
        self.active_ms = 0.0

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def finish(self) -> None:
        if self.finished is None:
            self.finished = time.monotonic()

    @property
    def total_ms(self) -> int:
        if self.started is None:
            return 0
        return int(((self.finished or time.monotonic()) - self.started) * 1000)


class Bulk2Lifecycle:
    """How a Bulk API 2.0 job (ingest or query) ends: completed, failed with a message, or aborted
    (refused once it has ended). Mixed into the job dataclasses, which hold these attributes."""

    stamp: JobStamp
    state: str
    error_message: str | None
    clock: Clocked

    @property
    def id(self) -> str:
        return self.stamp.id

    def abort(self) -> None:
        if self.state in TERMINAL:
            raise aborting_terminal_job(self.state)
        self.end(ABORTED)

    def fail(self, message: str) -> None:
        self.end(FAILED, message)

    def end(self, state: str, message: str | None = None) -> None:
        self.state = state
        self.error_message = message
        self.clock.finish()
        self.stamp.touch()


class BulkOrg:
    """The org's Bulk service: its jobs, the queue they are processed in, the allocations they spend.

    :param store: the org.
    :param writer: the org's write path (the REST API's).
    :param usage: the org's API usage (records written go into the stats).
    :param settings: the processing model and limits.
    :param clock: seconds, monotonic (injectable for tests).
    """

    def __init__(
        self,
        store: OrgStore,
        writer: Writer,
        usage: ApiUsage,
        settings: BulkSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.usage = usage
        self.settings = settings
        self.engine = BulkEngine(settings, clock)
        self.allocations = BulkAllocations(settings.limits, clock)
        self.writer = BulkWriter(writer)
        self.root = store.path.parent / "bulk"
        shutil.rmtree(self.root, ignore_errors=True)
        self._jobs: dict[str, Any] = {}

    def new_id(self, prefix: str) -> str:
        return self.store.new_id(prefix)

    def stamp(self, version: str) -> JobStamp:
        assert self.store.user_id is not None
        return JobStamp(self.new_id(JOB_PREFIX), self.store.user_id, now_datetime(), float(version))

    def files(self, job_id: str, *parts: str) -> JobFiles:
        return JobFiles(self.root.joinpath(job_id, *parts))

    def add(self, job: Any) -> Any:
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str, kind: type) -> Any:
        """The job ``job_id`` if it is a ``kind``, else None (settling ready work first)."""
        self.engine.settle()
        job = self._jobs.get(job_id)
        if job is None and len(job_id) == 15:
            job = next((j for j in self._jobs.values() if j.id[:15] == job_id), None)
        return job if isinstance(job, kind) else None

    def jobs(self, *kinds: type) -> list[Any]:
        self.engine.settle()
        return [job for job in self._jobs.values() if isinstance(job, kinds)]

    def remove(self, job: Any) -> None:
        self._jobs.pop(job.id, None)
        self.files(job.id).remove()

    def clear(self) -> None:
        """Forget every job (``/__sandbox/reset``)."""
        self.engine.clear()
        self._jobs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def stats(self) -> dict[str, Any]:
        states: dict[str, int] = {}
        for job in self._jobs.values():
            key = f"{job.job_type}:{job.state}"
            states[key] = states.get(key, 0) + 1
        return {
            "jobs": dict(sorted(states.items())),
            "queued": self.engine.queued,
            **self.allocations.stats(),
        }
