"""Where segments come from: Parquet/CSV files (local or any fsspec URL) or a SQL query.

Files are read with ``pyarrow.dataset`` one fragment (file) at a time, in sorted path order, in
record batches of at most ``chunk_rows`` rows, with no pre-buffering and a read-ahead of one
batch, so memory stays bounded whatever the segment size. Read errors (a bad UTF-8 byte deep in a
CSV file, a truncated Parquet file) become :class:`SegmentReadError` naming the file and how far
it was read; Arrow's quoting of the offending CSV line is left out (it is personal data).
CSV columns are read as text (empty cells are null): a type guessed from the first block could
not hold a later value, and Salesforce takes text for text fields anyway.

A SQL segment (any Airflow SQL connection, via common-sql) is read once in chunks and spooled to
a temporary Parquet file, so the two passes of the export see the same rows in the same order
without running the query twice.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq


class SegmentReadError(ValueError):
    """A segment file cannot be read; the message names the file and, when known, the row."""


# Arrow quotes the offending CSV line after "got N": personal data that must not reach a log.
_QUOTED_ROW = re.compile(r"(Expected \d+ columns?, got \d+):.*", re.DOTALL)

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
        self._fs, self._root = fs, root
        self._kind = "glob" if _GLOB_CHARS & set(root) else "directory" if fs.isdir(root) else "file"
        if self._kind == "glob":
            files = sorted(p for p in fs.glob(root) if not fs.isdir(p))
        elif self._kind == "directory":
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
        with self._reading(files[0] if len(files) == 1 else f"{len(files)} files of {segment_path}"):
            self._dataset = ds.dataset(
                files, filesystem=filesystem, format=self._file_format(files[0], filesystem)
            )
            self.schema: pa.Schema = self._dataset.schema

    @contextlib.contextmanager
    def _reading(self, what: str, rows_before: int | None = None) -> Iterator[None]:
        """Turn Arrow's and the filesystem's errors into a :class:`SegmentReadError` naming ``what``."""
        try:
            yield
        except (pa.ArrowException, OSError, UnicodeError) as exc:
            reason = _QUOTED_ROW.sub(r"\1 (the line is not repeated here)", str(exc)) or type(exc).__name__
            where = f" (after its first {rows_before:,} rows)" if rows_before else ""
            hint = " Arrow's 'Row #' counts CSV lines, the header included." if "Row #" in reason else ""
            raise SegmentReadError(f"cannot read segment file {what}{where}: {reason}.{hint}") from None

    def overlap(self, path: str) -> str | None:
        """Why writing ``path`` would overwrite or join this segment's input (None when it would not)."""
        fs, target = resolve_filesystem(path)
        if getattr(fs, "protocol", None) != getattr(self._fs, "protocol", None):
            return None
        if _is_local(fs):
            target = os.path.realpath(target)
        files = {os.path.realpath(f) if _is_local(fs) else f for f in self.files}
        if target in files:
            return "is one of the segment's input files"
        root = os.path.realpath(self._root) if _is_local(fs) and self._kind != "glob" else self._root
        if self._kind == "directory" and target.startswith(root.rstrip("/") + "/"):
            return f"is inside the segment's directory {self.segment_path!r}, whose files are the input"
        if self._kind == "glob" and fnmatch.fnmatch(target, self._root):
            return f"matches the segment's pattern {self.segment_path!r}"
        return None

    def _file_format(self, first: str, filesystem: pafs.FileSystem) -> ds.FileFormat:
        if self.format == "parquet":
            # Pre-buffering keeps every column chunk read from a file until the file is done: memory
            # would grow with the file's size. Row group by row group is what streaming needs.
            return ds.ParquetFileFormat(
                default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False)
            )
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
            with self._reading(fragment.path):
                # Read-ahead of one batch: Arrow's default (16 batches, 4 files) holds far more than
                # a chunk and made memory climb with the segment's size.
                batches = fragment.to_batches(
                    schema=self.schema,
                    columns=cols,
                    batch_size=self.chunk_rows,
                    use_threads=False,
                    batch_readahead=1,
                    fragment_readahead=1,
                )
            in_file = 0
            while True:
                with self._reading(fragment.path, in_file):
                    batch = next(batches, None)
                if batch is None:
                    break
                in_file += batch.num_rows
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
