"""Rows that arrive in no particular order, held on disk and given back in Id order.

A Bulk API 2.0 query job cannot be asked for an order (``ORDER BY`` is not supported by Bulk queries,
and would turn off the chunking that makes them fast), yet an extract writes its rows in Id order,
so that a re-run, or a REST read of the same interval, gives the same files. The rows are spooled to
a Parquet file as they come; if they came in order after all, they are read back as they are, else
DuckDB sorts them out of core, within ``memory_limit_mb``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq


class IdOrderedSpool:
    """A Parquet spool of batches of one schema (with an ``Id`` column) in ``directory``.

    :param memory_limit_mb: what DuckDB may hold while sorting (the rest spills to ``directory``).
    """

    def __init__(
        self, directory: str | os.PathLike, schema: pa.Schema, *, memory_limit_mb: int = 256
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "spool.parquet"
        self.schema = schema
        self.memory_limit_mb = memory_limit_mb
        self.rows = 0
        self.in_order = True
        self._last_id: str | None = None
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self.path, schema, compression="zstd")

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        assert self._writer is not None, "the spool is closed"
        ids = batch.column("Id").to_pylist()
        if self.in_order:
            previous = self._last_id
            for record_id in ids:
                if previous is not None and record_id < previous:
                    self.in_order = False
                    break
                previous = record_id
        self._last_id = ids[-1]
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def batches(self, batch_rows: int = 50_000) -> Iterator[pa.RecordBatch]:
        """Every row, in Id order (repeated Ids next to each other), as batches of the spool's schema."""
        self.close()
        if self.in_order:
            yield from pq.ParquetFile(self.path).iter_batches(batch_size=batch_rows)
            return
        import duckdb

        with duckdb.connect() as db:
            db.execute(f"SET memory_limit = '{int(self.memory_limit_mb)}MB'")
            db.execute("SET temp_directory = ?", [str(self.directory / "sort")])
            db.execute("SET preserve_insertion_order = false")
            source = str(self.path).replace("'", "''")
            reader = db.sql(f"SELECT * FROM read_parquet('{source}') ORDER BY Id").to_arrow_reader(batch_rows)
            for batch in reader:
                # DuckDB hands back its own types (microsecond timestamps, 64-bit times): cast them back.
                yield pa.Table.from_batches([batch]).cast(self.schema).combine_chunks().to_batches()[0]

    def __enter__(self) -> IdOrderedSpool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
