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


def _custom(metadata):
    from sfcrm_sandbox.models.custom_fields import custom_field_spec

    return custom_field_spec("X__c", {"label": "X", **metadata})


NUMBER_8_2 = {"type": "Number", "precision": 8, "scale": 2}
TIERS = {
    "valueSet": {
        "restricted": True,
        "valueSetDefinition": {
            "value": [{"fullName": "Gold"}, {"fullName": "Silver"}, {"fullName": "Tin", "isActive": False}]
        },
    }
}


@pytest.mark.parametrize(
    ("metadata", "value", "stored"),
    [
        (NUMBER_8_2, "123456.78", 123456.78),
        (NUMBER_8_2, 999999.994, 999999.99),  # digits beyond the scale are rounded half up
        (NUMBER_8_2, -999999.99, -999999.99),
        (NUMBER_8_2, "1.005", 1.01),
        (NUMBER_8_2, " 2.5e3 ", 2500.0),
        ({"type": "Currency", "precision": 3, "scale": 0}, 999, 999.0),
        ({"type": "Percent", "precision": 5, "scale": 2}, "12.5", 12.5),
        ({"type": "Picklist", **TIERS}, " Gold ", "Gold"),
        ({"type": "Picklist", "valueSet": {**TIERS["valueSet"], "restricted": False}}, "Bronze", "Bronze"),
        ({"type": "Picklist", "valueSet": {**TIERS["valueSet"], "restricted": False}}, "Tin", "Tin"),
        ({"type": "MultiselectPicklist", "visibleLines": 3, **TIERS}, "Gold; Silver;;Gold", "Gold;Silver"),
        ({"type": "MultiselectPicklist", "visibleLines": 3, **TIERS}, ";", None),
        ({"type": "Phone"}, "+33 (0)1 23 45 67 89", "+33 (0)1 23 45 67 89"),
        ({"type": "Url"}, "not even a url", "not even a url"),  # URL fields check no format
        ({"type": "DateTime"}, "2024-01-02T03:04", "2024-01-02T03:04:00.000+0000"),
        ({"type": "DateTime"}, "2024-01-02T03:04:05-0130", "2024-01-02T04:34:05.000+0000"),
        ({"type": "DateTime"}, "2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.500+0000"),
        ({"type": "DateTime"}, "2024-01-02", "2024-01-02T00:00:00.000+0000"),
        ({"type": "Checkbox"}, "false", False),
    ],
)
def test_typed_custom_fields(metadata, value, stored):
    assert coerce(_custom(metadata), value) == stored


@pytest.mark.parametrize(
    ("metadata", "value", "code", "message"),
    [
        (
            NUMBER_8_2,
            1000000,
            "NUMBER_OUTSIDE_VALID_RANGE",
            "X: value outside of valid range on numeric field: 1000000.0",
        ),
        (NUMBER_8_2, 999999.995, "NUMBER_OUTSIDE_VALID_RANGE", None),  # rounds up to 1,000,000.00
        (
            NUMBER_8_2,
            "1e300",  # more digits than a Decimal holds once scaled: out of range, not a crash
            "NUMBER_OUTSIDE_VALID_RANGE",
            "X: value outside of valid range on numeric field: 1.0E300",
        ),
        (
            NUMBER_8_2,
            "-1e19",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "X: value outside of valid range on numeric field: -1.0E19",
        ),
        (
            {"type": "Picklist", **TIERS},
            "Bronze",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "X: bad value for restricted picklist field: Bronze",
        ),
        ({"type": "Picklist", **TIERS}, "Tin", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None),  # inactive
        ({"type": "Picklist", **TIERS}, "gold", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None),
        (
            {"type": "MultiselectPicklist", "visibleLines": 3, **TIERS},
            "Gold;Tin",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "X: bad value for restricted picklist field: Tin",
        ),
        ({"type": "Phone"}, "1" * 41, "STRING_TOO_LONG", None),
        ({"type": "Url"}, "u" * 256, "STRING_TOO_LONG", None),
    ],
)
def test_typed_custom_field_rejections(metadata, value, code, message):
    with pytest.raises(ValueRejected) as rejected:
        coerce(_custom(metadata), value)
    assert rejected.value.error["statusCode"] == code
    assert rejected.value.error["fields"] == ["X__c"]
    assert rejected.value.json_message is None  # a value rule: per record on every API
    if message:
        assert rejected.value.error["message"] == message


