"""Bulk queries: Bulk API 2.0 query jobs, and the rows both Bulk APIs return for a query.

A 2.0 query job is created ``UploadComplete`` (its SOQL checked at once, as the REST API checks it),
queued, run (``InProgress``) and ends ``JobComplete`` with its rows in a CSV file, or ``Failed``.
Results are read in pages: ``maxRecords`` rows from a locator (``docs/salesforce-facts.md``,
"Bulk API 2.0 query"). Bulk queries take the REST API's SOQL subset except ``COUNT()``.

Values as Salesforce writes them: CSV quotes every value, writes null as an empty value, checkboxes
as ``true``/``false`` and date-times in UTC with ``Z``; Bulk API 1.0 JSON writes date-times (and
dates) as milliseconds since 1970 (observed).
"""

from __future__ import annotations

import datetime as dt
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.bulk_csv import CsvFormat
from sfcrm_sandbox.models.bulk_jobs import (
    IN_PROGRESS,
    JOB_COMPLETE,
    TERMINAL,
    UPLOAD_COMPLETE,
    Bulk2Lifecycle,
    Clocked,
    JobFiles,
    JobRejected,
    JobStamp,
)
from sfcrm_sandbox.models.queries import ObjectQuery, object_query
from sfcrm_sandbox.models.soql import SoqlError
from sfcrm_sandbox.models.soql_syntax import unsupported
from sfcrm_sandbox.models.store import OrgStore

if TYPE_CHECKING:
    from sfcrm_sandbox.models.bulk_jobs import BulkOrg

_RESULTS = "results.csv"


def bulk_query(store: OrgStore, soql: str) -> ObjectQuery:
    """``soql`` parsed and checked for a Bulk query; raises :class:`SoqlError`."""
    prepared = object_query(store, soql, select_id=False)
    if prepared.query.is_count:
        # UNVERIFIED wording: the Bulk APIs do not run aggregate queries.
        raise SoqlError("MALFORMED_QUERY", "COUNT() is not supported by Bulk API queries")
    if prepared.nested:
        # Salesforce writes a parent field as a column of its own ("Account.Name"); the sandbox's
        # Bulk results do not (yet): refused rather than written wrong. WHERE may use parent paths.
        raise unsupported(soql, 0, "parent relationship paths in the SELECT of Bulk queries")
    prepared.check(store)
    return prepared


def run_rows(store: OrgStore, prepared: ObjectQuery, *, include_deleted: bool) -> list[dict[str, Any]]:
    rows = prepared.run(store, include_deleted=include_deleted)
    assert isinstance(rows, list)
    return rows


def _field_types(prepared: ObjectQuery) -> dict[str, str]:
    return {info.name: info.type for info in prepared.fields.values()}


def csv_formatters(prepared: ObjectQuery) -> list[Callable[[Any], str]]:
    """How each selected column's values are written in CSV results."""
    types = _field_types(prepared)

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def instant(value: Any) -> str:
        # Stored as 2024-05-01T10:00:00.000+0000; Bulk CSV writes 2024-05-01T10:00:00.000Z.
        return "" if value is None else str(value)[:23] + "Z"

    return [instant if types.get(name) == "datetime" else text for name in prepared.selected]


def _epoch_ms(value: str, kind: str) -> int:
    if kind == "date":
        moment = dt.datetime.fromisoformat(value[:10]).replace(tzinfo=dt.timezone.utc)
    else:
        moment = dt.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def json_records(prepared: ObjectQuery, rows: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """Rows as Bulk API 1.0 JSON results write them: ``attributes``, then the fields."""
    types = _field_types(prepared)
    timed = [name for name in prepared.selected if types.get(name) in ("date", "datetime")]
    out = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {"type": prepared.sobject}}
        if row.get("Id"):
            record["attributes"]["url"] = f"/services/data/v{version}/sobjects/{prepared.sobject}/{row['Id']}"
        record.update(row)
        for name in timed:
            if record.get(name) is not None:
                record[name] = _epoch_ms(record[name], types[name])
        out.append(record)
    return out


@dataclass
class QueryJob(Bulk2Lifecycle):
    """One Bulk API 2.0 query job.

    :param stamp: id, creator, dates, API version.
    :param operation: ``query`` or ``queryAll`` (deleted records too).
    :param prepared: the checked query.
    :param fmt: the CSV's delimiter and line ending.
    :param files: the job's results.
    """

    job_type = "V2Query"

    stamp: JobStamp
    operation: str
    prepared: ObjectQuery
    fmt: CsvFormat
    files: JobFiles
    state: str = UPLOAD_COMPLETE
    error_message: str | None = None
    processed: int = 0
    deleted: bool = False
    clock: Clocked = field(default_factory=Clocked)
    # Byte offset of each result row in the results file, then the file's end.
    _offsets: array = field(default_factory=lambda: array("q"))
    _header: bytes = b""

    @property
    def sobject(self) -> str:
        return self.prepared.sobject

    @property
    def soql(self) -> str:
        return self.prepared.query.soql

    def queue(self, org: BulkOrg) -> None:
        org.engine.submit(_QueryWork(self, org))

    def page(self, start: int, max_records: int | None) -> tuple[bytes, int | None, int]:
        """Up to ``max_records`` rows from row ``start``: the CSV (header first), where the next page
        starts (None: this is the last), how many rows it holds."""
        if self.state != JOB_COMPLETE:
            # UNVERIFIED code and wording.
            raise JobRejected("INVALIDJOBSTATE", f"Results are not available: the job is {self.state}")
        total = len(self._offsets) - 1
        if not 0 <= start <= max(total, 0):
            raise JobRejected("INVALIDLOCATOR", "The locator is not valid for this job")  # UNVERIFIED
        end = total if max_records is None else min(total, start + max_records)
        body = b""
        if end > start:
            with self.files.path(_RESULTS).open("rb") as results:
                results.seek(self._offsets[start])
                body = results.read(self._offsets[end] - self._offsets[start])
        return self._header + body, (end if end < total else None), end - start

    def _store(self, rows: list[dict[str, Any]]) -> int:
        """Write the result rows; returns the bytes written."""
        line = self.fmt.row
        formats = csv_formatters(self.prepared)
        names = self.prepared.selected
        self._header = line(names).encode()
        offset = 0
        self._offsets = array("q", [0])
        with self.files.path(_RESULTS).open("wb") as out:
            for row in rows:
                data = line([fmt(row.get(name)) for fmt, name in zip(formats, names, strict=True)]).encode()
                out.write(data)
                offset += len(data)
                self._offsets.append(offset)
        return offset


class _QueryWork:
    """The org running one query job (a single step; queries are not held to the write rate)."""

    paced = False

    def __init__(self, job: QueryJob, org: BulkOrg) -> None:
        self.job = job
        self.org = org
        self._over = False

    @property
    def done(self) -> bool:
        return self._over or self.job.deleted or self.job.state in TERMINAL

    def ready(self) -> bool:
        return True

    def crash(self, message: str) -> None:
        self.job.fail(message)
        self._over = True

    def step(self) -> int:
        job = self.job
        self._over = True
        job.state = IN_PROGRESS
        job.clock.start()
        began = time.perf_counter()
        try:
            rows = run_rows(self.org.store, job.prepared, include_deleted=job.operation == "queryAll")
        except SoqlError as exc:
            job.fail(f"{exc.error_code}: {exc.message}")
            return 0
        size = job._store(rows)
        job.processed = len(rows)
        job.clock.active_ms += (time.perf_counter() - began) * 1000
        self.org.allocations.query_storage_mb.spend(size / (1024 * 1024))
        job.end(JOB_COMPLETE)
        return 0
