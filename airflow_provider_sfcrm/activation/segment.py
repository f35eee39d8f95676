"""The export pipeline: stream a segment, validate, deduplicate, write, and account for every row.

Two passes over the input keep memory bounded whatever the segment size:

1. the identity column alone, to count rows and find duplicates across the whole segment (the
   last row of an identity wins; see :mod:`.dedup`, which keeps the keys on disk);
2. every column, chunk by chunk: rows failing a client-side check go to the rejected file, the
   others become records sent by the injected ``write`` function. Records are sent in whole
   multiples of ``batch_size`` and the remainder is carried to the next chunk, so the number of
   write calls is exactly ``ceil(rows sent / batch_size)``.

A ``stop`` event (the operator's ``on_kill``) ends sending early: requests in flight finish, and
every row not sent — those of the current chunk and all rows not read yet — is rejected as
``TASK_STOPPED``, so the rejected file replays exactly what is left and the counts still add up.

Row numbers are 0-based positions in the input (for several files: in the order the source
lists them). Pure: no Airflow, no HTTP (the writer is a parameter).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from airflow_provider_sfcrm.activation.dedup import DuplicateFinder, identity_keys
from airflow_provider_sfcrm.activation.mapping import build_records
from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.activation.report import SOURCE_CLIENT, SOURCE_SALESFORCE, RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import (
    REQUEST_LIMIT_EXCEEDED,
    TASK_STOPPED,
    UNKNOWN_OUTCOME,
    RecordError,
    RecordResult,
)
from airflow_provider_sfcrm.activation.row_validation import (
    DUPLICATE_IN_SEGMENT,
    MALFORMED_ID,
    MISSING_IDENTITY,
    RowRules,
    as_text,
    validate_chunk,
)

#: Sends records, calling ``progress(n)`` as batches finish; one result per record, in order.
WriteFn = Callable[[list[dict[str, Any]], Callable[[int], None]], list[RecordResult]]

# Outcomes decided on this side even though the row went to the writer (e.g. connection lost).
_CLIENT_SIDE_WRITE_CODES = frozenset({UNKNOWN_OUTCOME, TASK_STOPPED})
# When a row fails several checks, the error listed first (and counted) is the most basic one.
_FIRST_CODES = {MISSING_IDENTITY: 0, MALFORMED_ID: 1, DUPLICATE_IN_SEGMENT: 2}
_NOT_SENT_LIMIT = "not sent: the org's daily API limit was reached earlier in this export; replay later"
_NOT_SENT_STOPPED = "not sent: the task was stopped before this row was sent; replay it"


class SegmentChangedError(RuntimeError):
    """The segment gave a different number of rows in the second pass than in the first."""


class SegmentSource(Protocol):
    """A segment read in chunks; ``batches`` restarts from the first row at each call."""

    schema: pa.Schema

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]: ...


@dataclass
class ExportCounts:
    """Row counts of one export; ``total == written + rejected``.

    ``created + updated + created_or_updated == written`` except in an upsert dry run, where the
    three are None. ``created_or_updated`` counts upserted rows whose split Salesforce did not
    tell (an answer lost and the request sent again); ``created_or_updated_rows`` lists them as
    ``[first, last]`` ranges of row numbers. ``stopped`` is True when a stop ended the export early.
    """

    total: int = 0
    written: int = 0
    created: int | None = 0
    updated: int | None = 0
    created_or_updated: int | None = 0
    created_or_updated_rows: list[list[int]] = field(default_factory=list)
    rejected: int = 0
    rejected_by_code: Counter[str] = field(default_factory=Counter)
    stopped: bool = False

    def add_unknown_split(self, rows: Sequence[int]) -> None:
        """Count written rows whose created/updated split is unknown (``rows`` in increasing order)."""
        if self.created_or_updated is None:
            return
        self.created_or_updated += len(rows)
        ranges = self.created_or_updated_rows
        for row in rows:
            if ranges and ranges[-1][1] == row - 1:
                ranges[-1][1] = row
            else:
                ranges.append([row, row])


@dataclass
class _Pending:
    """Valid rows waiting to be sent (fewer than a batch between chunks); no records in a dry run."""

    records: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def add(self, table: pa.Table, records: list[dict[str, Any]], rows: list[int]) -> None:
        self.records += records
        self.row_numbers += rows
        self.tables.append(table)

    def take(self, count: int) -> tuple[list[dict[str, Any]], list[int], pa.Table]:
        table = pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]
        taken = (self.records[:count], self.row_numbers[:count], table.slice(0, count))
        del self.records[:count], self.row_numbers[:count]
        self.tables = [table.slice(count)] if table.num_rows > count else []
        return taken


class SegmentExport:
    """Run one export of ``source`` under ``rules``.

    :param source: the segment (see :class:`SegmentSource`).
    :param rules: row rules (and the mapping) from :func:`~.row_validation.rules_from_describe`.
    :param rejected: where rejected rows go.
    :param write: sends records (the hook's ``upsert_records``); None for a dry run: nothing is
        sent and the rows that would be sent count as written.
    :param batch_size: records per write request (200 is Salesforce's maximum).
    :param key_case_sensitive: whether the external-id field matches case-sensitively.
    :param log: progress lines go to ``log(fmt, *args)``; None for silence.
    :param progress_interval_s: minimum seconds between progress lines.
    :param stop: when set, nothing more is sent (see the module's docstring); the writer should
        watch the same event so that it stops between batches.
    :param work_dir: where the duplicate finder keeps its temporary database (None: system temp).
    """

    def __init__(
        self,
        source: SegmentSource,
        rules: RowRules,
        rejected: RejectedRowsWriter,
        *,
        write: WriteFn | None,
        batch_size: int = 200,
        key_case_sensitive: bool = False,
        log: Callable[..., object] | None = None,
        progress_interval_s: float = 5.0,
        stop: threading.Event | None = None,
        work_dir: str | None = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.source = source
        self.rules = rules
        self.mapping = rules.mapping
        self.rejected = rejected
        self.write = write
        self.batch_size = batch_size
        self.key_case_sensitive = key_case_sensitive
        self.log = log or (lambda *args: None)
        self.progress_interval_s = progress_interval_s
        self.stop = stop or threading.Event()
        self.work_dir = work_dir
        self.counts = ExportCounts()
        self._limit_reached = False
        if write is None and self.mapping.operation == "upsert":
            # Only Salesforce knows which upserted rows already exist.
            self.counts.created = self.counts.updated = self.counts.created_or_updated = None

    def run(self) -> ExportCounts:
        with DuplicateFinder(self.work_dir) as duplicates:
            total = self._first_pass(duplicates)
            self.counts.total = total
            self.progress = ProgressReporter(total, self.log, interval_s=self.progress_interval_s)
            pending = _Pending()
            offset = 0
            for batch in self.source.batches():
                table = pa.Table.from_batches([batch])
                if self.stop.is_set():
                    self._flush(pending, len(pending))  # the rows held back first: row order is kept
                    self._reject_unsent(table, offset)
                else:
                    self._chunk(table, offset, duplicates, pending)
                    self._flush(pending, len(pending) - len(pending) % self.batch_size)
                offset += table.num_rows
            self._flush(pending, len(pending))
        if offset != total:
            raise SegmentChangedError(f"the segment changed while it was read: {total} rows, then {offset}")
        self.counts.rejected = self.rejected.rejected
        self.counts.rejected_by_code = Counter(self.rejected.by_code)
        self.counts.stopped = self.stop.is_set()
        self.progress.finish()
        return self.counts

    def _first_pass(self, duplicates: DuplicateFinder) -> int:
        column = self.mapping.identity_column
        if column is None:  # insert: no identity, nothing to deduplicate
            first = self.mapping.columns[:1] or None
            return sum(b.num_rows for b in self.source.batches(first))
        by_id = self.mapping.operation == "update"
        for batch in self.source.batches([column]):
            duplicates.add(
                identity_keys(batch.column(0), by_salesforce_id=by_id, case_sensitive=self.key_case_sensitive)
            )
        return duplicates.rows

    def _identities(self, table: pa.Table) -> list[str | None]:
        if self.mapping.identity_column is None:
            return [None] * table.num_rows
        return as_text(table.column(self.mapping.identity_column)).to_pylist()

    def _chunk(self, table: pa.Table, offset: int, duplicates: DuplicateFinder, pending: _Pending) -> None:
        errors = validate_chunk(table, self.rules)
        key = self.mapping.identity_field
        if self.mapping.identity_column is not None:
            rows, winners = duplicates.within(offset, offset + table.num_rows)
            for row, winner in zip(rows.tolist(), winners.tolist(), strict=True):
                errors.setdefault(row - offset, []).append(
                    RecordError(
                        DUPLICATE_IN_SEGMENT,
                        f"the same {key} appears again at row {winner}; the last row wins",
                        (key,) if key else (),
                    )
                )
        bad = sorted(errors)
        if bad:
            rows = [offset + pos for pos in bad]
            errs = [sorted(errors[pos], key=lambda e: _FIRST_CODES.get(e.status_code, 9)) for pos in bad]
            refused = table.take(bad)
            self.rejected.write(refused, rows, self._identities(refused), errs, SOURCE_CLIENT)
            self.progress.advance(len(bad))
        if len(bad) < table.num_rows:
            good = np.delete(np.arange(table.num_rows), bad)
            kept = table.take(good) if bad else table
            # A dry run sends nothing, so it builds no records: the checks above are what it proves.
            records = build_records(kept, self.mapping) if self.write is not None else []
            pending.add(kept, records, (good + offset).tolist())

    def _reject_unsent(self, table: pa.Table, offset: int) -> None:
        """After a stop: the rows of a chunk not read before are rejected as they are, unchecked."""
        error = RecordError(TASK_STOPPED, _NOT_SENT_STOPPED)
        self.rejected.write_uniform(table, offset, self._identity_array(table), error, SOURCE_CLIENT)
        self.progress.advance(table.num_rows)

    def _identity_array(self, table: pa.Table) -> pa.Array:
        if self.mapping.identity_column is None:
            return pa.nulls(table.num_rows, pa.string())
        return as_text(table.column(self.mapping.identity_column))

    def _flush(self, pending: _Pending, count: int) -> None:
        if count <= 0:
            return
        records, rows, table = pending.take(count)
        if self.write is None:
            self._count_written(count, created=None)
            self.progress.advance(count)
            return
        reported = [0]

        def on_progress(done: int) -> None:
            reported[0] += done
            self.progress.advance(done)

        if self._limit_reached or self.stop.is_set():
            # Once Salesforce refused for the day, asking again would only spend refused calls.
            code, message = (
                (TASK_STOPPED, _NOT_SENT_STOPPED)
                if self.stop.is_set()
                else (REQUEST_LIMIT_EXCEEDED, _NOT_SENT_LIMIT)
            )
            results = [RecordResult.failure(i, code, message) for i in range(count)]
        else:
            results = self.write(records, on_progress)
        if len(results) != count:
            raise RuntimeError(f"the writer returned {len(results)} results for {count} records")
        failed = [pos for pos, result in enumerate(results) if not result.success]
        self._limit_reached = self._limit_reached or any(
            REQUEST_LIMIT_EXCEEDED in results[p].status_codes for p in failed
        )
        self._count_results(results, rows)
        if failed:
            errs = [
                list(results[p].errors) or [RecordError("UNKNOWN_ERROR", "no error given")] for p in failed
            ]
            sources = [
                SOURCE_CLIENT if e[0].status_code in _CLIENT_SIDE_WRITE_CODES else SOURCE_SALESFORCE
                for e in errs
            ]
            refused = table.take(failed)
            self.rejected.write(refused, [rows[p] for p in failed], self._identities(refused), errs, sources)
        if reported[0] < count:
            self.progress.advance(count - reported[0])

    def _count_results(self, results: list[RecordResult], rows: list[int]) -> None:
        """Count the written rows; on upsert, Salesforce's ``created`` flag splits them."""
        written = [pos for pos, result in enumerate(results) if result.success]
        if self.mapping.operation != "upsert":
            self._count_written(len(written), created=self.mapping.operation == "insert")
            return
        created = sum(1 for pos in written if results[pos].created is True)
        updated = sum(1 for pos in written if results[pos].created is False)
        self._count_written(created, created=True)
        self._count_written(updated, created=False)
        unknown = [rows[pos] for pos in written if results[pos].created is None]
        self.counts.written += len(unknown)
        self.counts.add_unknown_split(unknown)

    def _count_written(self, n: int, *, created: bool | None) -> None:
        self.counts.written += n
        if self.counts.created is None or self.counts.updated is None:  # upsert dry run
            return
        operation = self.mapping.operation
        if operation == "insert" or (operation == "upsert" and created):
            self.counts.created += n
        else:
            self.counts.updated += n
