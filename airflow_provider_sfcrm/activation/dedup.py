"""The same person twice in a segment: the last row wins, earlier rows are rejected.

A segment is streamed in chunks, so a duplicate may sit in another chunk, millions of rows away.
A first pass hands only the identity keys, chunk by chunk, to :class:`DuplicateFinder`, which
keeps them in a DuckDB database on local disk (a temporary directory) rather than in memory: the
grouping that finds repeated keys runs there under a fixed memory limit and spills to disk when
it must. What comes back is only the earlier duplicates, ``(row, row of the winner)`` in row
order, read lazily by the second pass (:meth:`DuplicateFinder.within`) as it walks the segment.
Memory therefore stays flat in the segment size: about the DuckDB memory limit
(:data:`MEMORY_LIMIT_MB`) at most, whatever the row count; disk use is roughly 30 bytes per row
while the export runs, removed at the end.

The last row wins even when a later check refuses it: the earlier rows are older data for the
same person and are rejected as duplicates all the same (fix the last row and replay). Rows
without an identity never count as duplicates. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.row_validation import as_text, well_formed_ids

#: DuckDB's memory ceiling for the grouping; beyond it DuckDB spills to its temporary directory.
MEMORY_LIMIT_MB = 96
# Rows of duplicates fetched at a time by the second pass.
_FETCH_ROWS = 50_000
_KEYS_SCHEMA = pa.schema([("row", pa.int64()), ("key", pa.string())])


def identity_keys(
    values: pa.Array | pa.ChunkedArray, *, by_salesforce_id: bool, case_sensitive: bool
) -> pa.Array:
    """The comparison key of each identity (null when missing).

    Salesforce Ids are compared by their 15-character case-sensitive form, so the 15- and
    18-character spellings of one record are one person. External ids compare case-insensitively
    unless the field is case-sensitive, as Salesforce matches them.
    """
    text = as_text(values)
    text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), pa.scalar(None, pa.string()), text)
    if by_salesforce_id:
        return pc.if_else(pa.array(well_formed_ids(text)), pc.utf8_slice_codeunits(text, 0, 15), text)
    return text if case_sensitive else pc.utf8_lower(text)


class DuplicateFinder:
    """Find, across a whole segment, every row whose identity appears again later.

    Use: :meth:`add` the keys of each chunk in row order, then :meth:`within` for consecutive row
    ranges (the second pass), then :meth:`close` (or use it as a context manager).

    :param work_dir: where the temporary database goes (a new directory inside it); None = the
        system's temporary directory.
    """

    def __init__(self, work_dir: str | None = None):
        self._dir = Path(tempfile.mkdtemp(prefix="sfcrm-dedup-", dir=work_dir))
        self._db = duckdb.connect(
            str(self._dir / "keys.duckdb"),
            config={
                "memory_limit": f"{MEMORY_LIMIT_MB}MB",
                "temp_directory": str(self._dir / "spill"),
                "preserve_insertion_order": False,
            },
        )
        self._db.execute("CREATE TABLE keys (row BIGINT, key VARCHAR)")
        self.rows = 0
        self._reader: pa.RecordBatchReader | None = None
        self._exhausted = False
        self._held_rows = np.empty(0, np.int64)
        self._held_winners = np.empty(0, np.int64)

    def add(self, keys: pa.Array) -> None:
        """Append the next chunk's keys (nulls never match anything and are not stored)."""
        present = pc.is_valid(keys)
        rows = pa.array(np.arange(self.rows, self.rows + len(keys), dtype=np.int64))
        self.rows += len(keys)
        incoming = pa.Table.from_arrays(
            [rows.filter(present), keys.cast(pa.string()).filter(present)], schema=_KEYS_SCHEMA
        )
        if incoming.num_rows:
            self._db.register("incoming", incoming)
            self._db.execute("INSERT INTO keys SELECT row, key FROM incoming")
            self._db.unregister("incoming")

    def losers(self) -> int:
        """How many rows lose to a later row of the same identity (once every chunk was added)."""
        [(found,)] = self._db.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM keys GROUP BY key HAVING n > 1)"
        ).fetchall()
        return int(found)

    def _start(self) -> pa.RecordBatchReader:
        # Group once (out of core when large), then keep only the rows that lose to a later twin.
        query = """
            WITH last AS (
                SELECT key, max(row) AS winner FROM keys GROUP BY key HAVING count(*) > 1
            )
            SELECT keys.row, last.winner
            FROM keys JOIN last ON keys.key = last.key
            WHERE keys.row <> last.winner
            ORDER BY keys.row
        """
        relation = self._db.sql(query)
        stream = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch  # DuckDB < 2
        return stream(_FETCH_ROWS)

    def within(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, winners)`` of the earlier duplicates among rows ``start <= row < end``.

        Calls must come in increasing, non-overlapping ranges (the second pass walks in order).
        """
        if self._reader is None:
            self._reader = self._start()
        while not self._exhausted and (not self._held_rows.size or self._held_rows[-1] < end):
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                self._exhausted = True
                break
            self._held_rows = np.concatenate([self._held_rows, batch.column(0).to_numpy()])
            self._held_winners = np.concatenate([self._held_winners, batch.column(1).to_numpy()])
        first, stop = np.searchsorted(self._held_rows, [start, end])
        taken = self._held_rows[first:stop], self._held_winners[first:stop]
        self._held_rows, self._held_winners = self._held_rows[stop:], self._held_winners[stop:]
        return taken

    def close(self) -> None:
        self._reader = None
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DuplicateFinder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
