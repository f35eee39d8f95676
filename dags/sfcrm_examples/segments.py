"""Segment files for the example DAGs: extract from any SQL connection, pivot, split, merge.

Two kinds of segments:

* *current membership* (:func:`extract_membership`): the query returns one row per person with a
  0/1 (or true/false) column per audience, ``aud_<audience_id>``; they become boolean columns, and
  the export's sync state derives ``realized`` / ``existing`` / ``exited`` from them;
* *changes* (:func:`extract_segment`): the query returns *long* rows — the person's columns plus
  ``audience_id`` and ``status`` — ordered by the person's key, one row per person and audience
  (the latest change in the data interval); they are pivoted to one row per person, one status
  column per audience, empty where the person's status in that audience did not change.

Either is streamed in chunks to Parquet, so memory stays bounded by the chunk size.
:func:`split_by_shard` cuts a segment into the shards of a sharded sync.

Imported inside tasks only (pandas and pyarrow are too heavy for DAG parsing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

STATUS_COLUMN_PREFIX = "aud_"
#: The Airflow Variable naming where tasks hand files to each other (shared by every worker).
WORK_DIR_VARIABLE = "sfcrm_work_dir"
LONG_COLUMNS = ("audience_id", "status")


def status_column(audience_id: str) -> str:
    """The segment column that holds a person's status in ``audience_id``."""
    return f"{STATUS_COLUMN_PREFIX}{audience_id}"


def interval_dir(dag_id: str, start: Any, end: Any) -> Any:
    """``<work dir>/<dag_id>/<start>--<end>``: the files of one data interval, as an ObjectStoragePath.

    The work dir is the Variable ``sfcrm_work_dir`` (a local path, or ``s3://bucket/prefix`` and the
    like when workers run on several machines), by default ``$AIRFLOW_HOME/sfcrm/work``. Keyed by the
    data interval, so that rerunning an interval overwrites its own files and nothing else.
    """
    import os

    from airflow.sdk import ObjectStoragePath, Variable

    default = os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "sfcrm", "work")
    base = ObjectStoragePath(Variable.get(WORK_DIR_VARIABLE, default=default))
    return base / dag_id / f"{start:%Y%m%dT%H%M%S}--{end:%Y%m%dT%H%M%S}"


def pivot_memberships(long: pd.DataFrame, *, key: str, audiences: Sequence[str]) -> pd.DataFrame:
    """One row per person: the person's columns, then one status column per audience in ``audiences``.

    Rows of audiences not in ``audiences`` are left out; a person left with no row is not in the
    result. A person with two rows for one audience is an error in the query (it must keep only the
    latest change), not something to guess about.
    """
    missing = [c for c in (key, *LONG_COLUMNS) if c not in long.columns]
    if missing:
        raise ValueError(f"the extraction query must return the columns {missing}")
    long = long[long["audience_id"].isin(list(audiences))]
    duplicated = long.duplicated([key, "audience_id"])
    if duplicated.any():
        first = long[duplicated].iloc[0]
        raise ValueError(
            f"the extraction query returned two statuses for {key}={first[key]!r} in audience "
            f"{first['audience_id']!r}; keep only the latest change per person and audience"
        )
    person_columns = [c for c in long.columns if c not in LONG_COLUMNS]
    people = long.drop_duplicates(key)[person_columns].set_index(key)
    statuses = long.pivot(index=key, columns="audience_id", values="status").reindex(columns=list(audiences))
    statuses.columns = [status_column(a) for a in audiences]
    return people.join(statuses).reset_index()


def _complete_people(chunks: Iterable[pd.DataFrame], key: str) -> Iterator[pd.DataFrame]:
    """Re-cut ordered chunks so that no person's rows straddle two chunks."""
    pending: pd.DataFrame | None = None
    for chunk in chunks:
        if pending is not None:
            chunk = pd.concat([pending, chunk], ignore_index=True)
        if chunk.empty:
            pending = chunk
            continue
        last = chunk[key].iloc[-1]
        is_last = chunk[key] == last
        pending = chunk[is_last]
        if not is_last.all():
            yield chunk[~is_last]
    if pending is not None and not pending.empty:
        yield pending


def _as_table(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if schema is None:
        # A column that is empty in the first chunk has no type yet: text is what Salesforce takes.
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
        schema = pa.schema(fields)
    return table.cast(schema)


def write_wide(frames: Iterable[pd.DataFrame], path: Any, columns: Callable[[], Sequence[str]]) -> int:
    """Write ``frames`` to one Parquet file at ``path`` (a local path or ObjectStoragePath); return rows.

    ``columns()`` names the columns of the file written when there are no rows at all.
    """
    rows = 0
    writer: pq.ParquetWriter | None = None
    with open_for_write(path) as sink:
        try:
            for frame in frames:
                table = _as_table(frame, writer.schema if writer else None)
                if writer is None:
                    writer = pq.ParquetWriter(sink, table.schema)
                writer.write_table(table)
                rows += table.num_rows
            if writer is None:  # no rows at all: still a valid, empty segment with the right columns
                schema = pa.schema([pa.field(c, pa.string()) for c in columns()])
                writer = pq.ParquetWriter(sink, schema)
                writer.write_table(schema.empty_table())
        finally:
            if writer is not None:
                writer.close()
    return rows


def open_for_write(path: Any):
    """Open a local path or an ``ObjectStoragePath`` (s3://, gs://, ...) for writing bytes."""
    if hasattr(path, "open"):
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "wb")


