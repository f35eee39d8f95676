"""Records to typed batches: REST JSON pages and Bulk API 2.0 CSV, and values that do not fit."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.extraction.convert import ConversionError, csv_to_batches, records_to_batch
from airflow_provider_sfcrm.extraction.schema import arrow_schema, select_columns
from tests.unit.extraction._describe import describe

COLUMNS = select_columns(
    describe(),
    [
        "Email",
        "HasOptedOutOfEmail",
        "NumberOfEmployees",
        "Score__c",
        "AnnualRevenue",
        "Birthdate",
        "CreatedDate",
        "BestTime__c",
        "Interests__c",
    ],
)
SCHEMA = arrow_schema(COLUMNS)
UTC = dt.timezone.utc

RECORD = {
    "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003"},
    "Id": "003ak00000luKU1AAM",
    "Email": "ada@example.com",
    "HasOptedOutOfEmail": True,
    "NumberOfEmployees": 12,
    "Score__c": 9,
    "AnnualRevenue": 1234.5,
    "Birthdate": "1815-12-10",
    "CreatedDate": "2024-01-31T10:00:00.000+0000",
    "BestTime__c": "10:15:30.250Z",
    "Interests__c": "golf;tennis",
    "SystemModstamp": "2024-01-31T10:30:00.000+0000",
    "IsDeleted": False,
}
EXPECTED = {
    "Id": "003ak00000luKU1AAM",
    "Email": "ada@example.com",
    "HasOptedOutOfEmail": True,
    "NumberOfEmployees": 12,
    "Score__c": 9.0,
    "AnnualRevenue": decimal.Decimal("1234.50"),
    "Birthdate": dt.date(1815, 12, 10),
    "CreatedDate": dt.datetime(2024, 1, 31, 10, tzinfo=UTC),
    "BestTime__c": dt.time(10, 15, 30, 250000),
    "Interests__c": "golf;tennis",
    "SystemModstamp": dt.datetime(2024, 1, 31, 10, 30, tzinfo=UTC),
    "IsDeleted": False,
}


def test_a_rest_page_becomes_a_typed_batch():
    empty = dict.fromkeys(RECORD, None) | {"Id": "003ak00000luKU2AAM", "IsDeleted": True}
    batch = records_to_batch([RECORD, empty], COLUMNS, SCHEMA)
    assert batch.schema == SCHEMA
    assert batch.to_pylist()[0] == EXPECTED
    assert batch.to_pylist()[1] == dict.fromkeys(EXPECTED, None) | {
        "Id": "003ak00000luKU2AAM",
        "IsDeleted": True,
    }


def test_a_bulk_csv_result_becomes_the_same_batch():
    csv = (
        b'"Id","Email","HasOptedOutOfEmail","NumberOfEmployees","Score__c","AnnualRevenue","Birthdate",'
        b'"CreatedDate","BestTime__c","Interests__c","SystemModstamp","IsDeleted"\n'
        b'"003ak00000luKU1AAM","ada@example.com","true","12","9","1234.5","1815-12-10",'
        b'"2024-01-31T10:00:00.000Z","10:15:30.250Z","golf;tennis","2024-01-31T10:30:00.000Z","false"\n'
        b'"003ak00000luKU2AAM","","","","","","","","","","",""\n'
    )
    batches = list(csv_to_batches(csv, COLUMNS, SCHEMA, block_size=180))
    assert len(batches) == 2  # read block by block, not whole
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert rows[0] == EXPECTED
    assert rows[1] == dict.fromkeys(EXPECTED, None) | {"Id": "003ak00000luKU2AAM"}
    assert all(batch.schema == SCHEMA for batch in batches)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NumberOfEmployees", "many"),
        ("Birthdate", "31/12/2024"),
        ("CreatedDate", "yesterday"),
        ("AnnualRevenue", 1e30),
        ("HasOptedOutOfEmail", "yes"),
    ],
)
def test_a_value_that_does_not_fit_names_the_record_and_field(field, value):
    other = RECORD | {"Id": "003ak00000luKU9AAM"}
    with pytest.raises(
        ConversionError, match=f"record 003ak00000luKU9AAM: field {field} .* has {re.escape(repr(value))}"
    ):
        records_to_batch([RECORD, other | {field: value}], COLUMNS, SCHEMA)


def test_a_bad_bulk_value_names_the_field():
    header = ",".join(f'"{c.name}"' for c in COLUMNS)
    csv = f'{header}\n"003","","maybe","","","","","","","","",""\n'.encode()
    with pytest.raises(ConversionError, match="HasOptedOutOfEmail"):
        list(csv_to_batches(csv, COLUMNS, SCHEMA))


def test_compound_values_are_kept_as_json_text():
    columns = select_columns(describe(), ["Email"])
    batch = records_to_batch([RECORD | {"Email": {"b": 1, "a": None}}], columns, arrow_schema(columns))
    assert batch.column("Email").to_pylist() == ['{"a":null,"b":1}']
    assert pa.types.is_string(batch.schema.field("Email").type)


def test_line_breaks_inside_quoted_values_survive_block_boundaries():
    columns = select_columns(describe(), ["Email"])
    schema = arrow_schema(columns)
    notes = [f'line {n}\nstill "line" {n}, with a comma' for n in range(40)]
    csv = '"Id","Email","SystemModstamp","IsDeleted"\n' + "".join(
        f'"003ak{n:010d}AAA","{note.replace(chr(34), chr(34) * 2)}","2024-01-31T10:00:00.000Z","false"\n'
        for n, note in enumerate(notes)
    )
    batches = list(csv_to_batches(csv.encode(), columns, schema, block_size=256))
    assert len(batches) > 1
    assert [v for b in batches for v in b.column("Email").to_pylist()] == notes
