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


# The objects a Salesforce source extracts, with the lookups SOQL reaches their parents by.
CRM_OBJECTS = {
    "Account": {"ParentId": ("Account", "Parent", "ChildAccounts"), "OwnerId": ("User", "Owner", None)},
    "Contact": {
        "AccountId": ("Account", "Account", "Contacts"),
        "ReportsToId": ("Contact", "ReportsTo", None),
    },
    "Lead": {"ConvertedContactId": ("Contact", "ConvertedContact", None)},
    "Opportunity": {
        "AccountId": ("Account", "Account", "Opportunities"),
        "CampaignId": ("Campaign", "Campaign", "Opportunities"),
    },
    "OpportunityContactRole": {
        "OpportunityId": ("Opportunity", "Opportunity", "OpportunityContactRoles"),
        "ContactId": ("Contact", "Contact", "OpportunityContactRoles"),
    },
    "Campaign": {"ParentId": ("Campaign", "Parent", "ChildCampaigns")},
    "CampaignMember": {
        "CampaignId": ("Campaign", "Campaign", "CampaignMembers"),
        "LeadId": ("Lead", "Lead", "CampaignMembers"),
        "ContactId": ("Contact", "Contact", "CampaignMembers"),
    },
    "AccountContactRelation": {
        "AccountId": ("Account", "Account", "AccountContactRelations"),
        "ContactId": ("Contact", "Contact", "AccountContactRelations"),
    },
}


@pytest.mark.parametrize("sobject", sorted(CRM_OBJECTS))
def test_crm_objects_have_their_lookups_and_relationship_names(sobject):
    spec = OBJECTS[sobject]
    fields = {f.name: f for f in spec.fields}
    for name, (target, relationship, children) in CRM_OBJECTS[sobject].items():
        lookup = fields[name]
        assert (lookup.type, lookup.reference_to[0]) == ("reference", target)
        assert (lookup.relationship_name, lookup.child_relationship) == (relationship, children)
    # Every one of them is replicable by SystemModstamp, and its deletions by IsDeleted.
    assert {"Id", "IsDeleted", "SystemModstamp", "CreatedDate", "LastModifiedDate"} <= spec.field_names


@pytest.mark.parametrize(
    ("sobject", "required"),
    [
        ("Opportunity", ["Name", "StageName", "CloseDate"]),
        ("OpportunityContactRole", ["OpportunityId", "ContactId"]),
        ("AccountContactRelation", ["AccountId", "ContactId"]),
        ("CampaignMember", ["CampaignId"]),
    ],
)
def test_required_fields_of_the_other_crm_objects(sobject, required):
    assert [f.name for f in OBJECTS[sobject].fields if f.required] == required


@pytest.mark.parametrize(
    ("sobject", "compound", "components"),
    [
        (
            "Contact",
            "MailingAddress",
            ["MailingStreet", "MailingCity", "MailingLatitude", "MailingGeocodeAccuracy"],
        ),
        ("Contact", "OtherAddress", ["OtherStreet", "OtherPostalCode"]),
        ("Lead", "Address", ["Street", "City", "State", "PostalCode", "Country", "Latitude"]),
        ("Account", "BillingAddress", ["BillingStreet", "BillingCountry"]),
        ("Account", "ShippingAddress", ["ShippingCity"]),
        ("Contact", "Name", ["FirstName", "LastName", "Salutation"]),
    ],
)
def test_compound_fields_and_their_components(sobject, compound, components):
    fields = {f.name: f for f in OBJECTS[sobject].fields}
    for name in components:
        assert fields[name].compound_field_name == compound
    if compound != "Name":
        assert fields[compound].type == "address"
        assert not (fields[compound].createable or fields[compound].updateable or fields[compound].filterable)


def test_relationship_names_of_standard_and_custom_lookups():
    from dataclasses import replace

    lookup = next(f for f in OBJECTS["Contact"].fields if f.name == "AccountId")
    assert lookup.relationship_name == "Account"
    # A custom lookup's relationship ends in __r (Salesforce's naming of custom relationships).
    assert replace(lookup, name="Parent__c", custom=True).relationship_name == "Parent__r"
    assert next(f for f in OBJECTS["Contact"].fields if f.name == "Email").relationship_name is None
