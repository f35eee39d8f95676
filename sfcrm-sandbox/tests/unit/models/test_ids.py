"""Record Ids: the case suffix, well-formedness and key prefixes, checked against real Ids."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.ids import KEY_PREFIXES, canonical_id, case_suffix, is_id_of, object_of_id

# 15-character Ids and the suffix Salesforce returns with them (Ids seen in real orgs).
REAL_IDS = [
    ("003ak00000luKU1", "AAM"),
    ("00Di0000000icUB", "EAY"),
    ("001RM000003oLnn", "YAE"),
    ("70130000001tcyI", "AAQ"),
    ("003G000001SUbc4", "IAD"),
]


@pytest.mark.parametrize(("id15", "suffix"), REAL_IDS)
def test_case_suffix_of_real_ids(id15, suffix):
    assert case_suffix(id15) == suffix
    assert canonical_id(id15) == id15 + suffix
    assert canonical_id(id15 + suffix) == id15 + suffix


@pytest.mark.parametrize(
    ("id15", "suffix"),
    [
        ("000000000000000", "AAA"),
        ("ABCDEFGHIJKLMNO", "555"),
        ("AaaAABbbBBCccCC", "ZZZ"),
        ("AAaAAbbBBBCcCCC", "123"),
    ],
)
def test_every_suffix_symbol_is_reachable(id15, suffix):
    assert case_suffix(id15) == suffix


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("003ak00000luKU1aam", "003ak00000luKU1AAM"),  # the suffix is case-insensitive
        ("003ak00000luKU1aAm", "003ak00000luKU1AAM"),
        ("003ak00000luKU1AAA", None),  # a suffix that does not match the 15 characters
        ("003AK00000LUKU1AAM", None),  # the 15 characters are case-sensitive
        ("003ak00000luKU", None),  # 14 characters
        ("003ak00000luKU1A", None),  # 16
        ("003ak00000luKU1AAM0", None),  # 19
        ("003ak00000luKU-", None),  # not base 62
        ("003ak00000luKé1", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_canonical_id(value, expected):
    assert canonical_id(value) == expected


def test_key_prefixes_lead_back_to_their_object():
    assert len(set(KEY_PREFIXES.values())) == len(KEY_PREFIXES)
    for sobject, prefix in KEY_PREFIXES.items():
        assert object_of_id(prefix + "ak00000000001") == sobject
    assert object_of_id("a0Dxx0000000001") is None


def test_is_id_of():
    assert is_id_of("003ak00000luKU1AAM", "Contact")
    assert not is_id_of("003ak00000luKU1AAM", "Lead")
    assert not is_id_of("003ak00000luKU1AAA", "Contact")
