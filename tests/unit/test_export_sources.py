"""Reading segments: Parquet / CSV files, directories, globs, URLs, and SQL spooled to Parquet."""

from __future__ import annotations

import gzip
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.sources import FileSegment, spool_query


@pytest.fixture
def parts(tmp_path):
    folder = tmp_path / "segment"
    folder.mkdir()
    for i in range(3):
        table = pa.table({"n": list(range(i * 100, (i + 1) * 100)), "s": [f"v{i}"] * 100})
        pq.write_table(table, folder / f"part-{i}.parquet", row_group_size=30)
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.parquet.crc").write_text("")
    return folder


def _values(segment, columns=None):
    return [v for batch in segment.batches(columns) for v in batch.column(0).to_pylist()]


@pytest.mark.parametrize("form", ["dir", "glob", "url"])
def test_parts_are_read_in_order_in_bounded_batches(parts, form):
    path = {"dir": str(parts), "glob": str(parts / "part-*.parquet"), "url": f"file://{parts}"}[form]
    segment = FileSegment(path, chunk_rows=64)
    assert len(segment.files) == 3
    assert _values(segment) == list(range(300))
    assert max(b.num_rows for b in segment.batches()) <= 64
    assert _values(segment, ["s"])[:1] == ["v0"]


@pytest.mark.parametrize("compressed", [False, True])
def test_csv_columns_are_text_and_empty_cells_null(tmp_path, compressed):
    text = "id,name,score\n001,,3\n002,bob,\n"
    path = tmp_path / ("s.csv.gz" if compressed else "s.csv")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    segment = FileSegment(str(path))
    assert segment.schema == pa.schema([("id", pa.string()), ("name", pa.string()), ("score", pa.string())])
    assert [r for b in segment.batches() for r in b.to_pylist()] == [
        {"id": "001", "name": None, "score": "3"},
        {"id": "002", "name": "bob", "score": None},
    ]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing.parquet", "does not exist"),
        (lambda d: d, "holds no Parquet or CSV file"),
        (lambda d: (d / "x.json").write_text("{}") and d / "x.json", "must hold only Parquet"),
    ],
)
def test_unusable_paths_are_refused(tmp_path, make, words):
    with pytest.raises((FileNotFoundError, ValueError), match=words):
        FileSegment(str(make(tmp_path)))


@pytest.fixture
def sqlite_hook(tmp_path, monkeypatch):
    """A real common-sql hook (sqlite), reached the way the operator reaches it: through a connection."""
    import json

    from airflow.sdk import BaseHook

    db = tmp_path / "s.db"
    monkeypatch.setenv("AIRFLOW_CONN_SEGMENT_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    with sqlite3.connect(db) as conn:
        conn.execute("create table seg (sfid text, note text, n integer)")
        conn.executemany(
            "insert into seg values (?, ?, ?)", [(f"id{i}", None if i < 5 else "x", i) for i in range(12)]
        )
    return BaseHook.get_connection("segment_db").get_hook()


def test_query_is_spooled_in_chunks_keeping_the_first_chunks_types(tmp_path, sqlite_hook):
    out = tmp_path / "spool.parquet"
    rows = spool_query(sqlite_hook, "select * from seg order by n", str(out), chunk_rows=5)
    table = pq.read_table(out)
    assert rows == 12 and table.num_rows == 12
    assert table.schema.field("note").type == pa.string()  # all null in the first chunk
    assert table.column("sfid").to_pylist() == [f"id{i}" for i in range(12)]


def test_an_empty_query_gives_an_empty_segment_with_the_mapped_columns(tmp_path):
    class Empty:
        def get_df_by_chunks(self, sql, chunksize):
            return iter(())

    out = tmp_path / "empty.parquet"
    assert spool_query(Empty(), "select 1 where 0", str(out), columns=["sfid", "aud"]) == 0
    assert pq.read_table(out).schema.names == ["sfid", "aud"]
