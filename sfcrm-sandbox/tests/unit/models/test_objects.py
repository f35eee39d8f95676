"""The standard objects of the sandbox org: key prefixes, required and system fields."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.ids import object_of_id
from sfcrm_sandbox.models.objects import OBJECTS


def test_every_object_has_a_key_prefix_of_its_own():
    # An Id must lead back to exactly its object.
    assert {name: object_of_id(spec.key_prefix + "ak000000000001") for name, spec in OBJECTS.items()} == {
        name: name for name in OBJECTS
    }


@pytest.mark.parametrize(
    ("sobject", "required"),
    [
        ("Contact", ["LastName"]),
        ("Lead", ["LastName", "Company"]),
        ("Account", ["Name"]),
        ("Campaign", ["Name"]),
    ],
)
def test_required_fields(sobject, required):
    assert [f.name for f in OBJECTS[sobject].fields if f.required] == required


@pytest.mark.parametrize("sobject", ["Contact", "Lead", "Account", "Campaign"])
def test_system_fields(sobject):
    names = OBJECTS[sobject].field_names
    assert {
        "Id",
        "IsDeleted",
        "OwnerId",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    } <= names
    for name in ("Id", "IsDeleted", "CreatedDate", "SystemModstamp"):
        spec = next(f for f in OBJECTS[sobject].fields if f.name == name)
        assert not spec.createable and not spec.updateable
