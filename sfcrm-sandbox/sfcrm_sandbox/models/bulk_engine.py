"""How the org works through Bulk jobs: asynchronously, at a configurable rate. A model, not a measurement.

Salesforce queues Bulk work and processes it later, in chunks of 200 records, each chunk one
transaction, several batches at once (``docs/salesforce-facts.md``, "Bulk processing model"). The
sandbox models that with two numbers, both ``sfcrm-sandbox serve`` options:

- ``job_latency_ms`` (``--bulk-job-latency-ms``, default 2,000): how long submitted work waits in
  the queue before the org starts on it (a Bulk 2.0 job after ``UploadComplete``, a 1.0 batch
  after it is added, a query job after it is created);
- ``records_per_s`` (``--bulk-records-per-s``, default 5,000): how many records per second the
  whole org writes, over all Bulk jobs of both APIs. Ready work takes turns chunk by chunk (round
  robin), so concurrent jobs and the batches of a parallel 1.0 job progress together and share
  the rate; a serial 1.0 job's batches go one after another. Queries are not held to the rate.

The defaults come from public figures: Salesforce's own guide to Bulk API throughput reports up to
20 million records an hour (5,556 records/s) from a well-tuned parallel load, rounded down here; the
queueing delay has no published figure, so 2 s stands for "seconds, not minutes" of a lightly
loaded org. Real orgs vary with triggers, flows, sharing and load.

``0`` for both means as fast as possible: work runs as soon as the event loop is free, and every
look at a job's state first finishes the work that is ready, so tests see settled jobs without
sleeping. Processing runs as an asyncio task on the server's event loop, one chunk at a time:
REST requests are served between chunks (a chunk costs the loop a few milliseconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sfcrm_sandbox.models.bulk_limits import BulkLimits

_log = logging.getLogger("sfcrm_sandbox.bulk")
#: Units the org works on at once (Salesforce runs batches on a pool of worker threads; its size
#: is not published). Bounds the sandbox's memory too: a waiting 1.0 batch is only its request file.
PARALLEL = 10


@dataclass(frozen=True)
class BulkSettings:
    """The Bulk processing model and limits (``sfcrm-sandbox serve --bulk-...``).

    :param records_per_s: records per second the org writes over all Bulk jobs; 0 = no limit.
    :param job_latency_ms: queueing delay before submitted work starts.
    :param upload_limit_mb: the largest Bulk 2.0 upload, in MB after base64 (Salesforce: 150).
    :param limits: the rolling 24-hour allocations.
    """

    records_per_s: float = 5000.0
    job_latency_ms: float = 2000.0
    upload_limit_mb: float = 150.0
    limits: BulkLimits = field(default_factory=BulkLimits)

    @property
    def instant(self) -> bool:
        return not self.records_per_s and not self.job_latency_ms


class Work(Protocol):
    """A unit of queued work: a Bulk 1.0 batch, a Bulk 2.0 ingest job's data, a query job."""

    #: Holds the org's record rate (writes do, queries do not).
    paced: bool

    @property
    def done(self) -> bool: ...

    def ready(self) -> bool:
        """May start now (a serial 1.0 job's batch waits for the one before it)."""
        ...

    def step(self) -> int:
        """Process the next chunk (or the whole of work that has no chunks); the records it wrote."""
        ...

    def crash(self, message: str) -> None:
        """End the work as failed: a step raised (a sandbox bug; the job says so instead of hanging)."""
        ...


class BulkEngine:
    """The org's Bulk queue and the task that works through it.

    Submitted work waits (``waiting``, first in first out) until its queueing delay is over, then
    joins the work in progress (``active``, at most :data:`PARALLEL` units), which takes turns one
    step at a time.

    :param settings: the processing model.
    :param clock: seconds, monotonic (injectable for tests).
    """

    def __init__(self, settings: BulkSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._waiting: deque[tuple[float, Work]] = deque()
        self._active: deque[Work] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # When the org may start its next paced chunk (it never banks idle time).
        self._due = 0.0

    @property
    def queued(self) -> int:
        """Units waiting or in progress."""
        return len(self._waiting) + len(self._active)

    def submit(self, work: Work) -> None:
        """Queue ``work``; it becomes ready after the queueing delay."""
        self._waiting.append((self._clock() + self.settings.job_latency_ms / 1000, work))
        self._wake.set()
        self._start()

    def clear(self) -> None:
        self._waiting.clear()
        self._active.clear()

    def settle(self) -> None:
        """In the as-fast-as-possible model, finish all ready work now (a look at a job calls this)."""
        if self.settings.instant:
            while self._step() is not None:
                pass

    def step(self) -> bool:
        """Give the next ready work one step; False when nothing is ready."""
        return self._step() is not None

    def _step(self) -> tuple[Work, int] | None:
        self._admit()
        while self._active:
            work = self._active.popleft()
            if work.done:
                continue  # ended from outside (an aborted job)
            try:
                written = work.step()
            except Exception as exc:  # noqa: BLE001 - a bug must fail its job, not stop the queue
                _log.exception("Bulk work failed")
                work.crash(f"UnknownException : {type(exc).__name__}: {exc}")
                written = 0
            if not work.done:
                self._active.append(work)  # back of the line: ready work takes turns
            return work, written
        return None

    def _admit(self) -> None:
        """Move ready waiting work into progress, oldest first, up to :data:`PARALLEL` units."""
        if len(self._active) >= PARALLEL or not self._waiting:
            return
        now = self._clock()
        keep: deque[tuple[float, Work]] = deque()
        for ready_at, work in self._waiting:
            if work.done:
                continue
            if len(self._active) < PARALLEL and ready_at <= now and work.ready():
                self._active.append(work)
            else:
                keep.append((ready_at, work))
        self._waiting = keep

    def _next_start_in(self) -> float | None:
        """Seconds until waiting work may start (None: none waits for time, only for an event)."""
        if self._active:
            return 0.0
        now = self._clock()
        waits = [ready_at - now for ready_at, work in self._waiting if not work.done]
        return max(0.0, min(waits)) if waits else None

    # --- the background task ------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (unit tests drive step() themselves)
        self._task = loop.create_task(self._run(), name="sfcrm-sandbox-bulk")

    async def _run(self) -> None:
        rate = self.settings.records_per_s
        while True:
            started = self._clock()
            stepped = self._step()
            if stepped is None:
                self._wake.clear()
                wait = self._next_start_in()
                try:
                    # A serial batch waits for its predecessor, not for time: poll such work gently.
                    await asyncio.wait_for(self._wake.wait(), 0.05 if wait == 0 else wait)
                except asyncio.TimeoutError:
                    pass
                continue
            work, written = stepped
            if work.paced and rate and written:
                # The org's rate is shared: no other chunk starts before this one's time is up. Its time
                # counts from when it started, so that writing it is part of its slot, not added to it.
                self._due = max(self._due, started) + written / rate
                await asyncio.sleep(max(0.0, self._due - self._clock()))
            else:
                await asyncio.sleep(0)  # let requests in between chunks
