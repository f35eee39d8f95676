"""Typed mapping: field types from describe, range and picklist checks, and the typed JSON sent."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.typed_values import (
    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
    NUMBER_OUTSIDE_VALID_RANGE,
    TOO_MANY_ENUM_VALUE,
    FieldType,
    choice_checks,
    java_double_text,
    range_checks,
    selections,
    sendable,
)


def _failing(checks, values):
    return {
        int(pos): (check.code, check.message(values[int(pos)]))
        for check in checks
        for pos in np.flatnonzero(check.mask)
    }


def _picklist(kind="picklist", restricted=True, **more):
    values = [
        {"value": "Gold", "active": True},
        {"value": "Silver", "active": True},
        {"value": "Tin", "active": False},
    ]
    return FieldType.from_describe(
        {
            "name": "Tier__c",
            "label": "Tier",
            "type": kind,
            "length": 255,
            "restrictedPicklist": restricted,
            "picklistValues": values,
            **more,
        }
    )


def test_field_type_from_describe():
    field = FieldType.from_describe(
        {"name": "Amount__c", "label": "Amount", "type": "Currency", "precision": 8, "scale": 2, "digits": 0}
    )
    assert (field.type, field.precision, field.scale, field.digits) == ("currency", 8, 2, 0)
    assert _picklist().values == ("Gold", "Silver")  # inactive values are not offered
    assert _picklist().restricted


@pytest.mark.parametrize(
    ("describe", "values", "bad"),
    [
        # Currency(8, 2): at most 6 digits before the point once rounded half up to 2 decimals.
        (
            {"type": "currency", "precision": 8, "scale": 2},
            ["999999.99", "999999.994", "999999.995", "-1000000", "1e6", "abc", None, ""],
            {2: "999999.995", 3: "-1000000.0", 4: "1000000.0"},
        ),
        ({"type": "percent", "precision": 5, "scale": 2}, ["999.99", "999.995", "12.5"], {1: "999.995"}),
        ({"type": "double", "precision": 3, "scale": 0}, [999.4, 999.5, float("nan")], {1: "999.5"}),
        ({"type": "int", "digits": 8}, ["99999999", "100000000", "12.5"], {1: "1.0E8"}),
        ({"type": "double", "precision": 18, "scale": 2}, ["1e300"], {0: "1.0E300"}),
        ({"type": "double"}, ["1e300"], {}),  # no precision: not checked
    ],
)
def test_numbers_must_fit_their_field(describe, values, bad):
    field = FieldType.from_describe({"name": "N__c", "label": "N", **describe})
    array = pa.array(values)
    failing = _failing(range_checks(array, field), array.to_pylist())
    assert {pos: code for pos, (code, _) in failing.items()} == dict.fromkeys(bad, NUMBER_OUTSIDE_VALID_RANGE)
    for pos, shown in bad.items():
        assert failing[pos][1] == f"N: value outside of valid range on numeric field: {shown}"


def test_restricted_picklist_takes_only_its_active_values_exactly():
    values = ["Gold", " Silver ", "gold", "Tin", "Platinum", None, ""]
    failing = _failing(choice_checks(pa.array(values), _picklist()), values)
    assert sorted(failing) == [2, 3, 4]
    assert failing[3] == (
        INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
        "Tier: bad value for restricted picklist field: Tin",
    )


def test_unrestricted_picklist_takes_anything():
    assert choice_checks(pa.array(["Platinum"]), _picklist(restricted=False)) == []


def test_multi_select_values_are_each_checked_and_counted():
    field = _picklist("multipicklist", length=4099)
    values = ["Gold;Silver", " Gold ; Gold ;", "Gold;Tin", ";".join(f"v{i}" for i in range(101)), "", None]
    failing = _failing(choice_checks(pa.array(values), field), values)
    assert failing == {
        2: (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, "Tier: bad value for restricted picklist field: Tin"),
        3: (TOO_MANY_ENUM_VALUE, "Tier: too many values selected: 101 (at most 100)"),
    }
    assert selections(" Gold ; Gold ;;Silver") == ["Gold", "Silver"]


@pytest.mark.parametrize(
    ("kind", "values", "sent"),
    [
        ("double", pa.array(["12.5", " -3 ", "", None]), [12.5, -3.0, None, None]),
        ("int", pa.array(["12", "12.0", " 7 "]), [12, 12, 7]),
        ("int", pa.array([12.0, float("nan")]), [12, None]),
        ("currency", pa.array(["1e3"]), [1000.0]),
        ("boolean", pa.array(["true", " FALSE ", "", None]), [True, False, None, None]),
        (
            "date",
            pa.array(["2024-01-31", "2024-01-31T23:00:00-05:00", " "]),
            ["2024-01-31", "2024-01-31", None],
        ),
        (
            "date",
            pa.array([dt.datetime(2024, 1, 31, 23, tzinfo=dt.timezone.utc)], pa.timestamp("us", "UTC")),
            ["2024-01-31"],
        ),
        ("datetime", pa.array(["2024-01-31T10:00:00+01:00", ""]), ["2024-01-31T09:00:00.000Z", None]),
        (
            "datetime",
            pa.array(
                [dt.datetime(2024, 1, 31, 10, tzinfo=dt.timezone.utc)], pa.timestamp("ms", "Europe/Paris")
            ),
            ["2024-01-31T10:00:00.000Z"],
        ),
        ("datetime", pa.array([dt.datetime(2024, 1, 31, 10)]), ["2024-01-31T10:00:00.000Z"]),  # naive: UTC
        ("datetime", pa.array([dt.date(2024, 1, 31)]), ["2024-01-31T00:00:00.000Z"]),
        ("multipicklist", pa.array([" Gold ;Silver;Gold", " ; "]), ["Gold;Silver", None]),
    ],
)
def test_values_are_sent_typed(kind, values, sent):
    field = FieldType(name="X__c", label="X", type=kind)
    assert sendable(values, field).to_pylist() == sent


@pytest.mark.parametrize("kind", ["string", "email", "phone", "url", "picklist", "textarea", "reference"])
def test_text_is_sent_as_it_comes(kind):
    assert sendable(pa.array(["x"]), FieldType(name="X__c", label="X", type=kind)) is None


@pytest.mark.parametrize(
    ("number", "java"),
    [(0.0, "0.0"), (10, "10.0"), (12.5, "12.5"), (1e19, "1.0E19"), (-1.5e-5, "-1.5E-5"), (1e7, "1.0E7")],
)
def test_numbers_in_messages_are_printed_as_java_prints_doubles(number, java):
    assert java_double_text(number) == java
