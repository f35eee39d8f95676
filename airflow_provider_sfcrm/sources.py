"""Where segments come from: Parquet/CSV files (local or any fsspec URL) or a SQL query.

Files are read with ``pyarrow.dataset`` one fragment (file) at a time, in sorted path order, in
record batches of at most ``chunk_rows`` rows, so memory stays bounded whatever the segment size.
CSV columns are read as text (empty cells are null): a type guessed from the first block could
not hold a later value, and Salesforce takes text for text fields anyway.

A SQL segment (any Airflow SQL connection, via common-sql) is read once in chunks and spooled to
a temporary Parquet file, so the two passes of the export see the same rows in the same order
without running the query twice.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

_FORMATS = {".parquet": "parquet", ".parq": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}
_GLOB_CHARS = set("*?[")


def _format_of(path: str) -> str | None:
    name = path.lower()
    for suffix, fmt in sorted(_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def resolve_filesystem(url: str) -> tuple[Any, str]:
    """An fsspec filesystem and the path on it, for a local path or any URL ObjectStoragePath knows."""
    if "://" in url and not url.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        try:  # Airflow's object storage first: it takes credentials from Airflow connections.
            target = ObjectStoragePath(url)
            return target.fs, target.path
        except ValueError:  # a scheme Airflow has no filesystem for: plain fsspec knows more
            import fsspec

            return fsspec.core.url_to_fs(url)
    from fsspec.implementations.local import LocalFileSystem

    local = url[len("file://") :] if url.startswith("file://") else url
    return LocalFileSystem(), str(Path(local).expanduser().resolve())


def _hidden(path: str) -> bool:
    return posixpath.basename(path.rstrip("/")).startswith(("_", "."))


class FileSegment:
    """A segment stored as Parquet or CSV: one file, a directory of parts, or a glob.

    :param segment_path: local path or URL (``s3://``, ``gs://``, ``file://`` ...).
    :param chunk_rows: maximum rows per batch.
    """

    def __init__(self, segment_path: str, *, chunk_rows: int = 20_000):
        self.segment_path = segment_path
        self.chunk_rows = chunk_rows
        fs, root = resolve_filesystem(segment_path)
        if _GLOB_CHARS & set(root):
            files = sorted(p for p in fs.glob(root) if not fs.isdir(p))
        elif fs.isdir(root):
            files = sorted(p for p in fs.find(root) if _format_of(p) and not _hidden(p))
        elif fs.exists(root):
            files = [root]
        else:
            raise FileNotFoundError(f"segment_path {segment_path!r} does not exist")
        if not files:
            raise FileNotFoundError(f"segment_path {segment_path!r} holds no Parquet or CSV file")
        formats = {_format_of(p) for p in files}
        if None in formats or len(formats) != 1:
            raise ValueError(
                f"segment_path {segment_path!r} must hold only Parquet (.parquet) or only CSV (.csv) files"
            )
        self.format = formats.pop()
        self.files = files
        filesystem = pafs.LocalFileSystem() if _is_local(fs) else pafs.PyFileSystem(pafs.FSSpecHandler(fs))
        self._dataset = ds.dataset(
            files, filesystem=filesystem, format=self._file_format(files[0], filesystem)
        )
        self.schema: pa.Schema = self._dataset.schema

    def _file_format(self, first: str, filesystem: pafs.FileSystem) -> ds.FileFormat:
        if self.format == "parquet":
            return ds.ParquetFileFormat()
        with filesystem.open_input_stream(first, compression="detect") as stream:
            names = pacsv.open_csv(stream).schema.names
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=True
        )
        return ds.CsvFileFormat(convert_options=convert)

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Batches of at most ``chunk_rows`` rows, in file order then row order."""
        cols = list(columns) if columns is not None else None
        held: list[pa.RecordBatch] = []
        rows = 0
        for fragment in self._dataset.get_fragments():
            # One fragment at a time and no threads: batches must come in row order.
            for batch in fragment.to_batches(
                schema=self.schema, columns=cols, batch_size=self.chunk_rows, use_threads=False
            ):
                # Small row groups give small batches: gather them so each chunk is worth its overhead.
                held.append(batch)
                rows += batch.num_rows
                if rows >= self.chunk_rows:
                    yield from _regroup(held, self.chunk_rows)
                    held, rows = [], 0
        if held:
            yield from _regroup(held, self.chunk_rows)


def _regroup(batches: list[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    if len(batches) == 1:
        yield batches[0]
        return
    table = pa.Table.from_batches(batches).combine_chunks()
    yield from table.to_batches(max_chunksize=chunk_rows)


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def spool_query(
    hook: Any, sql: str, destination: str, *, chunk_rows: int = 20_000, columns: Sequence[str] = ()
) -> int:
    """Run ``sql`` on a common-sql ``DbApiHook`` and write the rows to Parquet at ``destination``.

    Chunks are read with ``get_df_by_chunks``; every chunk is cast to the first one's schema
    (a column that is all null in the first chunk is taken as text). A query returning nothing
    gives an empty file with ``columns`` as text. Returns the number of rows.
    """
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    rows = 0
    try:
        for frame in hook.get_df_by_chunks(sql, chunksize=chunk_rows):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if schema is None:
                schema = pa.schema(
                    [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
                )
                writer = pq.ParquetWriter(destination, schema)
            try:
                table = table.cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"the query's column types change between chunks: {exc}") from exc
            writer.write_table(table)
            rows += table.num_rows
        if writer is None:  # no rows, no columns: an empty segment
            pq.write_table(pa.table({name: pa.array([], pa.string()) for name in columns}), destination)
    finally:
        if writer is not None:
            writer.close()
    return rows
