"""Stored value forms and per-record value errors of the sandbox (no server)."""

from __future__ import annotations

import datetime as dt

import pytest

from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.objects import CONTACT, LEAD
from sfcrm_sandbox.models.values import (
    ValueRejected,
    coerce,
    format_datetime,
    is_email_address,
    salesforce_text,
    text_length,
)

FIELDS = {f.name: f for f in (*CONTACT.fields, *LEAD.fields)}


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("LastName", "Doe", "Doe"),
        ("LastName", "", None),
        ("LastName", "  Doe \t\n", "Doe"),  # text is trimmed
        ("LastName", " \t ", None),  # and nothing left is null
        ("LastName", "\u00a0Doe", "\u00a0Doe"),  # only code points up to U+0020 are trimmed
        ("Email", " Ann@Example.com ", "Ann@Example.com"),
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


def test_datetimes():
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    assert format_datetime(moment) == "2026-01-02T03:04:05.678+0000"


@pytest.mark.parametrize(
    ("text", "length"), [("abc", 3), ("é", 1), ("中文", 2), ("😀", 2), ("a😀b", 4), ("𠮟", 2), ("", 0)]
)
def test_lengths_count_utf16_code_units(text, length):
    assert text_length(text) == length


def test_length_limit_counts_a_surrogate_pair_twice():
    last_name = FIELDS["LastName"]  # 80 characters
    assert coerce(last_name, "x" * 78 + "😀") == "x" * 78 + "😀"
    with pytest.raises(ValueRejected) as rejected:
        coerce(last_name, "x" * 79 + "😀")
    assert rejected.value.error["statusCode"] == "STRING_TOO_LONG"


@pytest.mark.parametrize(
    "address",
    [
        "ann@example.com",
        "Ann.Lee+tag@mail.example.co.uk",
        "a..b@test.jp",  # consecutive dots: allowed by Salesforce, unlike RFC 5322
        "a.@test.jp",  # and a final dot
        "!#$%&'*+-/=?^_`{|}~@example.com",
        "a@b-c.d",
        "1@2.3",
    ],
)
def test_email_addresses_accepted(address):
    assert is_email_address(address)


@pytest.mark.parametrize(
    "address",
    [
        ".ann@example.com",  # a leading dot is refused
        "ann@example",  # no dot in the domain
        "ann@@example.com",
        "ann@exa@mple.com",
        "@example.com",
        "ann@",
        "ann",
        "ann lee@example.com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@exa_mple.com",
        "ann@example..com",
        "ann@.example.com",
        "ann@example.com.",
        "anné@example.com",  # non-ASCII needs Email Address Internationalization
        "ann@exämple.com",
        '"ann lee"@example.com',  # quoted local parts are not accepted
        "ann(comment)@example.com",
    ],
)
def test_email_addresses_refused(address):
    assert not is_email_address(address)


def test_salesforce_text():
    assert salesforce_text("\x00\x1f x \x20") == "x"
    assert salesforce_text("   ") is None
