"""Sandbox schema: standard objects, custom field specs, describe rendering, fault settings."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.faults import Faults, FaultSettings
from sfcrm_sandbox.rest import version_label
from sfcrm_sandbox.schema import (
    OBJECTS,
    CustomFieldError,
    custom_field_spec,
    field_spec_from_json,
    field_spec_to_json,
)
from sfcrm_sandbox.values import object_of_id


def test_every_object_has_a_key_prefix_of_its_own():
    # The sandbox shares the product's prefix table; an Id must lead back to exactly its object.
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


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"type": "LongTextArea", "length": 32768}, "visibleLines"),
        ({"type": "LongTextArea", "length": 131073, "visibleLines": 3}, "between 256 and 131072"),
        ({"type": "Html", "length": 255}, "between 256 and 131072"),
        ({"type": "Text", "length": 256}, "between 1 and 255"),
        ({"type": "Text"}, "length"),
        ({"type": "TextArea", "externalId": True}, "external ID"),
        ({"type": "Number"}, "Unsupported"),
    ],
)
def test_custom_field_refusals(metadata, message):
    with pytest.raises(CustomFieldError) as refused:
        custom_field_spec("x__c", metadata)
    assert message in refused.value.message
    assert refused.value.error_code == "FIELD_INTEGRITY_EXCEPTION"


def test_custom_field_round_trip_and_describe():
    spec = custom_field_spec(
        "crm_1_seg__c",
        {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "CRM 1 Segments"},
    )
    assert field_spec_from_json(field_spec_to_json(spec)) == spec
    described = spec.describe()
    assert described["name"] == "crm_1_seg__c" and described["label"] == "CRM 1 Segments"
    assert (described["type"], described["length"], described["byteLength"]) == ("textarea", 32768, 98304)
    assert described["custom"] is True and described["soapType"] == "xsd:string"
    assert spec.describe(readable_only=True)["updateable"] is False


@pytest.mark.parametrize(
    ("major", "label"), [(31, "Summer '14"), (59, "Winter '24"), (66, "Spring '26"), (67, "Summer '26")]
)
def test_version_labels(major, label):
    assert version_label(major) == label


def test_fault_settings_validation():
    with pytest.raises(ValueError, match="unknown"):
        FaultSettings.from_dict({"http_504_rate": 0.1})
    with pytest.raises(ValueError, match="probability"):
        FaultSettings.from_dict({"record_lock_rate": 1.5})
    with pytest.raises(ValueError, match="exceed"):
        FaultSettings.from_dict({"http_503_rate": 0.6, "http_502_rate": 0.6})


def test_fault_draws_repeat_with_the_seed():
    settings = FaultSettings.from_dict(
        {"seed": 5, "http_503_rate": 0.3, "record_lock_rate": 0.3, "drop_connection_rate": 0.2}
    )

    def run(faults):
        return [faults.for_request() for _ in range(50)], [faults.record_lock() for _ in range(50)]

    first, second = run(Faults(settings)), run(Faults(settings))
    assert first == second
    assert any(r.status == 503 for r in first[0]) and any(first[1]) and not all(first[1])


def test_cli_defaults_match_the_launcher():
    from sfcrm_sandbox.cli import build_parser
    from sfcrm_sandbox.process import DEFAULT_CREDENTIALS

    args = build_parser().parse_args(["serve"])
    assert (args.port, args.latency_ms, args.faults) == (8443, 0.0, None)
    assert {key: getattr(args, key) for key in DEFAULT_CREDENTIALS} == DEFAULT_CREDENTIALS
