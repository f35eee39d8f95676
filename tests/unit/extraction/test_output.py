"""An interval's file set: parts, manifest, atomic publication, identical content on re-run."""

from __future__ import annotations

import json

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_sfcrm.extraction.output import MANIFEST, FileSetWriter

SCHEMA = pa.schema([pa.field("Id", pa.string()), pa.field("n", pa.int64())])


def batches(sizes, start=0):
    for size in sizes:
        yield pa.record_batch(
            {"Id": [f"id{i:06d}" for i in range(start, start + size)], "n": list(range(start, start + size))},
            schema=SCHEMA,
        )
        start += size


def write(fs, target, sizes, **options):
    with FileSetWriter(fs, str(target), SCHEMA, **options) as writer:
        for b in batches(sizes):
            writer.write(b)
        return writer.commit({"sobject": "Contact"})


def test_parts_roll_over_and_the_manifest_lists_them(tmp_path):
    target = tmp_path / "Contact" / "20240131T100000"
    names = write(LocalFileSystem(), target, [7, 5, 9], rows_per_file=10, row_group_rows=4)
    assert names == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pq.ParquetFile(target / n).metadata.num_rows for n in names] == [10, 10, 1]
    assert [pq.ParquetFile(target / names[0]).metadata.row_group(i).num_rows for i in range(3)] == [4, 4, 2]
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest == {"files": names, "rows": 21, "sobject": "Contact"}
    assert pq.read_table(target).column("n").to_pylist() == list(range(21))
    assert sorted(p.name for p in tmp_path.joinpath("Contact").iterdir()) == [
        "20240131T100000"
    ]  # no leftovers


def test_the_same_rows_give_the_same_bytes_whatever_the_pages(tmp_path):
    fs = LocalFileSystem()
    write(fs, tmp_path / "a", [3, 3, 3, 3], row_group_rows=5)
    write(fs, tmp_path / "b", [12], row_group_rows=5)
    for name in ("part-00000.parquet", MANIFEST):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_rerun_replaces_the_previous_set_whole(tmp_path):
    fs, target = LocalFileSystem(), tmp_path / "set"
    write(fs, target, [25], rows_per_file=10)
    assert len(list(target.glob("*.parquet"))) == 3
    write(fs, target, [4], rows_per_file=10)
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "part-00000.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_an_empty_interval_still_has_a_part_with_the_schema(tmp_path):
    names = write(LocalFileSystem(), tmp_path / "empty", [])
    table = pq.read_table(tmp_path / "empty" / names[0])
    assert table.num_rows == 0 and table.schema.equals(SCHEMA)


def test_a_failure_leaves_the_previous_set_untouched(tmp_path):
    fs, target = LocalFileSystem(), tmp_path / "set"
    write(fs, target, [5])
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(RuntimeError, match="quota"):
        with FileSetWriter(fs, str(target), SCHEMA, row_group_rows=2) as writer:
            for b in batches([3, 3]):
                writer.write(b)
            raise RuntimeError("quota reached")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # the staging directory is gone


def test_an_object_store_gets_the_parts_then_the_manifest(tmp_path):
    fs = fsspec.filesystem("memory")
    target = f"/bucket-{tmp_path.name}/Contact/2024"
    write(fs, target, [25], rows_per_file=10)
    write(fs, target, [5], rows_per_file=10)
    assert sorted(fs.ls(target, detail=False)) == [f"{target}/{MANIFEST}", f"{target}/part-00000.parquet"]
    assert [p for p in fs.ls(f"/bucket-{tmp_path.name}/Contact", detail=False) if "tmp" in p] == []


@pytest.mark.parametrize("bad", ["/", ""])
def test_the_target_must_be_a_directory_name(bad):
    with pytest.raises(ValueError, match="must name a directory"):
        FileSetWriter(LocalFileSystem(), bad, SCHEMA)


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        FileSetWriter(LocalFileSystem(), str(tmp_path / "taken"), SCHEMA)


def test_batches_of_another_schema_are_refused(tmp_path):
    with (
        FileSetWriter(LocalFileSystem(), str(tmp_path / "x"), SCHEMA) as writer,
        pytest.raises(ValueError, match="schema"),
    ):
        writer.write(pa.record_batch({"Id": ["a"]}))
