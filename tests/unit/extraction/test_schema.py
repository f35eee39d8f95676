"""Columns and their types from describe: defaults, requested columns, compound fields, errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.extraction.schema import ColumnError, arrow_schema, arrow_type, select_columns
from tests.unit.extraction._describe import FIELDS, describe, field


def names(columns):
    return [c.name for c in columns]


def test_by_default_every_readable_field_with_compound_fields_flattened():
    columns = names(select_columns(describe()))
    assert "MailingAddress" not in columns and "Photo__c" not in columns  # compound and base64 left out
    assert {"MailingStreet", "MailingCity", "MailingLatitude", "Name", "FirstName"} <= set(columns)
    assert columns == [f["name"] for f in FIELDS if f["name"] not in ("MailingAddress", "Photo__c")]


def test_requested_columns_keep_their_order_and_gain_the_required_ones():
    columns = names(select_columns(describe(), ["email", "MailingAddress", "Email", "photo__c"]))
    assert columns == [
        "Id",
        "Email",
        "MailingStreet",
        "MailingCity",
        "MailingLatitude",
        "Photo__c",
        "SystemModstamp",
        "IsDeleted",
    ]


@pytest.mark.parametrize(
    ("requested", "complaint"),
    [
        (["Email", "Emial", "Nope__c"], r"Contact has no field\(s\) Emial, Nope__c visible to this user"),
        (["Email FROM User"], "invalid Salesforce column name"),
    ],
)
def test_unknown_or_unsafe_columns_are_named(requested, complaint):
    with pytest.raises((ColumnError, ValueError), match=complaint):
        select_columns(describe(), requested)


def test_an_object_without_the_incremental_fields_is_refused():
    with pytest.raises(ColumnError, match="Setting has no SystemModstamp, IsDeleted visible"):
        select_columns(describe("Setting", [field("Id", "id"), field("Name", "string")]))


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("id", {}, pa.string()),
        ("reference", {}, pa.string()),
        ("picklist", {}, pa.string()),
        ("multipicklist", {}, pa.string()),
        ("email", {}, pa.string()),
        ("textarea", {}, pa.string()),
        ("boolean", {}, pa.bool_()),
        ("int", {}, pa.int64()),
        ("long", {}, pa.int64()),
        ("double", {}, pa.float64()),
        ("percent", {}, pa.float64()),
        ("currency", {"precision": 18, "scale": 2}, pa.decimal128(18, 2)),
        ("currency", {"precision": 0, "scale": 0}, pa.float64()),
        ("date", {}, pa.date32()),
        ("datetime", {}, pa.timestamp("ms", tz="UTC")),
        ("time", {}, pa.time32("ms")),
    ],
)
def test_types_follow_describe(kind, extra, expected):
    assert arrow_type(field("F", kind, **extra)) == expected


def test_an_unknown_type_is_named():
    with pytest.raises(ColumnError, match="'Odd__c' has a type the extract does not know: 'hologram'"):
        arrow_type(field("Odd__c", "hologram"))


def test_the_schema_keeps_salesforces_types_and_its_metadata():
    schema = arrow_schema(select_columns(describe(), ["Email"]), {"sfcrm.sobject": "Contact"})
    assert schema.field("Email").metadata == {b"salesforce_type": b"email"}
    assert schema.metadata == {b"sfcrm.sobject": b"Contact"}
