"""Bulk API 1.0 jobs and batches (``/services/async``; ``docs/salesforce-facts.md``, "Bulk API 1.0").

A job is created ``Open`` for one object and operation, with JSON or CSV content. The client adds
batches (at most 10,000 records and 10 MB each; each counts against the daily batches when added);
the org queues each batch (``Queued``), processes it (``InProgress``) in chunks of 200 records
through the org's write path and ends it ``Completed`` (per-record results, in request order) or
``Failed`` (``stateMessage`` says why). Batches are processed while the job is still open; closing
the job only stops new batches. Aborting it leaves queued batches ``NotProcessed``. A serial job's
batches are processed one after another, a parallel job's together. A query job's batch holds a
SOQL query; its results are listed as result ids, each a set of records.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.bulk_csv import CsvFormat, CsvRejected, read_csv, record_of
from sfcrm_sandbox.models.bulk_jobs import (
    BATCH_PREFIX,
    RESULT_PREFIX,
    Clocked,
    JobFiles,
    JobRejected,
    JobStamp,
)
from sfcrm_sandbox.models.bulk_query import bulk_query, csv_formatters, json_records, run_rows
from sfcrm_sandbox.models.bulk_rows import CHUNK, QUERY_OPERATIONS, Outcome, Target
from sfcrm_sandbox.models.soql import SoqlError
from sfcrm_sandbox.models.values import now_datetime

if TYPE_CHECKING:
    from sfcrm_sandbox.models.bulk_jobs import BulkOrg

JOB_OPEN, JOB_CLOSED, JOB_ABORTED = "Open", "Closed", "Aborted"
QUEUED, IN_PROGRESS, COMPLETED, FAILED, NOT_PROCESSED = (
    "Queued",
    "InProgress",
    "Completed",
    "Failed",
    "NotProcessed",
)
BATCH_STATES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED, NOT_PROCESSED)
MAX_BATCH_RECORDS = 10_000
MAX_BATCH_BYTES = 10_000_000
_REQUEST, _RESULT = "request", "result"
_CSV = CsvFormat()
_CSV_RESULT_HEADER = ("Id", "Success", "Created", "Error")


@dataclass
class ClassicJob:
    """One Bulk API 1.0 job.

    :param stamp: id, creator, dates, API version.
    :param operation: ``insert`` ... ``hardDelete``, ``query``, ``queryAll``.
    :param sobject: the object's canonical name.
    :param target: what an ingest job writes (None for query jobs).
    :param content_type: ``JSON`` or ``CSV``.
    :param serial: batches one after another (``concurrencyMode`` ``Serial``).
    :param external_id_field_name: the upsert key as the job was created with it.
    :param assignment_rule_id: as the job was created with it.
    :param files: the job's batches' requests and results.
    """

    job_type = "Classic"

    stamp: JobStamp
    operation: str
    sobject: str
    target: Target | None
    content_type: str
    serial: bool
    external_id_field_name: str | None
    assignment_rule_id: str | None
    files: JobFiles
    state: str = JOB_OPEN
    batches: list[ClassicBatch] = field(default_factory=list)
    deleted: bool = False

    @property
    def id(self) -> str:
        return self.stamp.id

    @property
    def is_query(self) -> bool:
        return self.operation in QUERY_OPERATIONS

    def batch(self, batch_id: str) -> ClassicBatch | None:
        return next((b for b in self.batches if b.id == batch_id or b.id[:15] == batch_id), None)

    def add_batch(self, org: BulkOrg, body: bytes) -> ClassicBatch:
        if self.state != JOB_OPEN:
            # UNVERIFIED wording.
            raise JobRejected("InvalidJobState", f"Job {self.id} is not open: its state is {self.state}")
        if len(body) > MAX_BATCH_BYTES:
            # UNVERIFIED code and wording; the limit is documented (10 MB per batch).
            raise JobRejected("InvalidBatch", f"Exceeded max size limit of {MAX_BATCH_BYTES} bytes")
        if not org.allocations.batches.take():
            # UNVERIFIED wording.
            raise JobRejected("ExceededQuota", "The daily limit of Bulk API batches is exceeded")
        now, batch_id = now_datetime(), org.new_id(BATCH_PREFIX)
        batch = ClassicBatch(batch_id, self, JobFiles(self.files.root / batch_id), now, now)
        batch.files.write(_REQUEST, body)
        self.batches.append(batch)
        self.stamp.touch()
        org.engine.submit(_BatchWork(batch, org))
        return batch

    def close(self) -> None:
        self._change(JOB_CLOSED)

    def abort(self) -> None:
        self._change(JOB_ABORTED)
        for batch in self.batches:
            if batch.state == QUEUED:
                batch.state = NOT_PROCESSED
                batch.touch()

    def _change(self, state: str) -> None:
        if self.state != JOB_OPEN:
            # UNVERIFIED wording.
            raise JobRejected("InvalidJobState", f"Job {self.id} is not open: its state is {self.state}")
        self.state = state
        self.stamp.touch()

    def count(self, state: str) -> int:
        return sum(1 for batch in self.batches if batch.state == state)

    @property
    def processed(self) -> int:
        return sum(batch.processed for batch in self.batches)

    @property
    def failed(self) -> int:
        return sum(batch.failed for batch in self.batches)


@dataclass
class ClassicBatch:
    """One Bulk API 1.0 batch: its request, its state and its results."""

    id: str
    job: ClassicJob
    files: JobFiles
    created_date: str
    system_modstamp: str
    state: str = QUEUED
    state_message: str | None = None
    processed: int = 0
    failed: int = 0
    result_ids: list[str] = field(default_factory=list)
    clock: Clocked = field(default_factory=Clocked)

    def touch(self) -> None:
        self.system_modstamp = now_datetime()

    @property
    def pending(self) -> bool:
        return self.state in (QUEUED, IN_PROGRESS)

    def request(self) -> bytes:
        return self.files.read(_REQUEST)

    def results(self) -> bytes:
        """Per-record results of an ingest batch (JSON array or CSV)."""
        return self.files.read(_RESULT)

    def query_result(self, result_id: str) -> bytes | None:
        return self.files.read(f"{_RESULT}-{result_id}") if result_id in self.result_ids else None

    def _end(self, state: str, message: str | None = None) -> None:
        self.state = state
        self.state_message = message
        self.clock.finish()
        self.touch()


def _json_result(outcome: Outcome) -> dict[str, Any]:
    errors = [] if outcome.error is None else [outcome.error]
    return {
        "success": outcome.ok,
        "created": outcome.ok and outcome.created,
        "id": outcome.record_id,
        "errors": errors,
    }


class _BatchWork:
    """The org processing one 1.0 batch: its records a chunk per step, or its query in one step."""

    def __init__(self, batch: ClassicBatch, org: BulkOrg) -> None:
        self.batch = batch
        self.org = org
        self.paced = not batch.job.is_query
        self._records: list[dict[str, Any]] | None = None
        self._outcomes: list[Outcome] = []

    @property
    def done(self) -> bool:
        return not self.batch.pending or self.batch.job.deleted

    def ready(self) -> bool:
        job = self.batch.job
        if not job.serial:
            return True
        earlier = itertools.takewhile(lambda b: b is not self.batch, job.batches)
        return not any(batch.pending for batch in earlier)

    def crash(self, message: str) -> None:
        self.batch._end(FAILED, message)

    def step(self) -> int:
        batch = self.batch
        if batch.state == QUEUED:
            batch.state = IN_PROGRESS
            batch.clock.start()
            batch.touch()
            if batch.job.is_query:
                self._query()
                return 0
            self._records = self._parse()
            return 0
        if self._records is None:
            return 0
        start = len(self._outcomes)
        chunk = self._records[start : start + CHUNK]
        if not chunk:
            self._finish()
            return 0
        if not self.org.allocations.records.take(len(chunk)):
            batch._end(
                FAILED, "ExceededQuota : The daily limit of Bulk API records is exceeded"
            )  # UNVERIFIED
            return 0
        assert batch.job.target is not None
        began = time.perf_counter()
        outcomes = self.org.writer.apply(batch.job.target, chunk)
        batch.clock.active_ms += (time.perf_counter() - began) * 1000
        self._outcomes.extend(outcomes)
        batch.processed += len(chunk)
        batch.failed += sum(1 for o in outcomes if not o.ok)
        self.org.usage.records_written += sum(1 for o in outcomes if o.ok)
        return len(chunk)

    def _parse(self) -> list[dict[str, Any]] | None:
        """The batch's records; None (the batch failed) when the request cannot be read."""
        batch, body = self.batch, self.batch.request()
        try:
            if batch.job.content_type == "JSON":
                records = json.loads(body)
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise CsvRejected(
                        "InvalidBatch : The batch must be a JSON array of records"
                    )  # UNVERIFIED
            else:
                data = read_csv(
                    body.decode("utf-8-sig").splitlines(keepends=True), _CSV, strict_line_ending=False
                )
                records = [record_of(data.header, row) for row in data.rows]
        except (ValueError, CsvRejected) as exc:
            message = (
                exc.message
                if isinstance(exc, CsvRejected)
                else f"InvalidBatch : Failed to parse the batch: {exc}"
            )
            batch._end(FAILED, message)
            return None
        if len(records) > MAX_BATCH_RECORDS:
            # UNVERIFIED wording; the limit is documented.
            batch._end(FAILED, f"InvalidBatch : Records in a batch exceed the limit of {MAX_BATCH_RECORDS}")
            return None
        return records

    def _finish(self) -> None:
        batch = self.batch
        if batch.job.content_type == "JSON":
            body = json.dumps([_json_result(o) for o in self._outcomes], separators=(",", ":")).encode()
        else:
            lines = [_CSV.row(_CSV_RESULT_HEADER)]
            for o in self._outcomes:
                error = "" if o.ok else o.error_text()
                lines.append(
                    _CSV.row([o.record_id or "", str(o.ok).lower(), str(o.ok and o.created).lower(), error])
                )
            body = "".join(lines).encode()
        batch.files.write(_RESULT, body)
        self._records, self._outcomes = None, []
        batch._end(COMPLETED)

    def _query(self) -> None:
        batch, job = self.batch, self.batch.job
        began = time.perf_counter()
        try:
            prepared = bulk_query(self.org.store, batch.request().decode("utf-8"))
            rows = run_rows(self.org.store, prepared, include_deleted=job.operation == "queryAll")
        except (SoqlError, UnicodeDecodeError) as exc:
            detail = f"{exc.error_code}: {exc.message}" if isinstance(exc, SoqlError) else str(exc)
            batch._end(FAILED, f"InvalidBatch : Failed to process query: {detail}")
            return
        if job.content_type == "JSON":
            version = f"{job.stamp.api_version:.1f}"
            body = json.dumps(json_records(prepared, rows, version), separators=(",", ":")).encode()
        else:
            formats, names = csv_formatters(prepared), prepared.selected
            lines = [_CSV.row(names)]
            lines += [_CSV.row([f(row.get(n)) for f, n in zip(formats, names, strict=True)]) for row in rows]
            body = "".join(lines).encode()
        result_id = self.org.new_id(RESULT_PREFIX)
        batch.files.write(f"{_RESULT}-{result_id}", body)
        batch.result_ids.append(result_id)
        batch.processed = len(rows)
        batch.clock.active_ms += (time.perf_counter() - began) * 1000
        batch._end(COMPLETED)