def extract_segment(
    hook: Any,
    sql: str,
    parameters: Mapping[str, Any] | Sequence[Any] | None,
    output_path: Any,
    *,
    key: str,
    audiences: Sequence[str],
    chunksize: int = 50_000,
) -> dict[str, int]:
    """Run ``sql`` on a common-sql ``DbApiHook`` and write the pivoted segment to ``output_path``.

    :return: ``{"memberships": long rows read, "people": rows written}``.
    """
    counts = {"memberships": 0}
    person_columns: list[str] = [key]

    def counted(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for number, chunk in enumerate(chunks):
            if number == 0:  # an empty result still names its columns: keep them for an empty file
                person_columns[:] = [c for c in chunk.columns if c not in LONG_COLUMNS]
            counts["memberships"] += len(chunk)
            yield chunk

    chunks = hook.get_df_by_chunks(sql, parameters=parameters, chunksize=chunksize, df_type="pandas")
    wide = (
        pivot_memberships(people, key=key, audiences=audiences)
        for people in _complete_people(counted(chunks), key)
    )
    status_columns = [status_column(a) for a in audiences]
    frames = (frame for frame in wide if not frame.empty)
    counts["people"] = write_wide(frames, output_path, lambda: [*person_columns, *status_columns])
    return counts


def extract_membership(
    hook: Any,
    sql: str,
    parameters: Mapping[str, Any] | Sequence[Any] | None,
    output_path: Any,
    *,
    audiences: Sequence[str],
    chunksize: int = 50_000,
) -> dict[str, int]:
    """Run ``sql`` (one row per person, ``aud_<audience>`` 0/1 columns) and write it with boolean
    membership columns — only those of ``audiences`` — to ``output_path``.

    :return: ``{"people": rows written}``.
    """
    wanted = {status_column(a) for a in audiences}
    columns: list[str] = []

    def membership(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            flags = [c for c in chunk.columns if c.startswith(STATUS_COLUMN_PREFIX)]
            chunk = chunk.drop(columns=[c for c in flags if c not in wanted])
            for column in wanted:
                if column not in chunk.columns:
                    raise ValueError(f"the membership query must return the column {column!r}")
                # 1/0 from SQLite, true/false elsewhere; no row means not a member.
                chunk[column] = chunk[column].fillna(0).astype(bool)
            columns[:] = list(chunk.columns)
            if not chunk.empty:
                yield chunk

    chunks = hook.get_df_by_chunks(sql, parameters=parameters, chunksize=chunksize, df_type="pandas")
    return {"people": write_wide(membership(chunks), output_path, lambda: columns)}


def split_by_shard(
    path: Any, output_dir: Any, shard_count: int, identity_column: str
) -> list[dict[str, Any]]:
    """Cut a segment into ``shard_count`` shards by the stable hash of each person's identity.

    Returns, per shard, the export's arguments: ``segment_path``, ``shard_index``, ``shard_count``
    (for ``SalesforceSegmentExportOperator.partial(...).expand_kwargs(...)``). Each shard owns its
    people and their sync state, so exits are decided over the whole segment, by exactly one shard.
    Rows without an identity go to shard 0 (where they are rejected as ``MISSING_IDENTITY``).
    """
    from airflow_provider_sfcrm.sync.sharding import shard_numbers

    if shard_count < 1:
        raise ValueError(f"shard_count must be at least 1, not {shard_count}")
    source = pq.ParquetFile(path.open("rb") if hasattr(path, "open") else path)
    paths = [output_dir / f"shard-{index:03d}-of-{shard_count:03d}.parquet" for index in range(shard_count)]
    sinks = [open_for_write(p) for p in paths]
    writers = [pq.ParquetWriter(sink, source.schema_arrow) for sink in sinks]
    try:
        for batch in source.iter_batches(batch_size=100_000):
            shards = shard_numbers(batch.column(identity_column), shard_count).clip(min=0)
            for index, writer in enumerate(writers):
                writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(shards == index)))
    finally:
        for writer, sink in zip(writers, sinks, strict=True):
            writer.close()
            sink.close()
    return [
        {"segment_path": str(p), "shard_index": index, "shard_count": shard_count}
        for index, p in enumerate(paths)
    ]


def split_segment(path: Any, output_dir: Any, rows_per_part: int) -> list[str]:
    """Cut a Parquet segment into parts of at most ``rows_per_part`` rows; return the parts' paths."""
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be at least 1, not {rows_per_part}")
    parts: list[str] = []
    source = pq.ParquetFile(path.open("rb") if hasattr(path, "open") else path)
    for number, batch in enumerate(source.iter_batches(batch_size=rows_per_part)):
        part_path = output_dir / f"part-{number:05d}.parquet"
        with open_for_write(part_path) as sink:
            pq.write_table(pa.Table.from_batches([batch]), sink)
        parts.append(str(part_path))
    if not parts:  # an empty segment is still one (empty) part, so the run completes with zero counts
        part_path = output_dir / "part-00000.parquet"
        with open_for_write(part_path) as sink:
            pq.write_table(source.schema_arrow.empty_table(), sink)
        parts.append(str(part_path))
    return parts


def read_parquet_files(paths: Iterable[str]) -> pd.DataFrame | None:
    """Concatenate the Parquet files that exist among ``paths`` (None when there are none)."""
    from airflow.sdk import ObjectStoragePath

    frames = []
    for path in paths:
        location = ObjectStoragePath(path)
        if location.exists():
            with location.open("rb") as source:
                frames.append(pd.read_parquet(source))
    return pd.concat(frames, ignore_index=True) if frames else None
