"""Custom objects: metadata rules, key prefixes, auto-numbers, and how the store keeps them."""

from __future__ import annotations

import datetime as dt

import pytest

from sfcrm_sandbox.models.custom_fields import MetadataError
from sfcrm_sandbox.models.custom_objects import auto_number, custom_key_prefix, custom_object_spec
from sfcrm_sandbox.models.store import OrgStore

METADATA = {
    "label": "Thing",
    "pluralLabel": "Things",
    "nameField": {"label": "Thing Name", "type": "Text"},
    "sharingModel": "Private",
}


@pytest.mark.parametrize(
    ("position", "prefix"), [(0, "a00"), (9, "a09"), (10, "a0A"), (61, "a0z"), (62, "a10")]
)
def test_key_prefixes(position, prefix):
    assert custom_key_prefix(position) == prefix


def test_a_custom_objects_standard_fields():
    spec = custom_object_spec("Thing__c", METADATA, "a00")
    assert [f.name for f in spec.fields] == [
        "Id",
        "OwnerId",
        "Name",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ]
    name = spec.fields[2]
    assert (name.length, name.name_field, name.required, name.createable) == (80, True, False, True)
    assert (spec.key_prefix, spec.custom, spec.event, spec.queryable) == ("a00", True, False, True)


@pytest.mark.parametrize(
    ("display_format", "number", "name"),
    [("T-{0000}", 7, "T-0007"), ("{0}", 12, "12"), ("INV-{YYYY}{MM}-{000}", 3, "INV-202602-003")],
)
def test_auto_numbers(display_format, number, name):
    assert auto_number(display_format, number, dt.date(2026, 2, 1)) == name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"label": None}, "'label'"),
        ({"sharingModel": "FullAccess"}, "sharingModel"),
        ({"nameField": "Name"}, "'nameField'"),
        ({"nameField": {"label": "N", "type": "AutoNumber"}}, "displayFormat"),
    ],
)
def test_refused_metadata(overrides, message):
    with pytest.raises(MetadataError, match=message):
        custom_object_spec("Thing__c", {**METADATA, **overrides}, "a00")


def test_the_store_keeps_custom_objects_and_their_prefixes(tmp_path):
    store = OrgStore(tmp_path / "org.sqlite3", "u@example.com")
    first = store.add_custom_object("First__c", METADATA)
    store.add_custom_object("Second__c", METADATA)
    assert first.startswith("01I") and store.custom_object_id("First__c") == first
    assert store.object_spec("First__c") is None  # nobody may read it yet
    assert store.find_object("first__C").key_prefix == "a00"
    assert store.object_of_id("a01ak0000000001") == "Second__c"
    store.close()
    again = OrgStore(tmp_path / "org.sqlite3", "u@example.com")
    assert [row["FullName"] for row in again.custom_object_rows()] == ["First__c", "Second__c"]
    assert again.find_object("Second__c").key_prefix == "a01"
    assert again.custom_object_metadata("First__c") == METADATA
    again.close()
