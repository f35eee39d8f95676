"""The example DAGs' segment helpers: pivot, chunk boundaries, empty results, splitting."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
sys.path.insert(0, str(DAGS_FOLDER))

from sfcrm_examples.segments import extract_segment, pivot_memberships, split_segment  # noqa: E402

AUDIENCES = ["high_value", "newsletter"]


def long_rows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("P1", "003A", "Ada", "high_value", "realized"),
            ("P1", "003A", "Ada", "newsletter", "exited"),
            ("P2", None, "Bo", "newsletter", "existing"),
            ("P3", "003C", "Cy", "cart_abandoners", "realized"),
            ("P4", "003D", "Di", "high_value", "exited"),
            ("P4", "003D", "Di", "cart_abandoners", "existing"),
        ],
        columns=["profile_id", "salesforce_id", "first_name", "audience_id", "status"],
    )


class ChunkedHook:
    """A common-sql hook stand-in: serves a frame in chunks, as ``get_df_by_chunks`` does."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.calls: list[dict] = []

    def get_df_by_chunks(self, sql, parameters=None, *, chunksize, df_type="pandas"):
        self.calls.append({"sql": sql, "parameters": parameters, "chunksize": chunksize})
        if self.frame.empty:
            yield self.frame
        for start in range(0, len(self.frame), chunksize):
            yield self.frame.iloc[start : start + chunksize].reset_index(drop=True)


def test_pivot_gives_one_row_per_person_and_a_column_per_chosen_audience():
    wide = pivot_memberships(long_rows(), key="profile_id", audiences=AUDIENCES)
    assert list(wide.columns) == [
        "profile_id",
        "salesforce_id",
        "first_name",
        "aud_high_value",
        "aud_newsletter",
    ]
    rows = {r.profile_id: r for r in wide.itertuples()}
    assert set(rows) == {"P1", "P2", "P4"}  # P3 changed only in an audience not chosen
    assert (rows["P1"].aud_high_value, rows["P1"].aud_newsletter) == ("realized", "exited")
    assert pd.isna(rows["P2"].salesforce_id), "a person without an Id is kept (and rejected later, visibly)"
    assert rows["P2"].aud_newsletter == "existing" and pd.isna(rows["P2"].aud_high_value)


def test_pivot_refuses_two_statuses_for_one_person_and_audience():
    rows = pd.concat([long_rows(), long_rows().iloc[[0]]])
    with pytest.raises(ValueError, match="P1.*high_value"):
        pivot_memberships(rows, key="profile_id", audiences=AUDIENCES)


def test_pivot_names_missing_columns():
    with pytest.raises(ValueError, match="status"):
        pivot_memberships(long_rows().drop(columns="status"), key="profile_id", audiences=AUDIENCES)


@pytest.mark.parametrize("chunksize", [1, 2, 3, 5, 100])
def test_extract_is_the_same_whatever_the_chunk_boundaries(tmp_path: Path, chunksize: int):
    hook = ChunkedHook(long_rows())
    out = tmp_path / "segment.parquet"
    counts = extract_segment(
        hook, "SELECT 1", {"a": 1}, out, key="profile_id", audiences=AUDIENCES, chunksize=chunksize
    )
    assert counts == {"memberships": 6, "people": 3}
    assert hook.calls == [{"sql": "SELECT 1", "parameters": {"a": 1}, "chunksize": chunksize}]
    written = pd.read_parquet(out)
    expected = pivot_memberships(long_rows(), key="profile_id", audiences=AUDIENCES)
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected, check_dtype=False)


def test_an_empty_interval_still_writes_a_segment_with_every_column(tmp_path: Path):
    out = tmp_path / "segment.parquet"
    counts = extract_segment(
        ChunkedHook(long_rows().iloc[0:0]), "q", None, out, key="profile_id", audiences=AUDIENCES
    )
    assert counts == {"memberships": 0, "people": 0}
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.column_names == [
        "profile_id",
        "salesforce_id",
        "first_name",
        "aud_high_value",
        "aud_newsletter",
    ]


@pytest.mark.parametrize(("rows_per_part", "parts"), [(1, 3), (2, 2), (3, 1), (10, 1)])
def test_split_keeps_every_row_once(tmp_path: Path, rows_per_part: int, parts: int):
    segment = tmp_path / "segment.parquet"
    extract_segment(ChunkedHook(long_rows()), "q", None, segment, key="profile_id", audiences=AUDIENCES)
    paths = split_segment(segment, tmp_path / "parts", rows_per_part)
    assert len(paths) == parts
    joined = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(joined, pd.read_parquet(segment))


def test_split_of_an_empty_segment_is_one_empty_part(tmp_path: Path):
    segment = tmp_path / "segment.parquet"
    extract_segment(
        ChunkedHook(long_rows().iloc[0:0]), "q", None, segment, key="profile_id", audiences=AUDIENCES
    )
    (part,) = split_segment(segment, tmp_path / "parts", 100)
    assert pq.read_table(part).num_rows == 0


def test_split_refuses_parts_of_no_rows(tmp_path: Path):
    with pytest.raises(ValueError, match="rows_per_part"):
        split_segment(tmp_path / "x.parquet", tmp_path, 0)
