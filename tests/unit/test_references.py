"""References by external id: Relationship.Field targets checked against the child's and parent's describe."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.references import (
    INVALID_FIELD,
    check_reference,
    is_reference,
    parent_objects,
    reference_checks,
    validate_reference,
)
from airflow_provider_sfcrm.activation.typed_values import FieldType


def _field(name, **flags):
    return {"name": name, "label": name, "type": "string", "createable": True, "updateable": True, **flags}


CONTACT = {
    "name": "Contact",
    "fields": [
        _field("Id", type="id"),
        _field("LastName"),
        _field("AccountId", type="reference", referenceTo=["Account"], relationshipName="Account"),
        _field("ReportsToId", type="reference", referenceTo=["Contact"], relationshipName="ReportsTo"),
        _field("OwnerId", type="reference", referenceTo=["User", "Group"], relationshipName="Owner"),
        _field(
            "Locked__c",
            type="reference",
            referenceTo=["Account"],
            relationshipName="Locked__r",
            updateable=False,
        ),
    ],
}
ACCOUNT = {
    "name": "Account",
    "fields": [
        _field("Id", type="id", idLookup=True),
        _field("Name"),
        _field("Ext_Id__c", externalId=True, idLookup=True, length=20, label="Ext Id"),
    ],
}


def test_targets_with_a_dot_are_references():
    assert is_reference("Account.Ext_Id__c") and not is_reference("AccountId")
    validate_reference("Parent__r.Key__c", "field")
    for bad in ("Account.Owner.Ext__c", "Account.", "Acc ount.Ext__c", "Account.Ext-Id"):
        with pytest.raises(ValueError, match="invalid field"):
            validate_reference(bad, "field")


def test_parents_to_describe():
    targets = ["LastName", "account.Ext_Id__c", "Account.Other__c", "ReportsTo.Email", "Owner.X", "Nope.X"]
    assert parent_objects(targets, CONTACT) == ["Account", "Contact"]


def test_a_reference_in_the_orgs_spelling_with_its_key_type():
    spelled, lookup, key, problems = check_reference(
        "account.ext_id__C", CONTACT, {"Account": ACCOUNT}, ("createable",)
    )
    assert (spelled, lookup["name"], problems) == ("Account.Ext_Id__c", "AccountId", [])
    assert (key.sobject, key.name, key.length) == ("Account", "Ext_Id__c", 20)


@pytest.mark.parametrize(
    ("target", "needs", "problem"),
    [
        ("Acct.Ext_Id__c", ("createable",), "Contact has no lookup whose relationship name is 'Acct'"),
        ("Account.Name", ("createable",), "Account.Name is not an External ID field"),
        ("Account.Id", ("createable",), "Account.Id is not an External ID field"),
        ("Account.Gone__c", ("createable",), "Account.Gone__c does not exist or is not visible"),
        ("Owner.Ext__c", ("createable",), "Contact.OwnerId may point to User or Group"),
        ("Locked__r.Ext_Id__c", ("updateable",), "Contact.Locked__c is not updateable"),
    ],
)
def test_references_that_cannot_work(target, needs, problem):
    _, _, _, problems = check_reference(target, CONTACT, {"Account": ACCOUNT}, needs)
    assert any(problem in found for found in problems), problems


def test_keys_longer_than_the_parents_field_can_never_be_found():
    key = FieldType(name="Ext_Id__c", label="Ext Id", type="string", length=5, sobject="Account")
    values = ["A-1", "A-123456", None, "😀😀😀"]  # 6 UTF-16 code units
    (check,) = reference_checks(pa.array(values), "Account.Ext_Id__c", key)
    assert np.flatnonzero(check.mask).tolist() == [1, 3]
    assert check.code == INVALID_FIELD
    assert check.message("A-123456") == (
        "Foreign key external ID: A-123456 not found for field Ext_Id__c in entity Account"
    )
