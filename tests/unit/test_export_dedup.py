"""Duplicates by identity across chunks: the last row wins."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.dedup import find_duplicates, identity_keys
from airflow_provider_sfcrm.activation.ids import to18

ID15 = "003ak00000luKU1"


def _keys(values, **kwargs):
    return identity_keys(
        pa.array(values, pa.string()), **{"by_salesforce_id": True, "case_sensitive": True, **kwargs}
    )


def test_last_row_wins_across_chunks():
    chunks = [
        _keys(["003A00000000001", "003A00000000002"]),
        _keys(["003A00000000001", None]),
        _keys([None, "003A00000000001"]),
    ]
    assert find_duplicates(chunks) == {0: 5, 2: 5}


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
