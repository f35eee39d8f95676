"""Pure helpers of the collections writer: batches, limit header, auto-assign, JSON values."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from airflow_provider_sfcrm.activation.batching import (
    auto_assign_header,
    batch_ranges,
    count_by_code,
    duplicate_rule_header,
    parse_limit_info,
    to_api_record,
)
from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.json_values import UnsendableValueError


@pytest.mark.parametrize(
    ("count", "size", "lengths"),
    [(0, 200, []), (1, 200, [1]), (200, 200, [200]), (401, 200, [200, 200, 1]), (5, 2, [2, 2, 1])],
)
def test_batch_ranges_cover_every_record_once(count, size, lengths):
    ranges = batch_ranges(count, size)
    assert [len(r) for r in ranges] == lengths
    assert [i for r in ranges for i in r] == list(range(count))


@pytest.mark.parametrize("size", [0, 201, -1, 2.5, True, "200"])
def test_batch_size_outside_1_to_200_is_refused(size):
    with pytest.raises(ValueError, match="batch_size"):
        batch_ranges(10, size)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=10018/100000", (10018, 100000)),
        ("api-usage=5/15000; per-app-api-usage=17/250(appName=x)", (5, 15000)),
        (None, None),
        ("", None),
        ("garbage", None),
    ],
)
def test_parse_limit_info(header, expected):
    assert parse_limit_info(header) == expected


RULE_ID = to18("01Qxx0000000001")


@pytest.mark.parametrize(
    ("value", "header"), [(False, "FALSE"), (True, "TRUE"), (RULE_ID, RULE_ID), (RULE_ID[:15], RULE_ID[:15])]
)
def test_auto_assign_header(value, header):
    assert auto_assign_header(value) == header


@pytest.mark.parametrize("value", ["TRUE", "003xx0000000001AAA", "01Qxx0000000001XXX", "01Q", None, 1])
def test_auto_assign_refuses_anything_but_booleans_and_rule_ids(value):
    with pytest.raises(ValueError, match="AssignmentRule"):
        auto_assign_header(value)


def test_to_api_record_adds_type_and_leaves_the_callers_dict_alone():
    record = {
        "LastName": "Doe",
        "Birthdate": dt.date(1990, 1, 2),
        "Seen__c": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
        "Score__c": decimal.Decimal("1.5"),
    }
    before = dict(record)
    api_record = to_api_record(record, "Contact")
    assert record == before
    assert api_record == {
        "attributes": {"type": "Contact"},
        "LastName": "Doe",
        "Birthdate": "1990-01-02",
        "Seen__c": "2024-05-06T07:08:09+00:00",
        "Score__c": 1.5,
    }


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (object(), "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        (float("inf"), "NON_FINITE_NUMBER"),
        (float("-inf"), "NON_FINITE_NUMBER"),
        (float("nan"), "NON_FINITE_NUMBER"),
        (decimal.Decimal("Infinity"), "NON_FINITE_NUMBER"),
    ],
)
def test_to_api_record_names_the_unsendable_field_and_its_code(value, code):
    with pytest.raises(UnsendableValueError, match="'Blob__c'") as excinfo:
        to_api_record({"LastName": "Doe", "Blob__c": value}, "Contact")
    assert (excinfo.value.field, excinfo.value.code) == ("Blob__c", code)


def test_to_api_record_sends_a_parent_by_its_external_id():
    record = {
        "LastName": "Doe",
        "Account": {"Ext_Id__c": "A-1"},
        "Who": {"attributes": {"type": "Lead"}, "N__c": 2},
    }
    assert to_api_record(record, "Task") == {
        "attributes": {"type": "Task"},
        "LastName": "Doe",
        "Account": {"Ext_Id__c": "A-1"},
        "Who": {"attributes": {"type": "Lead"}, "N__c": 2},
    }


@pytest.mark.parametrize("value", [{}, {"A__c": 1, "B__c": 2}, {"not a name": 1}, {"Ext__c": [1]}])
def test_to_api_record_refuses_what_is_no_parent_reference(value):
    with pytest.raises(UnsendableValueError, match="'Account") as excinfo:
        to_api_record({"Account": value}, "Contact")
    assert excinfo.value.code == "INVALID_TYPE_ON_FIELD_IN_RECORD"


def test_count_by_code_orders_by_frequency():
    assert count_by_code(["B", "A", "B", "C"]) == {"B": 2, "A": 1, "C": 1}


@pytest.mark.parametrize(
    ("options", "header"),
    [
        (None, None),
        ({}, None),
        ({"allow_save": None}, None),
        ({"allow_save": True}, "allowSave=true"),
        ({"allow_save": False}, "allowSave=false"),
        (
            {"run_as_current_user": True, "allow_save": True, "include_record_details": False},
            "allowSave=true; includeRecordDetails=false; runAsCurrentUser=true",
        ),
    ],
)
def test_duplicate_rule_header(options, header):
    assert duplicate_rule_header(options) == header


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"allowSave": True}, r"unknown option\(s\) \['allowSave'\]"),
        ({"allow_save": "true"}, "allow_save must be True, False or None"),
        ({"allow_save": 1}, "allow_save must be True, False or None"),
        (["allow_save"], "must be a mapping of options"),
    ],
)
def test_duplicate_rule_header_refuses_what_salesforce_does_not_define(options, words):
    with pytest.raises(ValueError, match=words):
        duplicate_rule_header(options)
