"""Custom fields the Tooling API creates: metadata rules and their persisted form."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.custom_fields import (
    CustomFieldError,
    custom_field_spec,
    field_metadata,
    field_spec_from_json,
    field_spec_to_json,
)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"type": "LongTextArea", "length": 32768}, "visibleLines"),
        ({"type": "LongTextArea", "length": 131073, "visibleLines": 3}, "between 256 and 131072"),
        ({"type": "Html", "length": 255}, "between 256 and 131072"),
        ({"type": "Text", "length": 256}, "between 1 and 255"),
        ({"type": "Text"}, "length"),
        ({"type": "TextArea", "externalId": True}, "external ID"),
        ({"type": "Lookup"}, "Unsupported"),
        ({"type": "Number"}, "Must specify 'precision'"),
        ({"type": "Number", "precision": 19, "scale": 0}, "between 1 and 18"),
        ({"type": "Currency", "precision": 5, "scale": 6}, "Scale must be between 0 and the precision"),
        ({"type": "Percent", "precision": "x"}, "whole number"),
        ({"type": "Date", "externalId": True}, "external ID"),
        ({"type": "Checkbox", "required": True}, "can't be required"),
        ({"type": "Picklist"}, "valueSet"),
        ({"type": "Picklist", "valueSet": {"valueSetDefinition": {"value": []}}}, "valueSet"),
        ({"type": "Picklist", "valueSet": {"valueSetDefinition": {"value": [{"label": "x"}]}}}, "fullName"),
        (
            {
                "type": "Picklist",
                "valueSet": {"valueSetDefinition": {"value": [{"fullName": "A"}, {"fullName": "a"}]}},
            },
            "Duplicate picklist value",
        ),
        (
            {
                "type": "Picklist",
                "valueSet": {
                    "valueSetDefinition": {
                        "value": [{"fullName": "A", "default": True}, {"fullName": "B", "default": True}]
                    }
                },
            },
            "only one default",
        ),
        (
            {
                "type": "Picklist",
                "valueSet": {
                    "valueSetDefinition": {"value": [{"fullName": "A", "default": True, "isActive": False}]}
                },
            },
            "must be active",
        ),
        (
            {
                "type": "MultiselectPicklist",
                "valueSet": {"valueSetDefinition": {"value": [{"fullName": "A"}]}},
            },
            "visibleLines",
        ),
        ({"type": "Email", "required": "maybe", "externalId": "TRUE", "unique": 1}, None),
    ],
)
def test_custom_field_refusals(metadata, message):
    if message is None:  # accepted: Metadata booleans are true or "true", nothing else
        spec = custom_field_spec("x__c", metadata)
        assert (spec.nillable, spec.external_id, spec.unique) == (True, True, False)
        return
    with pytest.raises(CustomFieldError) as refused:
        custom_field_spec("x__c", metadata)
    assert message in refused.value.message
    assert refused.value.error_code == "FIELD_INTEGRITY_EXCEPTION"


def _values(*entries):
    return {"valueSetDefinition": {"value": list(entries)}}


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {"type": "Text", "length": 20, "externalId": True},
            {"type": "string", "length": 20, "external_id": True},
        ),
        ({"type": "Phone"}, {"type": "phone", "length": 40}),
        ({"type": "Url"}, {"type": "url", "length": 255}),
        ({"type": "Email", "unique": True}, {"type": "email", "length": 80, "unique": True}),
        (
            {"type": "Number", "precision": 8, "scale": 2, "externalId": True},
            {"type": "double", "precision": 8, "scale": 2, "external_id": True},
        ),
        (
            {"type": "Currency", "precision": "18", "scale": "2"},
            {"type": "currency", "precision": 18, "scale": 2},
        ),
        ({"type": "Percent", "precision": 5}, {"type": "percent", "precision": 5, "scale": 0}),
        ({"type": "Date", "required": True}, {"type": "date", "nillable": False, "required": True}),
        ({"type": "DateTime"}, {"type": "datetime", "nillable": True}),
        (
            {"type": "Checkbox", "defaultValue": "true"},
            {
                "type": "boolean",
                "default": True,
                "nillable": False,
                "defaulted_on_create": True,
                "required": False,
            },
        ),
        ({"type": "Checkbox"}, {"type": "boolean", "default": False}),
        (
            {
                "type": "Picklist",
                "valueSet": {
                    "restricted": True,
                    **_values(
                        {"fullName": "Gold", "default": True},
                        {"fullName": "Silver"},
                        {"fullName": "Tin", "isActive": False},
                    ),
                },
            },
            {
                "type": "picklist",
                "length": 255,
                "picklist": ("Gold", "Silver"),
                "inactive_picklist": ("Tin",),
                "restricted_picklist": True,
                "default": "Gold",
                "defaulted_on_create": True,
            },
        ),
        (
            {
                "type": "MultiselectPicklist",
                "visibleLines": 4,
                "valueSet": _values({"fullName": "a"}, {"fullName": "b"}),
            },
            {
                "type": "multipicklist",
                "length": 4099,
                "picklist": ("a", "b"),
                "restricted_picklist": False,
                "visible_lines": 4,
                "default": None,
                "sortable": False,
                "groupable": False,
            },
        ),
    ],
)
def test_every_type(metadata, expected):
    spec = custom_field_spec("x__c", metadata)
    assert {key: getattr(spec, key) for key in expected} == expected
    assert field_spec_from_json(field_spec_to_json(spec)) == spec
    assert field_metadata(spec)["type"] == metadata["type"]


def test_field_metadata_reads_back_as_the_same_field():
    metadata = {
        "type": "Picklist",
        "label": "Tier",
        "valueSet": {
            "restricted": True,
            **_values({"fullName": "Gold", "default": True}, {"fullName": "Old", "isActive": False}),
        },
    }
    spec = custom_field_spec("Tier__c", metadata)
    assert custom_field_spec("Tier__c", field_metadata(spec)) == spec


def test_specs_stored_by_older_sandboxes_still_read():
    old = {
        "name": "Seg__c",
        "type": "textarea",
        "label": "Seg",
        "length": 32768,
        "extra_type_info": "plaintextarea",
        "html": False,
        "filterable": False,
        "external_id": False,
        "unique": False,
    }
    spec = field_spec_from_json(old)
    assert (spec.length, spec.custom, spec.picklist) == (32768, True, ())


def test_custom_field_round_trip():
    spec = custom_field_spec(
        "crm_1_seg__c",
        {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "CRM 1 Segments"},
    )
    assert field_spec_from_json(field_spec_to_json(spec)) == spec
    assert (spec.type, spec.length, spec.extra_type_info, spec.custom) == (
        "textarea",
        32768,
        "plaintextarea",
        True,
    )
