"""Describe rendering of fields (no server)."""

from __future__ import annotations

from sfcrm_sandbox.models.custom_fields import custom_field_spec
from sfcrm_sandbox.responses.describe import field_describe


def test_custom_long_text_area_is_described_like_a_captured_one():
    spec = custom_field_spec(
        "crm_1_seg__c",
        {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "CRM 1 Segments"},
    )
    described = field_describe(spec)
    assert described["name"] == "crm_1_seg__c" and described["label"] == "CRM 1 Segments"
    assert (described["type"], described["length"], described["byteLength"]) == ("textarea", 32768, 98304)
    assert described["custom"] is True and described["soapType"] == "xsd:string"
    assert (described["filterable"], described["sortable"], described["groupable"]) == (False, False, False)
    assert (described["createable"], described["updateable"]) == (True, True)
    assert field_describe(spec, readable_only=True)["updateable"] is False


def test_child_relationships_name_the_lookups_that_point_at_an_object():
    from sfcrm_sandbox.responses.describe import child_relationships

    relations = {
        (r["childSObject"], r["field"]): r["relationshipName"] for r in child_relationships("Account")
    }
    assert relations == {
        ("Account", "ParentId"): "ChildAccounts",
        ("AccountContactRelation", "AccountId"): "AccountContactRelations",
        ("Contact", "AccountId"): "Contacts",
        ("Opportunity", "AccountId"): "Opportunities",
    }


def test_components_name_their_compound_field_and_lookups_their_relationship():
    from sfcrm_sandbox.models.objects import OBJECTS

    fields = {f.name: field_describe(f) for f in OBJECTS["Contact"].fields}
    assert fields["MailingCity"]["compoundFieldName"] == "MailingAddress"
    assert (fields["MailingAddress"]["type"], fields["MailingAddress"]["soapType"]) == (
        "address",
        "urn:address",
    )
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Email"]["relationshipName"] is None
