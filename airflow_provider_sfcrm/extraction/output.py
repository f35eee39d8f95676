"""An interval's file set: Parquet parts and a manifest, published in one step.

Everything is written under a hidden staging directory next to the target (``.<name>.tmp-<token>``)
and moved into place only once complete, so a reader never sees half a file set, and an extract that
stops (an error, the API quota guard, a killed worker) leaves the previous file set as it was. On a
local filesystem publishing is two renames (the old set aside, the new one in); on an object store,
which has no rename, the parts are copied into place and ``_manifest.json`` is written last: read
through it, or wait for it.

Output is deterministic: the same rows in the same order give byte-identical files (row groups of a
fixed number of rows whatever the page sizes they arrived in, a manifest with sorted keys and no
timestamps), so re-running an interval that nothing changed rewrites exactly the same content.
"""

from __future__ import annotations

import json
import os
import posixpath
import secrets
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "_manifest.json"
PART = "part-{:05d}.parquet"


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


class FileSetWriter:
    """Writes batches of one schema into a file set published at ``target`` by :meth:`commit`.

    :param fs: the fsspec filesystem ``target`` is on.
    :param target: the directory the file set appears as.
    :param schema: every batch's schema.
    :param rows_per_file: a new part file starts after this many rows.
    :param row_group_rows: rows per Parquet row group (memory held before a group is written).
    """

    def __init__(
        self,
        fs: Any,
        target: str,
        schema: pa.Schema,
        *,
        rows_per_file: int = 1_000_000,
        row_group_rows: int = 50_000,
    ) -> None:
        if rows_per_file < 1 or row_group_rows < 1:
            raise ValueError("rows_per_file and row_group_rows must be positive")
        self.fs = fs
        self.target = target.rstrip("/")
        parent, name = posixpath.split(self.target)
        if not name:
            raise ValueError(f"output_path {target!r} must name a directory, not a filesystem root")
        if fs.exists(self.target) and not fs.isdir(self.target):
            raise ValueError(f"output_path {target!r} is a file; it must name a directory for the file set")
        self.parent = parent
        self.token = secrets.token_hex(4)
        self.staging = posixpath.join(parent, f".{name}.tmp-{self.token}")
        self.schema = schema
        self.rows_per_file = rows_per_file
        self.row_group_rows = min(row_group_rows, rows_per_file)
        self.files: list[str] = []
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._handle: Any = None
        self._rows_in_file = 0
        self.fs.makedirs(self.staging, exist_ok=True)

    # -- writing ------------------------------------------------------------------------------

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if not batch.schema.equals(self.schema):
            raise ValueError(f"batch schema differs from the file set's: {batch.schema} vs {self.schema}")
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= self.row_group_rows:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema).combine_chunks()
        self._pending, self._pending_rows = [], 0
        offset = 0
        while table.num_rows - offset >= self.row_group_rows or (final and offset < table.num_rows):
            writer = self._file()  # opens the next part if the last one is full
            room = self.rows_per_file - self._rows_in_file
            size = min(self.row_group_rows, room, table.num_rows - offset)
            writer.write_table(table.slice(offset, size), row_group_size=size)
            self._rows_in_file += size
            self.rows += size
            offset += size
            if self._rows_in_file >= self.rows_per_file:
                self._close_file()
        if offset < table.num_rows:  # less than a row group left: wait for more rows
            rest = table.slice(offset)
            self._pending, self._pending_rows = rest.to_batches(), rest.num_rows

    def _file(self) -> pq.ParquetWriter:
        if self._writer is None:
            name = PART.format(len(self.files))
            self._handle = self.fs.open(posixpath.join(self.staging, name), "wb")
            self._writer = pq.ParquetWriter(self._handle, self.schema, compression="zstd")
            self.files.append(name)
            self._rows_in_file = 0
        return self._writer

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._handle.close()
            self._writer, self._handle = None, None

    # -- publishing ---------------------------------------------------------------------------

    def commit(self, manifest: Mapping[str, Any]) -> list[str]:
        """Finish the parts, write the manifest, publish the set at ``target``; returns the parts' names."""
        self._flush(final=True)
        if not self.files:
            self._file()  # an empty interval still has a (row-less) part: globs and schemas keep working
        self._close_file()
        body = {**manifest, "files": list(self.files), "rows": self.rows}
        with self.fs.open(posixpath.join(self.staging, MANIFEST), "wb") as handle:
            handle.write(json.dumps(body, indent=2, sort_keys=True, default=str).encode() + b"\n")
        self._publish()
        return list(self.files)

    def _publish(self) -> None:
        if _is_local(self.fs):
            old = posixpath.join(self.parent, f".{posixpath.basename(self.target)}.old-{self.token}")
            replaced = os.path.isdir(self.target)
            if replaced:
                os.rename(self.target, old)
            os.rename(self.staging, self.target)
            if replaced:
                self.fs.rm(old, recursive=True)
            return
        # Object stores: no rename. Clear the old set, copy the parts, then the manifest, last.
        if self.fs.exists(self.target):
            self.fs.rm(self.target, recursive=True)
        for name in [*self.files, MANIFEST]:
            self.fs.mv(posixpath.join(self.staging, name), posixpath.join(self.target, name))
        self.fs.rm(self.staging, recursive=True)

    def abort(self) -> None:
        """Throw away everything written; ``target`` stays as it was."""
        try:
            self._close_file()
        finally:
            if self.fs.exists(self.staging):
                self.fs.rm(self.staging, recursive=True)

    def __enter__(self) -> FileSetWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
