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
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.dedup import DuplicateFinder, identity_keys
from airflow_provider_sfcrm.activation.mapping import CREATING, build_records
from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.activation.report import SOURCE_CLIENT, SOURCE_SALESFORCE, RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import (
    REQUEST_LIMIT_EXCEEDED,
    TASK_STOPPED,
    UNKNOWN_OUTCOME,
    RecordError,
    RecordResult,
)
from airflow_provider_sfcrm.activation.row_filter import RowFilter
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


def duplicate_error(key: str | None, winner: int) -> RecordError:
    """Why an earlier row of a repeated identity is rejected."""
    return RecordError(
        DUPLICATE_IN_SEGMENT,
        f"the same {key} appears again at row {winner}; the last row wins",
        (key,) if key else (),
    )


class SegmentChangedError(RuntimeError):
    """The segment gave a different number of rows in the second pass than in the first."""


class SegmentSource(Protocol):
    """A segment read in chunks; ``batches`` restarts from the first row at each call."""

    schema: pa.Schema

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]: ...


@dataclass
class ExportCounts:
    """Row counts of one export; ``total == written + rejected + filtered + unchanged + stale``.

    ``filtered`` counts the rows a ``row_filter`` left out: never checked further, never sent.

    ``unchanged`` and ``stale`` count only with a sync state: rows whose values Salesforce already
    holds, and rows older than what it holds. ``total`` then also counts the people who vanished
    from the segment and were exited (``vanished``, a part of ``total``).

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
    unchanged: int = 0
    stale: int = 0
    vanished: int = 0
    filtered: int = 0
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
    :param row_filter: only the rows it selects are checked and sent; the others are counted
        ``filtered`` and take no part in anything else (a filtered-out row is no duplicate of a kept
        one). After a stop, the rows not read yet are rejected unfiltered (replaying them filters).
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
        row_filter: RowFilter | None = None,
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
        self.row_filter = row_filter
        self.counts = ExportCounts()
        self._limit_reached = False
        self._selected = 0  # rows the row filter selects (all without one), counted by the first pass
        if write is None and self.mapping.operation == "upsert":
            # Only Salesforce knows which upserted rows already exist.
            self.counts.created = self.counts.updated = self.counts.created_or_updated = None

    def run(self) -> ExportCounts:
        with self._pairing() as pairing:
            total = self._first_pass(pairing)
            self.counts.total += total
            self.progress = ProgressReporter(self.counts.total, self.log, interval_s=self.progress_interval_s)
            pending = _Pending()
            offset = 0
            for batch in self.source.batches():
                table = pa.Table.from_batches([batch])
                if self.stop.is_set():
                    self._flush(pending, len(pending))  # the rows held back first: row order is kept
                    self._reject_unsent(table, offset, pairing)
                else:
                    self._chunk(table, offset, pairing, pending)
                    self._flush(pending, len(pending) - len(pending) % self.batch_size)
                offset += table.num_rows
            if offset != total:
                raise SegmentChangedError(
                    f"the segment changed while it was read: {total} rows, then {offset}"
                )
            self._finish(pairing, pending)
        self.counts.rejected = self.rejected.rejected
        self.counts.rejected_by_code = Counter(self.rejected.by_code)
        self.counts.stopped = self.stop.is_set()
        self.progress.finish()
        return self.counts

    def _pairing(self) -> Any:
        """What the first pass fills and the second reads (a context manager): the duplicate finder."""
        return DuplicateFinder(self.work_dir)

    def _finish(self, pairing: Any, pending: _Pending) -> None:
        """After the last chunk: send the rows held back (a sync state adds the people who vanished)."""
        self._flush(pending, len(pending))

    def _first_pass(self, duplicates: DuplicateFinder) -> int:
        column = self.mapping.identity_column
        filtering = self.row_filter.columns if self.row_filter else ()
        if column is None:  # insert, publish: no identity, nothing to deduplicate
            rows = 0
            for batch in self.source.batches(list(filtering) or self.mapping.columns[:1] or None):
                rows += batch.num_rows
                self._selected += self._selected_in(batch)
            return rows
        by_id = self.mapping.operation == "update"
        for batch in self.source.batches([column, *(c for c in filtering if c != column)]):
            keys = identity_keys(
                batch.column(0), by_salesforce_id=by_id, case_sensitive=self.key_case_sensitive
            )
            if self.row_filter is not None:  # a filtered-out row is nobody's duplicate: no key
                selected = self.row_filter.mask(pa.Table.from_batches([batch]))
                keys = pc.if_else(pa.array(selected), keys, pa.scalar(None, keys.type))
                self._selected += int(np.count_nonzero(selected))
            else:
                self._selected += batch.num_rows
            duplicates.add(keys)
        return duplicates.rows

    def _selected_in(self, batch: pa.RecordBatch) -> int:
        """How many rows of ``batch`` the row filter selects (all without one)."""
        if self.row_filter is None:
            return batch.num_rows
        return int(np.count_nonzero(self.row_filter.mask(pa.Table.from_batches([batch]))))

    def _rows_to_send(self, duplicates: DuplicateFinder) -> int:
        """The rows the first pass found to send: those the row filter selects (all without one), less
        the earlier rows of a repeated identity. Rows a check of the second pass refuses (a missing or
        malformed identity, a value the field cannot hold) are among them: only that pass finds them.
        """
        losers = duplicates.losers() if self.mapping.identity_column is not None else 0
        return self._selected - losers

    def _identities(self, table: pa.Table) -> list[str | None]:
        if self.mapping.identity_column is None:
            return [None] * table.num_rows
        return as_text(table.column(self.mapping.identity_column)).to_pylist()

    def _chunk(self, table: pa.Table, offset: int, duplicates: DuplicateFinder, pending: _Pending) -> None:
        end = offset + table.num_rows
        table, numbers = self._filtered(table, offset)
        errors = validate_chunk(table, self.rules)
        key = self.mapping.identity_field
        if self.mapping.identity_column is not None:
            rows, winners = duplicates.within(offset, end)
            # Filtered-out rows have no key, so every duplicate is a kept row: find its position.
            positions = np.searchsorted(numbers, rows)
            for pos, winner in zip(positions.tolist(), winners.tolist(), strict=True):
                errors.setdefault(pos, []).append(duplicate_error(key, winner))
        bad = self._reject_invalid(table, offset, errors, numbers)
        if len(bad) < table.num_rows:
            good = np.delete(np.arange(table.num_rows), bad)
            kept = table.take(good) if bad else table
            # A dry run sends nothing, so it builds no records: the checks above are what it proves.
            records = build_records(kept, self.mapping) if self.write is not None else []
            pending.add(kept, records, numbers[good].tolist())

    def _filtered(self, table: pa.Table, offset: int) -> tuple[pa.Table, np.ndarray]:
        """The rows of ``table`` the row filter keeps and their row numbers; the others are counted
        ``filtered`` (without a filter: all rows)."""
        numbers = np.arange(offset, offset + table.num_rows)
        if self.row_filter is None:
            return table, numbers
        kept = self.row_filter.kept(table)
        if kept.size == table.num_rows:
            return table, numbers
        self.counts.filtered += table.num_rows - int(kept.size)
        self.progress.advance(table.num_rows - int(kept.size))
        return table.take(kept), numbers[kept]

    def _reject_invalid(
        self,
        table: pa.Table,
        offset: int,
        errors: dict[int, list[RecordError]],
        numbers: np.ndarray | None = None,
    ) -> list[int]:
        """Reject the rows of ``table`` that have ``errors`` (by position); return those positions.

        Row numbers are ``offset + position``, or ``numbers[position]`` when given (a filtered chunk).
        """
        bad = sorted(errors)
        if bad:
            rows = numbers[bad].tolist() if numbers is not None else [offset + pos for pos in bad]
            errs = [sorted(errors[pos], key=lambda e: _FIRST_CODES.get(e.status_code, 9)) for pos in bad]
            refused = table.take(bad)
            self.rejected.write(refused, rows, self._identities(refused), errs, SOURCE_CLIENT)
            self.progress.advance(len(bad))
        return bad

    def _reject_unsent(self, table: pa.Table, offset: int, pairing: Any = None) -> None:
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
        if self.write is None:  # a dry run: what would be sent counts as written
            for operation, n in self._operation_counts(table).items():
                self._count_written(n, created=operation in CREATING)
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
            results = self._send(records, table, on_progress)
        if len(results) != count:
            raise RuntimeError(f"the writer returned {len(results)} results for {count} records")
        failed = [pos for pos, result in enumerate(results) if not result.success]
        self._limit_reached = self._limit_reached or any(
            REQUEST_LIMIT_EXCEEDED in results[p].status_codes for p in failed
        )
        self._count_results(results, rows, table)
        self._after_write(table, results)
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

    def _send(
        self, records: list[dict[str, Any]], table: pa.Table, on_progress: Callable[[int], None]
    ) -> list[RecordResult]:
        """Send the records of the rows of ``table`` (one result per record, in order)."""
        return self.write(records, on_progress)

    def _after_write(self, table: pa.Table, results: list[RecordResult]) -> None:
        """Called with every batch's results (nothing to record without a sync state)."""

    def _operations(self, table: pa.Table) -> list[str]:
        """How each row of ``table`` is written: ``insert``, ``update`` or ``upsert``."""
        return [self.mapping.operation] * table.num_rows

    def _operation_counts(self, table: pa.Table) -> dict[str, int]:
        """How many rows of ``table`` each operation writes."""
        return {self.mapping.operation: table.num_rows}

    def _count_results(self, results: list[RecordResult], rows: list[int], table: pa.Table) -> None:
        """Count the written rows; on upsert, Salesforce's ``created`` flag splits them."""
        unknown = []
        for pos, operation in enumerate(self._operations(table)):
            result = results[pos]
            if not result.success:
                continue
            created = True if operation in CREATING else False if operation == "update" else result.created
            if created is None:
                unknown.append(rows[pos])
            else:
                self._count_written(1, created=created)
        self.counts.written += len(unknown)
        self.counts.add_unknown_split(unknown)

    def _count_written(self, n: int, *, created: bool | None) -> None:
        self.counts.written += n
        if self.counts.created is None or self.counts.updated is None:  # upsert dry run
            return
        if created:
            self.counts.created += n
        else:
            self.counts.updated += n
