"""Field / audience mapping, the configuration checks against a describe, and record building."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.mapping import (
    MappingError,
    build_mapping,
    build_records,
    check_mapping_against_describe,
    required_on_create,
)
from tests.unit._export_describe import account, contact_with_account, describe


def _mapping(**overrides):
    args = dict(
        sobject="Contact",
        operation="update",
        field_mapping={"sfid": "Id", "last": "LastName", "email": "Email"},
        audiences={"aud_vip": "crm_1_seg"},
    )
    args.update(overrides)
    return build_mapping(**args)


def test_update_mapping_splits_identity_attributes_and_audiences():
    mapping = _mapping(status_values={"realized": "Realized"})
    assert mapping.identity_column == "sfid"
    assert mapping.identity_field == "Id"
    assert mapping.attributes == {"last": "LastName", "email": "Email"}
    assert mapping.audiences == {"aud_vip": "crm_1_seg__c"}
    assert mapping.columns == ["sfid", "last", "email", "aud_vip"]
    assert mapping.write_key == "Id"


def test_upsert_identity_is_the_external_id_column():
    mapping = _mapping(
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
    )
    assert (mapping.identity_column, mapping.write_key, mapping.may_create) == ("ext", "Ext_Id__c", True)


def test_insert_has_no_identity():
    mapping = _mapping(operation="insert", field_mapping={"last": "LastName"})
    assert mapping.identity_column is None and mapping.write_key is None


def test_insert_may_name_the_field_that_tells_people_apart_and_still_creates():
    mapping = _mapping(
        operation="insert", field_mapping={"mail": "Email", "last": "LastName"}, external_id_field="Email"
    )
    assert (mapping.identity_column, mapping.identity_field) == ("mail", "Email")
    assert mapping.write_key is None  # records are created (POST), the identity field is sent with them


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"operation": "merge"}, "operation must be one of"),
        ({"field_mapping": {"last": "LastName"}}, "exactly one column mapped to 'Id'"),
        ({"field_mapping": {"a": "Id", "b": "Id"}}, "found 2"),
        ({"operation": "upsert"}, "needs external_id_field"),
        ({"external_id_field": "Ext_Id__c"}, 'not used with operation="update"'),
        ({"operation": "insert", "field_mapping": {"a": "Id"}}, 'no column may be mapped to "Id"'),
        ({"field_mapping": {"sfid": "Id", "x": "Bad Name"}}, "invalid Salesforce field name"),
        ({"sobject": "Contact; DROP"}, "invalid Salesforce object name"),
        ({"audiences": {"aud": "crm 1 seg"}}, "whitespace"),
        ({"status_values": {"qualified": "Q"}}, "unknown: ['qualified']"),
        ({"field_mapping": {}, "audiences": {}}, "nothing to write"),
        ({"field_mapping": {"sfid": "Id", "aud_vip": "LastName"}}, "both in field_mapping and audiences"),
        (
            {"field_mapping": {"sfid": "Id", "x": "crm_1_seg__c"}},
            "written both from field_mapping and from audiences",
        ),
    ],
)
def test_bad_configuration_is_refused_with_a_reason(overrides, words):
    with pytest.raises(MappingError, match=words.replace("(", r"\(").replace("[", r"\[")):
        _mapping(**overrides)


def test_required_on_create_comes_from_the_describe():
    assert required_on_create(describe("Contact")) == ["LastName"]
    assert required_on_create(describe("Lead")) == ["LastName", "Company"]


def test_describe_check_returns_the_org_spelling():
    mapping = check_mapping_against_describe(
        _mapping(field_mapping={"sfid": "id", "last": "lastname"}), describe()
    )
    assert mapping.identity_field == "Id"
    assert mapping.attributes == {"last": "LastName"}


@pytest.mark.parametrize(
    ("overrides", "sobject", "words"),
    [
        ({"field_mapping": {"sfid": "Id", "x": "Nope__c"}}, "Contact", "Contact.Nope__c does not exist"),
        ({"field_mapping": {"sfid": "Id", "x": "ReadOnly__c"}}, "Contact", "ReadOnly__c is not updateable"),
        ({"audiences": {"a": "crm_9_seg"}}, "Contact", "crm_9_seg__c does not exist"),
        (
            {
                "operation": "upsert",
                "external_id_field": "FirstName",
                "field_mapping": {"k": "FirstName", "l": "LastName"},
            },
            "Contact",
            "FirstName is not an External ID field",
        ),
        (
            {
                "operation": "upsert",
                "external_id_field": "Ext_Id__c",
                "field_mapping": {"k": "Ext_Id__c", "l": "LastName"},
            },
            "Lead",
            "require ['Company']",
        ),
        ({"operation": "insert", "field_mapping": {"f": "FirstName"}}, "Contact", "require ['LastName']"),
    ],
)
def test_describe_check_refuses_what_every_row_would_fail(overrides, sobject, words):
    mapping = _mapping(sobject=sobject, **overrides)
    with pytest.raises(MappingError, match=words.replace("[", r"\[").replace("(", r"\(")):
        check_mapping_against_describe(mapping, describe(sobject))


def test_records_leave_out_nulls_and_empty_statuses_and_translate_statuses():
    mapping = _mapping(
        field_mapping={"sfid": "Id", "last": "LastName", "email": "Email"},
        audiences={"aud_vip": "crm_1_seg", "aud_new": "crm_2_seg"},
        status_values={"realized": "Realized", "exited": "Exited"},
    )
    table = pa.table(
        {
            "sfid": ["003A", "003B", "003C"],
            "last": ["Ng", None, ""],
            "email": [None, "b@x.io", "c@x.io"],
            "aud_vip": ["realized", " EXITED ", None],
            "aud_new": ["existing", "", None],
            "unmapped": [1, 2, 3],
        }
    )
    assert build_records(table, mapping) == [
        {"Id": "003A", "LastName": "Ng", "crm_1_seg__c": "Realized", "crm_2_seg__c": "existing"},
        {"Id": "003B", "Email": "b@x.io", "crm_1_seg__c": "Exited"},
        {"Id": "003C", "Email": "c@x.io"},
    ]


def test_audiences_sharing_a_field_are_joined_in_order():
    mapping = _mapping(
        field_mapping={"sfid": "Id"}, audiences={"a": "crm_1_seg", "b": "crm_1_seg", "c": "crm_1_seg"}
    )
    table = pa.table(
        {"sfid": ["003A", "003B"], "a": ["realized", None], "b": [None, None], "c": ["exited", None]}
    )
    assert build_records(table, mapping) == [
        {"Id": "003A", "crm_1_seg__c": "realized;exited"},
        {"Id": "003B"},
    ]


def test_values_become_json_types():
    mapping = _mapping(
        field_mapping={"sfid": "Id", "n": "N__c", "d": "D__c", "t": "T__c", "x": "X__c", "f": "F__c"}
    )
    table = pa.table(
        {
            "sfid": ["003A"],
            "n": pa.array([decimal.Decimal("1.50")], pa.decimal128(5, 2)),
            "d": [dt.date(2026, 1, 2)],
            "t": [dt.datetime(2026, 1, 2, 3, 4, 5)],
            "x": [True],
            "f": [float("nan")],
            "aud_vip": [None],
        }
    )
    assert build_records(table, mapping) == [
        {"Id": "003A", "N__c": 1.5, "D__c": "2026-01-02", "T__c": "2026-01-02T03:04:05", "X__c": True}
    ]


# --- any object, typed values, parents by external id -------------------------------------------


def test_a_parent_is_set_by_its_external_id_in_the_same_record():
    mapping = build_mapping(
        sobject="Contact",
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName", "account": "account.ext_id__c"},
    )
    checked = check_mapping_against_describe(mapping, contact_with_account(), {"Account": account()})
    assert checked.attributes == {"last": "LastName", "account": "Account.Ext_Id__c"}
    assert checked.field_types["Account.Ext_Id__c"].sobject == "Account"
    table = pa.table({"ext": ["C-1", "C-2"], "last": ["Ng", "Li"], "account": ["A-1", None]})
    assert build_records(table, checked) == [
        {"Ext_Id__c": "C-1", "LastName": "Ng", "Account": {"Ext_Id__c": "A-1"}},
        {"Ext_Id__c": "C-2", "LastName": "Li"},  # no key: the lookup is left as it is
    ]


@pytest.mark.parametrize(
    ("field_mapping", "problem"),
    [
        (
            {"a": "AccountId", "b": "Account.Ext_Id__c"},
            "Contact.AccountId is mapped both directly and through",
        ),
        ({"a": "Account.Ext_Id__c", "b": "Account.Id"}, "Contact.AccountId is set twice"),
        ({"a": "Account.Id"}, "Account.Id is not an External ID field"),
        ({"a": "Acc.Ext_Id__c"}, "Contact has no lookup whose relationship name is 'Acc'"),
    ],
)
def test_references_that_cannot_work_are_refused_before_any_row(field_mapping, problem):
    mapping = build_mapping(
        sobject="Contact", operation="update", field_mapping={"sfid": "Id", **field_mapping}
    )
    with pytest.raises(MappingError, match=problem):
        check_mapping_against_describe(mapping, contact_with_account(), {"Account": account()})


@pytest.mark.parametrize(("operation", "flag"), [("insert", "createable"), ("update", "updateable")])
def test_an_object_the_user_cannot_write_is_refused(operation, flag):
    refused = {**account(), flag: False}
    mapping = build_mapping(
        sobject="Account",
        operation=operation,
        field_mapping={"sfid": "Id"} if operation == "update" else {"ext": "Ext_Id__c"},
    )
    with pytest.raises(MappingError, match="the connection's user cannot .* Account records"):
        check_mapping_against_describe(mapping, refused)


def test_checked_mapping_sends_typed_values():
    mapping = check_mapping_against_describe(
        build_mapping(
            sobject="Contact",
            operation="update",
            field_mapping={
                "sfid": "Id",
                "score": "Score__c",
                "born": "Birthdate",
                "opt": "HasOptedOutOfEmail",
            },
        ),
        describe("Contact"),
    )
    table = pa.table({"sfid": ["003A"], "score": [" 12.5 "], "born": ["1990-01-31"], "opt": ["TRUE"]})
    assert build_records(table, mapping) == [
        {"Id": "003A", "Score__c": 12.5, "Birthdate": "1990-01-31", "HasOptedOutOfEmail": True}
    ]