def test_a_multi_select_holds_at_most_100_values():
    values = {"valueSet": {"valueSetDefinition": {"value": [{"fullName": f"v{i}"} for i in range(150)]}}}
    spec = _custom({"type": "MultiselectPicklist", "visibleLines": 3, **values})
    assert coerce(spec, ";".join(f"v{i}" for i in range(100))).count(";") == 99
    with pytest.raises(ValueRejected) as rejected:
        coerce(spec, ";".join(f"v{i}" for i in range(101)))
    assert rejected.value.error["statusCode"] == "TOO_MANY_ENUM_VALUE"


@pytest.mark.parametrize(
    ("metadata", "value", "json_message"),
    [
        (NUMBER_8_2, "a lot", "Cannot deserialize instance of double from VALUE_STRING value a lot"),
        (NUMBER_8_2, True, "Cannot deserialize instance of double from VALUE_TRUE value true"),
        (
            {"type": "Currency", "precision": 5},
            [1],
            "Cannot deserialize instance of currency from START_ARRAY value [",
        ),
        (
            {"type": "Date"},
            "31/01/2024",
            "Cannot deserialize instance of date from VALUE_STRING value 31/01/2024",
        ),
        (
            {"type": "Date"},
            20240131,
            "Cannot deserialize instance of date from VALUE_NUMBER_INT value 20240131",
        ),
        # A space between day and time is not ISO 8601 as Salesforce reads it (observed).
        (
            {"type": "DateTime"},
            "2017-10-17 00:00:00",
            "Cannot deserialize instance of datetime from VALUE_STRING",
        ),
        ({"type": "DateTime"}, "2024-07-30 20:54:16 UTC", "Cannot deserialize instance of datetime"),
        ({"type": "DateTime"}, "2024-02-30T00:00:00Z", "Cannot deserialize instance of datetime"),
        ({"type": "Checkbox"}, "yes", "Cannot deserialize instance of boolean from VALUE_STRING value yes"),
        ({"type": "Checkbox"}, 1, "Cannot deserialize instance of boolean from VALUE_NUMBER_INT value 1"),
        (
            {"type": "MultiselectPicklist", "visibleLines": 3, **TIERS},
            ["Gold"],
            "Cannot deserialize instance of multipicklist from START_ARRAY",
        ),
        (
            {"type": "Text", "length": 5},
            {"a": 1},
            "Cannot deserialize instance of string from START_OBJECT value {",
        ),
    ],
)
def test_values_of_the_wrong_kind(metadata, value, json_message):
    with pytest.raises(ValueRejected) as rejected:
        coerce(_custom(metadata), value)
    assert rejected.value.json_message.startswith(json_message)
    assert rejected.value.json_message.endswith("or request may be missing a required field")
    assert rejected.value.error["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (10, "10.0"),
        (12.5, "12.5"),
        (0.001, "0.001"),
        (1234567.0, "1234567.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (-1e19, "-1.0E19"),
        (0.0001, "1.0E-4"),
    ],
)
def test_numbers_are_printed_as_java_prints_doubles(number, text):
    from sfcrm_sandbox.models.values import java_double_text

    assert java_double_text(number) == text


def test_integer_fields_keep_their_digits():
    employees = FIELDS["NumberOfEmployees"]  # 8 digits
    assert coerce(employees, 99_999_999) == 99_999_999
    with pytest.raises(ValueRejected) as rejected:
        coerce(employees, 100_000_000)
    assert rejected.value.error["statusCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


@pytest.mark.parametrize("text", ["1_000", "١٢", "infinity", "nan", "0x10", "1e", "--1", "1,5"])
def test_numbers_are_plain_decimal_text(text):
    with pytest.raises(ValueRejected) as rejected:
        coerce(_custom(NUMBER_8_2), text)
    assert rejected.value.json_message


@pytest.mark.parametrize(
    ("metadata", "value", "stored"),
    [
        ({"type": "Checkbox"}, " TRUE\n", True),
        ({"type": "Date"}, " 2024-01-31 ", "2024-01-31"),
        ({"type": "Date"}, "2024-01-31T23:00:00Z", "2024-01-31"),
        ({"type": "DateTime"}, "2024-01-31T23:00:00.123456Z", "2024-01-31T23:00:00.123+0000"),
        (NUMBER_8_2, "+.5", 0.5),
        (NUMBER_8_2, "5.", 5.0),
    ],
)
def test_lenient_forms(metadata, value, stored):
    assert coerce(_custom(metadata), value) == stored


@pytest.mark.parametrize("text", ["2024-01-31garbage", "2024-01-31 10:00", "20240131"])
def test_dates_are_iso(text):
    with pytest.raises(ValueRejected):
        coerce(_custom({"type": "Date"}), text)
