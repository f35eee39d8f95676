"""Bulk API 2.0 ingest jobs (``docs/salesforce-facts.md``, "Bulk API 2.0 ingest").

A job is created ``Open``; its CSV is uploaded in one ``PUT`` (Salesforce accepts a second one but
then refuses to close the job); ``UploadComplete`` queues it; the org processes it
(``InProgress``) in internal batches of 10,000 records, each a batch of the daily allocation, and
those in chunks of 200 records, each one transaction through the org's write path; it ends
``JobComplete``, ``Failed`` (a refused header, a spent allocation) or ``Aborted``. Every row ends in
exactly one of the successful, failed and unprocessed results.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sfcrm_sandbox.models.bulk_csv import CsvData, CsvFormat, CsvRejected, read_csv, record_of
from sfcrm_sandbox.models.bulk_jobs import (
    ABORTED,
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    OPEN,
    TERMINAL,
    UPLOAD_COMPLETE,
    Bulk2Lifecycle,
    Clocked,
    JobFiles,
    JobRejected,
    JobStamp,
)
from sfcrm_sandbox.models.bulk_rows import CHUNK, Outcome, Target

if TYPE_CHECKING:
    from sfcrm_sandbox.models.bulk_jobs import BulkOrg

#: Records per internal batch; each counts against the org's daily batches.
INTERNAL_BATCH = 10_000
_DATA, _SUCCESS, _FAILED, _UNPROCESSED = "data.csv", "success.csv", "failed.csv", "unprocessed.csv"
RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")


@dataclass
class IngestJob(Bulk2Lifecycle):
    """One Bulk API 2.0 ingest job.

    :param stamp: id, creator, dates, API version.
    :param target: object, operation, upsert key, assignment rules.
    :param external_id_field_name: the upsert key as the job was created with it.
    :param fmt: the CSV's delimiter and line ending.
    :param files: the job's data and results.
    :param assignment_rule_id: as the job was created with it.
    """

    job_type = "V2Ingest"

    stamp: JobStamp
    target: Target
    external_id_field_name: str | None
    fmt: CsvFormat
    files: JobFiles
    assignment_rule_id: str | None = None
    state: str = OPEN
    error_message: str | None = None
    uploads: int = 0
    processed: int = 0
    failed: int = 0
    header_line: str = ""
    deleted: bool = False
    clock: Clocked = field(default_factory=Clocked)

    @property
    def sobject(self) -> str:
        return self.target.sobject

    @property
    def operation(self) -> str:
        return self.target.operation

    def upload(self, data: bytes, limit_mb: float) -> None:
        """``PUT .../batches``: keep the CSV (Salesforce counts its size after base64 encoding)."""
        if self.state != OPEN:
            # UNVERIFIED wording.
            raise JobRejected("INVALIDJOBSTATE", f"Job {self.id} is not in the Open state: {self.state}")
        if 4 * math.ceil(len(data) / 3) > limit_mb * 1024 * 1024:
            # UNVERIFIED code and wording; the limit is documented (150 MB after base64).
            raise JobRejected(
                "INVALIDBATCH", f"The upload exceeds the {limit_mb:g} MB limit (after base64 encoding)"
            )
        self.uploads += 1
        if self.uploads == 1:
            self.files.write(_DATA, data)  # a second upload only makes the job impossible to close
        self.stamp.touch()

    def upload_complete(self, org: BulkOrg) -> None:
        """``PATCH {"state": "UploadComplete"}``: queue the job."""
        if self.state != OPEN:
            raise JobRejected("INVALIDJOBSTATE", f"Job {self.id} is not in the Open state: {self.state}")
        if self.uploads > 1:
            # Salesforce's message, typo included (observed); code UNVERIFIED. The job stays Open.
            raise JobRejected(
                "BULK_API_ERROR",
                f"Found multipe contents for job: <{self.id[:15]}>, please 'Close' / 'Abort' / 'Delete' "
                "the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        self.state = UPLOAD_COMPLETE
        self.stamp.touch()
        org.engine.submit(_IngestWork(self, org))

    def results(self, kind: str) -> bytes:
        """The CSV of ``kind`` (one of :data:`RESULT_KINDS`): what is known so far."""
        if kind == "unprocessedrecords":
            if self.processed == 0 and self.state in (FAILED, ABORTED):
                return self.files.read(_DATA)  # nothing was processed: every uploaded row
            return (self.header_line + self.fmt.line_ending).encode() + self.files.read(_UNPROCESSED)
        columns = ("sf__Id", "sf__Created") if kind == "successfulResults" else ("sf__Id", "sf__Error")
        # Salesforce quotes its own columns and repeats the uploaded header as it was sent (observed).
        head = self.fmt.delimiter.join(
            [f'"{name}"' for name in columns] + ([self.header_line] * bool(self.header_line))
        )
        name = _SUCCESS if kind == "successfulResults" else _FAILED
        return (head + self.fmt.line_ending).encode() + self.files.read(name)


class _IngestWork:
    """The org processing one ingest job's data, a chunk per step."""

    paced = True

    def __init__(self, job: IngestJob, org: BulkOrg) -> None:
        self.job = job
        self.org = org
        self._data: CsvData | None = None
        self._in_batch = 0
        self._over = False

    @property
    def done(self) -> bool:
        return self._over or self.job.deleted

    def ready(self) -> bool:
        return True

    def crash(self, message: str) -> None:
        self._stop(message)

    def step(self) -> int:
        job = self.job
        if job.state == ABORTED:
            self._stop()
            return 0
        if self._data is None:
            self._begin()
            return 0
        rows = list(itertools.islice(self._data.rows, CHUNK))
        if not rows:
            job.end(JOB_COMPLETE)
            self._over = True
            return 0
        allocations = self.org.allocations
        if self._in_batch in (0, INTERNAL_BATCH) and not allocations.batches.take():
            self._stop("ExceededQuota : The daily limit of Bulk API batches is exceeded", rows)
            return 0
        self._in_batch = self._in_batch % INTERNAL_BATCH + len(rows)
        if not allocations.records.take(len(rows)):
            self._stop("ExceededQuota : The daily limit of Bulk API records is exceeded", rows)
            return 0
        began = time.perf_counter()
        outcomes = self.org.writer.apply(job.target, [record_of(self._data.header, row) for row in rows])
        job.clock.active_ms += (time.perf_counter() - began) * 1000
        self._record(rows, outcomes)
        return len(rows)

    def _begin(self) -> None:
        """Start processing: check the CSV as a whole (a bad header or row fails the job untouched)."""
        job = self.job
        job.state = IN_PROGRESS
        job.clock.start()
        job.stamp.touch()
        if job.uploads == 0:
            # UNVERIFIED: Salesforce's handling of a job closed without data.
            self._stop("InvalidBatch : No data was uploaded for this job")
            return
        try:
            data = read_csv(job.files.lines(_DATA), job.fmt)
            job.header_line = data.header_line
            self._check_header(data.header)
            for _ in data.rows:  # every row's width, before any is written
                pass
        except CsvRejected as rejected:
            self._stop(rejected.message)
            return
        except UnicodeDecodeError as exc:
            self._stop(
                f"InvalidBatch : The data is not UTF-8: {exc.reason} at byte {exc.start}"
            )  # UNVERIFIED
            return
        self._data = read_csv(job.files.lines(_DATA), job.fmt)

    def _check_header(self, header: list[str]) -> None:
        visible = self.org.store.visible_fields(self.job.target.sobject)
        seen: set[str] = set()
        for name in header:
            lower = name.lower()
            if lower in seen:
                raise CsvRejected(f"InvalidBatch : Duplicate field name: {name}")  # UNVERIFIED wording
            seen.add(lower)
            # Relationship columns (Account.Ext__c) are not modelled: refused like unknown fields.
            if lower != "id" and lower not in visible:
                raise CsvRejected(f"InvalidBatch : Field name not found : {name}")
        if self.job.target.operation in ("delete", "hardDelete") and "id" not in seen:
            raise CsvRejected("InvalidBatch : Field name not found : Id")

    def _record(self, rows: list[list[str]], outcomes: list[Outcome]) -> None:
        job, row_of = self.job, self.job.fmt.row
        pairs = list(zip(rows, outcomes, strict=True))
        succeeded = [row_of([o.record_id, str(o.created).lower(), *row]) for row, o in pairs if o.ok]
        failed = [row_of([o.record_id or "", o.error_text(), *row]) for row, o in pairs if not o.ok]
        if succeeded:
            job.files.append(_SUCCESS, "".join(succeeded))
        if failed:
            job.files.append(_FAILED, "".join(failed))
        job.processed += len(rows)
        job.failed += len(failed)
        self.org.usage.records_written += len(succeeded)

    def _stop(self, failure: str | None = None, pending: list[list[str]] | None = None) -> None:
        """End the job early: every row not processed goes to the unprocessed records."""
        job = self.job
        if self._data is not None:
            rows = itertools.chain(pending or [], self._data.rows)
            try:
                job.files.append(_UNPROCESSED, "".join(job.fmt.row(row) for row in rows))
            except CsvRejected:
                pass  # checked in _begin; cannot happen
            self._data = None
        if failure is not None and job.state not in TERMINAL:
            job.fail(failure)
        self._over = True
