"""What a value must be to go to a Salesforce field (values), and how it becomes JSON (json_values)."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.json_values import (
    INVALID_TYPE,
    NON_FINITE_NUMBER,
    UnsendableValueError,
    json_value,
)
from airflow_provider_sfcrm.activation.values import column_type_problems, text_column_problem, value_checks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("x", "x"),
        (True, True),
        (3, 3),
        (2.5, 2.5),
        (decimal.Decimal("1.25"), 1.25),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.time(10, 30), "10:30:00"),
        (np.int64(7), 7),
        (np.float32(0.5), 0.5),
    ],
)
def test_json_value_of_what_json_can_carry(value, expected):
    assert json_value(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (math.inf, NON_FINITE_NUMBER),
        (-math.inf, NON_FINITE_NUMBER),
        (math.nan, NON_FINITE_NUMBER),
        (np.float64("inf"), NON_FINITE_NUMBER),
        (decimal.Decimal("-Infinity"), NON_FINITE_NUMBER),
        (b"bytes", INVALID_TYPE),
        ([1, 2], INVALID_TYPE),
        ({"a": 1}, INVALID_TYPE),
    ],
)
def test_json_value_refuses_what_json_cannot_carry_naming_the_field(value, code):
    with pytest.raises(UnsendableValueError, match="'Revenue__c'") as info:
        json_value(value, "Revenue__c")
    assert (info.value.field, info.value.code) == ("Revenue__c", code)


@pytest.mark.parametrize(
    ("kind", "sf_type", "fits"),
    [
        (pa.string(), "double", True),
        (pa.float64(), "currency", True),
        (pa.int32(), "string", True),
        (pa.date32(), "datetime", True),
        (pa.timestamp("us"), "date", True),
        (pa.bool_(), "boolean", True),
        (pa.null(), "double", True),
        (pa.dictionary(pa.int8(), pa.string()), "picklist", True),
        (pa.bool_(), "double", False),
        (pa.date32(), "double", False),
        (pa.float64(), "boolean", False),
        (pa.list_(pa.string()), "string", False),
        (pa.binary(), "base64", False),
        (pa.struct([("a", pa.int8())]), "textarea", False),
    ],
)
def test_column_types_a_field_can_take(kind, sf_type, fits):
    problem = column_type_problems("col", kind, "Lead.Field__c", sf_type)
    assert (problem is None) == fits
    if not fits:
        assert "column 'col'" in problem and "Lead.Field__c" in problem


@pytest.mark.parametrize(
    ("kind", "role", "fits"),
    [
        (pa.string(), "identity", True),
        (pa.int64(), "identity", True),
        (pa.float64(), "identity", False),
        (pa.string(), "status", True),
        (pa.int64(), "status", False),
        (pa.list_(pa.string()), "status", False),
    ],
)
def test_identity_and_status_columns_hold_text(kind, role, fits):
    assert (text_column_problem("c", kind, role) is None) == fits


def _failing(values: pa.Array, sf_type: str) -> dict[int, tuple[str, str]]:
    found = {}
    for check in value_checks(values, "Label", sf_type):
        for pos in np.flatnonzero(check.mask):
            found[int(pos)] = (check.code, check.message(values[int(pos)].as_py()))
    return found


def test_non_finite_numbers_fail_whatever_the_field_and_nan_passes():
    values = pa.array([1.5, math.inf, None, math.nan, -math.inf])
    for sf_type in ("double", "string"):
        failing = _failing(values, sf_type)
        assert sorted(failing) == [1, 4]
        assert failing[1] == (NON_FINITE_NUMBER, "Label: inf is not a finite number")


@pytest.mark.parametrize(
    ("sf_type", "values", "bad"),
    [
        ("double", ["1", " -2.5 ", "3e4", ".5", "", None, "abc", "1,5", "inf", "nan"], [6, 7, 8, 9]),
        ("int", ["12", " -3 ", "12.0", "12.5", "1e3"], [3, 4]),
        ("boolean", ["true", "FALSE", " True ", "yes", "1"], [3, 4]),
        ("date", ["2026-01-31", "2026-02-30", "2026-01-31T10:00:00Z", "31/01/2026", ""], [1, 3]),
        ("datetime", ["2026-01-31T10:00:00Z", "2026-01-31 10:00", "2026-01-31T10:00+01", "noon"], [1, 2, 3]),
        ("string", ["anything", ""], []),
    ],
)
def test_text_values_are_checked_against_the_field_type(sf_type, values, bad):
    failing = _failing(pa.array(values, pa.string()), sf_type)
    assert sorted(failing) == bad
    assert all(
        code == INVALID_TYPE and "value not of required type" in text for code, text in failing.values()
    )


def test_fractions_fail_whole_number_fields():
    assert sorted(_failing(pa.array([1.0, 2.5, None]), "int")) == [1]
