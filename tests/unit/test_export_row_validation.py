"""Per-row checks from the describe: one test per status code, and the vectorised Id check."""

from __future__ import annotations

import random
import string

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.ids import is_well_formed, to18
from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
from airflow_provider_sfcrm.activation.row_validation import (
    rules_from_describe,
    validate_chunk,
    well_formed_ids,
)
from tests.unit._export_describe import describe

GOOD_CONTACT = to18("003ak00000luKU1")
GOOD_ROW = {
    "sfid": GOOD_CONTACT,
    "ext": "E-1",
    "last": "Ng",
    "company": "Acme",
    "email": "ng@example.com",
    "aud": "realized",
}


def _rules(sobject="Contact", operation="update"):
    field_mapping = {"last": "LastName", "email": "Email"}
    if operation == "update":
        field_mapping["sfid"] = "Id"
    elif operation == "upsert":
        field_mapping["ext"] = "Ext_Id__c"
    if sobject == "Lead":
        field_mapping["company"] = "Company"
    mapping = build_mapping(
        sobject=sobject,
        operation=operation,
        field_mapping=field_mapping,
        audiences={"aud": "crm_1_seg"},
        external_id_field="Ext_Id__c" if operation == "upsert" else None,
    )
    return rules_from_describe(check_mapping_against_describe(mapping, describe(sobject)), describe(sobject))


def _check(rules, **changes):
    row = {**GOOD_ROW, **changes}
    table = pa.table({k: pa.array([v], pa.string()) for k, v in row.items()})
    return validate_chunk(table, rules).get(0, [])


@pytest.mark.parametrize(
    ("sobject", "operation", "changes", "code", "message", "fields"),
    [
        ("Contact", "update", {"sfid": None}, "MISSING_IDENTITY", "no Id in column 'sfid'", ("Id",)),
        ("Contact", "update", {"sfid": "  "}, "MISSING_IDENTITY", "no Id in column 'sfid'", ("Id",)),
        ("Lead", "upsert", {"ext": ""}, "MISSING_IDENTITY", "no Ext_Id__c in column 'ext'", ("Ext_Id__c",)),
        (
            "Contact",
            "update",
            {"sfid": "003ak00000luKU"},
            "MALFORMED_ID",
            "malformed id 003ak00000luKU",
            ("Id",),
        ),
        ("Contact", "update", {"sfid": GOOD_CONTACT[:15] + "ZZZ"}, "MALFORMED_ID", "malformed id", ("Id",)),
        ("Contact", "update", {"sfid": "003ak00000luK-1"}, "MALFORMED_ID", "malformed id", ("Id",)),
        (
            "Contact",
            "update",
            {"sfid": to18("001RM000003oLnn")},
            "MALFORMED_ID",
            f"Contact ID: id value of incorrect type: {to18('001RM000003oLnn')}",
            ("Id",),
        ),
        (
            "Lead",
            "upsert",
            {"last": None},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            ("LastName",),
        ),
        (
            "Lead",
            "upsert",
            {"last": "", "company": None},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName, Company]",
            ("LastName", "Company"),
        ),
        ("Contact", "insert", {"last": None}, "REQUIRED_FIELD_MISSING", "[LastName]", ("LastName",)),
        (
            "Contact",
            "update",
            {"last": "x" * 81},
            "STRING_TOO_LONG",
            f"Last Name: data value too large: {'x' * 81} (max length=80)",
            ("LastName",),
        ),
        (
            "Contact",
            "update",
            {"email": "not-an-email"},
            "INVALID_EMAIL_ADDRESS",
            "Email: invalid email address: not-an-email",
            ("Email",),
        ),
        (
            "Contact",
            "update",
            {"email": "a@b"},
            "INVALID_EMAIL_ADDRESS",
            "invalid email address: a@b",
            ("Email",),
        ),
        (
            "Contact",
            "update",
            {"email": ".ng@example.com"},  # Salesforce refuses a dot at the start of the local part
            "INVALID_EMAIL_ADDRESS",
            "invalid email address: .ng@example.com",
            ("Email",),
        ),
        (
            "Contact",
            "update",
            {"last": "x" * 79 + "\U0001f600"},  # 81 UTF-16 code units: Salesforce's count
            "STRING_TOO_LONG",
            "(max length=80)",
            ("LastName",),
        ),
        (
            "Contact",
            "update",
            {"email": " not an email "},  # echoed as Salesforce keeps it: trimmed
            "INVALID_EMAIL_ADDRESS",
            "Email: invalid email address: not an email",
            ("Email",),
        ),
        ("Lead", "upsert", {"last": " \t "}, "REQUIRED_FIELD_MISSING", "[LastName]", ("LastName",)),
        (
            "Contact",
            "update",
            {"aud": "qualified"},
            "INVALID_STATUS",
            "aud: status 'qualified' is not one of",
            ("crm_1_seg__c",),
        ),
    ],
)
def test_each_defect_earns_its_code(sobject, operation, changes, code, message, fields):
    errors = _check(_rules(sobject, operation), **changes)
    assert [e.status_code for e in errors] == [code]
    assert message in errors[0].message
    assert errors[0].fields == fields


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"sfid": GOOD_CONTACT[:15]},
        {"sfid": GOOD_CONTACT[:15] + GOOD_CONTACT[15:].lower()},
        {"last": None},  # an update does not create: required fields may be absent
        {"email": None},
        {"email": ""},
        {"aud": None},
        {"aud": ""},
        {"aud": " Existing "},
        {"last": "x" * 80},
        {"last": "  " + "x" * 80 + "\t"},  # Salesforce trims before it measures
        {"last": "x" * 78 + "\U0001f600"},  # 80 UTF-16 code units
        {"email": " ng@example.com "},
        {"email": "n..g.@example.com"},  # consecutive and final dots: Salesforce allows them
    ],
)
def test_good_rows_pass(changes):
    assert _check(_rules(), **changes) == []


def test_missing_identity_is_not_also_malformed():
    assert [e.status_code for e in _check(_rules(), sfid=None)] == ["MISSING_IDENTITY"]


def test_a_row_with_several_defects_gets_every_error():
    errors = _check(_rules(), email="bad", aud="nope", last="y" * 100)
    assert sorted(e.status_code for e in errors) == [
        "INVALID_EMAIL_ADDRESS",
        "INVALID_STATUS",
        "STRING_TOO_LONG",
    ]


def test_vectorised_id_check_agrees_with_the_scalar_one():
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits
    samples = []
    for _ in range(3000):
        id15 = "".join(rng.choice(alphabet) for _ in range(15))
        samples += [
            id15,
            to18(id15),
            id15 + "".join(rng.choice(alphabet) for _ in range(3)),
            id15[:14],
            id15 + "!",
        ]
    samples += [None, "", "003ak00000luKU1aam", "003ak00000luKU1AAM"]
    assert well_formed_ids(pa.array(samples, pa.string())).tolist() == [is_well_formed(s) for s in samples]


def test_non_text_columns_are_checked_as_text():
    rules = _rules()
    table = pa.table(
        {"sfid": [GOOD_CONTACT], "last": pa.array([12345], pa.int64()), "email": [None], "aud": [None]}
    )
    assert validate_chunk(table, rules) == {}
