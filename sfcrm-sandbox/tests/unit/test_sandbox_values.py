"""Stored value forms and per-record value errors of the sandbox (no server)."""

from __future__ import annotations

import datetime as dt

import pytest

from sfcrm_sandbox.schema import CONTACT, LEAD, FieldSpec
from sfcrm_sandbox.values import (
    ValueRejected,
    coerce,
    format_datetime,
    normalize_id,
)

FIELDS = {f.name: f for f in (*CONTACT.fields, *LEAD.fields)}


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("LastName", "Doe", "Doe"),
        ("LastName", "", None),
        ("Title", 42, "42"),
        ("Birthdate", "2024-02-29", "2024-02-29"),
        ("EmailBouncedDate", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"),
        ("EmailBouncedDate", "2024-01-02T05:04:05.123+02:00", "2024-01-02T03:04:05.123+0000"),
        ("EmailBouncedDate", "2024-01-02T03:04:05.000+0000", "2024-01-02T03:04:05.000+0000"),
        ("DoNotCall", "TRUE", True),
        ("DoNotCall", None, False),
        ("NumberOfEmployees", "12", 12),
        ("AnnualRevenue", 12, 12.0),
        ("AccountId", "001ak000bDodFu7", "001ak000bDodFu7AQE"),
    ],
)
def test_stored_forms(field, value, stored):
    assert coerce(FIELDS[field], value) == stored


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        (
            "LastName",
            "x" * 81,
            "STRING_TOO_LONG",
            "Last Name: data value too large: " + "x" * 81 + " (max length=80)",
        ),
        ("Email", "a@b", "INVALID_EMAIL_ADDRESS", "Email: invalid email address: a@b"),
        ("Email", "no spaces@example.com", "INVALID_EMAIL_ADDRESS", None),
        (
            "AccountId",
            "003ak000bDodFu7AQE",
            "MALFORMED_ID",
            "Account ID: id value of incorrect type: 003ak000bDodFu7AQE",
        ),
        ("AccountId", "001short", "MALFORMED_ID", None),
        ("Birthdate", "2024-02-30", "INVALID_TYPE_ON_FIELD_IN_RECORD", None),
        ("NumberOfEmployees", 1.5, "INVALID_TYPE_ON_FIELD_IN_RECORD", None),
        ("DoNotCall", "maybe", "INVALID_TYPE_ON_FIELD_IN_RECORD", None),
        ("Title", True, "INVALID_TYPE_ON_FIELD_IN_RECORD", None),
    ],
)
def test_rejections(field, value, code, message):
    with pytest.raises(ValueRejected) as rejected:
        coerce(FIELDS[field], value)
    assert rejected.value.error["statusCode"] == code
    assert rejected.value.error["fields"] == [field]
    if message:
        assert rejected.value.error["message"] == message


def test_long_values_are_cut_in_the_message():
    spec = FieldSpec("Notes__c", "textarea", "Notes", 300, custom=True)
    with pytest.raises(ValueRejected) as rejected:
        coerce(spec, "y" * 1000)
    assert "(max length=300)" in rejected.value.error["message"]
    assert len(rejected.value.error["message"]) < 400


def test_ids_and_datetimes():
    assert normalize_id("003ak00000luKU1") == "003ak00000luKU1AAM"
    assert normalize_id("003ak00000luKU1aam") == "003ak00000luKU1AAM"
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    assert format_datetime(moment) == "2026-01-02T03:04:05.678+0000"
