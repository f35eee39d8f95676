"""Duplicates by identity across chunks, found on disk: the last row wins."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.dedup import DuplicateFinder, identity_keys
from airflow_provider_sfcrm.activation.ids import to18

ID15 = "003ak00000luKU1"


def _keys(values, **kwargs):
    return identity_keys(
        pa.array(values, pa.string()), **{"by_salesforce_id": True, "case_sensitive": True, **kwargs}
    )


def find_duplicates(chunks, ranges=None) -> dict[int, int]:
    """``{row: winner}`` as the second pass sees it, walking ``ranges`` (default: the whole segment)."""
    with DuplicateFinder() as finder:
        for chunk in chunks:
            finder.add(chunk)
        found: dict[int, int] = {}
        for start, end in ranges or [(0, finder.rows)]:
            rows, winners = finder.within(start, end)
            found.update(zip(rows.tolist(), winners.tolist(), strict=True))
        return found


def test_last_row_wins_across_chunks():
    chunks = [
        _keys(["003A00000000001", "003A00000000002"]),
        _keys(["003A00000000001", None]),
        _keys([None, "003A00000000001"]),
    ]
    assert find_duplicates(chunks) == {0: 5, 2: 5}


def test_walking_the_segment_range_by_range_finds_each_duplicate_once():
    keys = [f"003A0000000{i % 1000:04d}" for i in range(5000)]  # each id five times
    found = find_duplicates([_keys(keys[:2500]), _keys(keys[2500:])], [(0, 7), (7, 1234), (1234, 5000)])
    assert len(found) == 4000
    assert all(winner == 4000 + row % 1000 for row, winner in found.items())


def test_losers_counts_the_rows_that_lose_to_a_later_twin_before_the_second_pass():
    with DuplicateFinder() as finder:
        assert finder.losers() == 0
        finder.add(_keys(["003A00000000001", "003A00000000002", None, "003A00000000001"]))
        finder.add(_keys(["003A00000000001", None, "003A00000000003", "003A00000000002"]))
        assert finder.losers() == 3  # two earlier rows of ...001, one of ...002; missing ids never
        rows, _ = finder.within(0, finder.rows)  # counting leaves the second pass its duplicates
        assert rows.tolist() == [0, 1, 3]


def test_a_range_with_no_duplicates_gives_empty_arrays():
    with DuplicateFinder() as finder:
        finder.add(_keys(["003A00000000001", "003A00000000002", "003A00000000001"]))
        rows, winners = finder.within(1, 2)
        assert rows.size == winners.size == 0
        assert finder.within(2, 3)[0].size == 0


def test_fifteen_and_eighteen_character_ids_are_one_person():
    keys = _keys([ID15, to18(ID15), to18(ID15)[:15] + to18(ID15)[15:].lower()])
    assert find_duplicates([keys]) == {0: 2, 1: 2}


def test_ids_differing_only_in_case_are_different_people():
    assert find_duplicates([_keys(["003A00000000001", "003a00000000001"])]) == {}


@pytest.mark.parametrize(("case_sensitive", "expected"), [(False, {0: 1}), (True, {})])
def test_external_ids_compare_as_the_field_does(case_sensitive, expected):
    keys = _keys(["E-1", "e-1"], by_salesforce_id=False, case_sensitive=case_sensitive)
    assert find_duplicates([keys]) == expected


def test_missing_identities_never_match():
    assert find_duplicates([_keys([None, "", "  ", None])]) == {}


def test_no_chunks_no_duplicates():
    assert find_duplicates([]) == {}


def test_the_temporary_database_is_removed(tmp_path):
    with DuplicateFinder(str(tmp_path)) as finder:
        finder.add(_keys(["003A00000000001", "003A00000000001"]))
        assert finder.within(0, 2)[0].tolist() == [0]
        assert list(tmp_path.iterdir())
    assert list(tmp_path.iterdir()) == []
