"""Salesforce record Ids: checksums, 15/18-character forms, well-formedness and key prefixes."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.ids import KEY_PREFIXES, checksum, has_prefix_of, is_well_formed, to18

# Real Ids and their checksums (Ids seen in real orgs).
REAL_IDS = [
    ("003ak00000luKU1", "AAM"),
    ("00Di0000000icUB", "EAY"),
    ("001RM000003oLnn", "YAE"),
]


@pytest.mark.parametrize(("id15", "suffix"), REAL_IDS)
def test_checksum_of_real_ids(id15, suffix):
    assert checksum(id15) == suffix


@pytest.mark.parametrize(("id15", "suffix"), REAL_IDS)
def test_to18_appends_the_checksum(id15, suffix):
    assert to18(id15) == id15 + suffix


@pytest.mark.parametrize(
    ("id15", "suffix"),
    [
        ("000000000000000", "AAA"),  # no upper-case letter: every chunk is 0
        ("AAAAAAAAAAAAAAA", "555"),  # every character upper-case: every chunk is 31
        ("A0000B0000C0000", "BBB"),  # bit 0 of each chunk
        ("0000Z0000Z0000Z", "QQQ"),  # bit 4 of each chunk (16)
        ("aaaaaaaaaaaaaaa", "AAA"),  # lower-case letters do not count
        ("Ab000cD000EfG00", "BCF"),  # 1, 2, 1+4
    ],
)
def test_checksum_bits(id15, suffix):
    assert checksum(id15) == suffix


def test_to18_keeps_an_18_character_id():
    assert to18("003ak00000luKU1AAM") == "003ak00000luKU1AAM"


@pytest.mark.parametrize("bad", ["", "003", "003ak00000luKU", "003ak00000luKU1A", "003ak00000luKU1AAMX"])
def test_to18_refuses_other_lengths(bad):
    with pytest.raises(ValueError, match="15 or 18 characters"):
        to18(bad)


@pytest.mark.parametrize("bad", ["003ak00000luK-1", "003ak00000luK 1", "003ak00000luKU\n", "003ak00000luKé1"])
def test_to18_refuses_other_characters(bad):
    with pytest.raises(ValueError, match="letters and digits"):
        to18(bad)


@pytest.mark.parametrize(
    "record_id",
    [
        "003ak00000luKU1",
        "003ak00000luKU1AAM",
        "003ak00000luKU1aam",  # the checksum is case-insensitive
        "003ak00000luKU1AaM",
        "00Di0000000icUBEAY",
        "001RM000003oLnnYAE",
    ],
)
def test_well_formed_ids(record_id):
    assert is_well_formed(record_id) is True


@pytest.mark.parametrize(
    "record_id",
    [
        None,
        3,
        b"003ak00000luKU1AAM",
        "",
        "003ak00000luKU",  # 14
        "003ak00000luKU1A",  # 16
        "003ak00000luKU1AAMA",  # 19
        "003ak00000luKU1AAN",  # wrong checksum
        "003ak00000luKu1AAM",  # one letter's case changed: the checksum no longer fits
        "003ak00000luK-1",
        "003ak00000luK_1AAM",
        "003ak00000luKU\n",  # a trailing newline is not a character of an Id
        "003ak00000luKU1AA\n",
        " 03ak00000luKU1",
    ],
)
def test_malformed_ids(record_id):
    assert is_well_formed(record_id) is False


@pytest.mark.parametrize(
    ("record_id", "sobject", "expected"),
    [
        ("003ak00000luKU1AAM", "Contact", True),
        ("003ak00000luKU1", "Contact", True),
        ("003ak00000luKU1AAM", "Lead", False),
        ("00Qak00000luKU1", "Lead", True),
        ("00qak00000luKU1", "Lead", False),  # prefixes are case-sensitive: 00q is not 00Q
        ("001RM000003oLnnYAE", "Account", True),
        ("00Di0000000icUBEAY", "Organization", True),
        ("003ak00000luKU1AAM", "Nope__c", False),  # unknown objects never match
    ],
)
def test_has_prefix_of(record_id, sobject, expected):
    assert has_prefix_of(record_id, sobject) is expected


@pytest.mark.parametrize(
    ("sobject", "prefix"),
    [
        ("Account", "001"),
        ("Contact", "003"),
        ("Lead", "00Q"),
        ("Opportunity", "006"),
        ("Campaign", "701"),
        ("CampaignMember", "00v"),
        ("User", "005"),
        ("Organization", "00D"),
        ("Profile", "00e"),
        ("PermissionSet", "0PS"),
        ("CustomField", "00N"),
    ],
)
def test_key_prefixes_match_salesforce(sobject, prefix):
    assert KEY_PREFIXES[sobject] == prefix


def test_key_prefixes_are_distinct_three_character_codes():
    prefixes = list(KEY_PREFIXES.values())
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(p) == 3 and p.isalnum() for p in prefixes)
