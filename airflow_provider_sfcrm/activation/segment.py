"""The export pipeline: stream a segment, validate, deduplicate, write, and account for every row.

Two passes over the input keep memory bounded whatever the segment size:

1. the identity column alone, to count rows and find duplicates across chunks (the last row of an
   identity wins, see :mod:`.dedup`);
2. every column, chunk by chunk: rows failing a client-side check go to the rejected file, the
   others become records sent by the injected ``write`` function. Records are sent in whole
   multiples of ``batch_size`` and the remainder is carried to the next chunk, so the number of
   write calls is exactly ``ceil(rows sent / batch_size)``.

Row numbers are 0-based positions in the input (for several files: in the order the source
lists them). Pure: no Airflow, no HTTP (the writer is a parameter).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from airflow_provider_sfcrm.activation.dedup import find_duplicates, identity_keys
from airflow_provider_sfcrm.activation.mapping import build_records
from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.activation.report import SOURCE_CLIENT, SOURCE_SALESFORCE, RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import (
    REQUEST_LIMIT_EXCEEDED,
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
_CLIENT_SIDE_WRITE_CODES = frozenset({UNKNOWN_OUTCOME})
#: The org's daily API allowance is spent: nothing more is sent; such rows can be replayed later.
_FIRST_CODES = {MISSING_IDENTITY: 0, MALFORMED_ID: 1, DUPLICATE_IN_SEGMENT: 2}


class SegmentSource(Protocol):
    """A segment read in chunks; ``batches`` restarts from the first row at each call."""

    schema: pa.Schema

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]: ...


@dataclass
class ExportCounts:
    """Row counts of one export; ``total == written + rejected``."""

    total: int = 0
    written: int = 0
    created: int | None = 0
    updated: int | None = 0
    rejected: int = 0
    rejected_by_code: Counter[str] = field(default_factory=Counter)


@dataclass
class _Pending:
    """Valid rows waiting to be sent (fewer than a batch between chunks)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)

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
        self.counts = ExportCounts()
        self._limit_reached = False
        if write is None and self.mapping.operation == "upsert":
            # Only Salesforce knows which upserted rows already exist.
            self.counts.created = self.counts.updated = None

    def run(self) -> ExportCounts:
        total, duplicates = self._first_pass()
        self.counts.total = total
        self.progress = ProgressReporter(total, self.log, interval_s=self.progress_interval_s)
        pending = _Pending()
        duplicate_rows = sorted(duplicates)
        offset = 0
        for batch in self.source.batches():
            table = pa.Table.from_batches([batch])
            self._chunk(table, offset, duplicates, duplicate_rows, pending)
            offset += table.num_rows
            self._flush(pending, len(pending.records) - len(pending.records) % self.batch_size)
        self._flush(pending, len(pending.records))
        if offset != total:
            raise RuntimeError(f"the segment changed while it was read: {total} rows, then {offset}")
        self.counts.rejected = self.rejected.rejected
        self.counts.rejected_by_code = Counter(self.rejected.by_code)
        self.progress.finish()
        return self.counts

    def _first_pass(self) -> tuple[int, dict[int, int]]:
        column = self.mapping.identity_column
        if column is None:  # insert: no identity, nothing to deduplicate
            first = self.mapping.columns[:1] or None
            return sum(b.num_rows for b in self.source.batches(first)), {}
        by_id = self.mapping.operation == "update"
        keys: list[pa.Array] = []
        for batch in self.source.batches([column]):
            keys.append(
                identity_keys(batch.column(0), by_salesforce_id=by_id, case_sensitive=self.key_case_sensitive)
            )
        return sum(len(k) for k in keys), find_duplicates(keys)

    def _identities(self, table: pa.Table) -> list[str | None]:
        if self.mapping.identity_column is None:
            return [None] * table.num_rows
        return as_text(table.column(self.mapping.identity_column)).to_pylist()

    def _chunk(
        self,
        table: pa.Table,
        offset: int,
        duplicates: dict[int, int],
        duplicate_rows: list[int],
        pending: _Pending,
    ) -> None:
        """``duplicate_rows`` is ``duplicates``' keys, sorted: only the few in this chunk are visited."""
        errors = validate_chunk(table, self.rules)
        key = self.mapping.identity_field
        first, end = bisect_left(duplicate_rows, offset), bisect_left(duplicate_rows, offset + table.num_rows)
        for row in duplicate_rows[first:end]:
            errors.setdefault(row - offset, []).append(
                RecordError(
                    DUPLICATE_IN_SEGMENT,
                    f"the same {key} appears again at row {duplicates[row]}; the last row wins",
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
            pending.add(kept, build_records(kept, self.mapping), (good + offset).tolist())

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

        if self._limit_reached:
            # Once Salesforce refused for the day, asking again would only spend refused calls.
            message = "not sent: the org's daily API limit was reached earlier in this export; replay later"
            results = [RecordResult.failure(i, REQUEST_LIMIT_EXCEEDED, message) for i in range(count)]
        else:
            results = self.write(records, on_progress)
        if len(results) != count:
            raise RuntimeError(f"the writer returned {len(results)} results for {count} records")
        failed = [pos for pos, result in enumerate(results) if not result.success]
        self._limit_reached = self._limit_reached or any(
            REQUEST_LIMIT_EXCEEDED in results[p].status_codes for p in failed
        )
        created = sum(1 for result in results if result.success and result.created)
        self._count_written(count - len(failed) - created, created=False)
        self._count_written(created, created=True)
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

    def _count_written(self, n: int, *, created: bool | None) -> None:
        self.counts.written += n
        operation = self.mapping.operation
        if self.counts.created is None:  # upsert dry run
            return
        if operation == "insert" or (operation == "upsert" and created):
            self.counts.created += n
        else:
            self.counts.updated += n
