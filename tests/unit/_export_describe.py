"""Small Contact / Lead / Account describe documents shaped like Salesforce's, for the export unit tests."""

from __future__ import annotations

from typing import Any


def _field(name: str, label: str, sf_type: str = "string", length: int = 0, **flags: Any) -> dict[str, Any]:
    field = {
        "name": name,
        "label": label,
        "type": sf_type,
        "length": length,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "caseSensitive": False,
        "custom": name.endswith("__c"),
        "filterable": True,
        "extraTypeInfo": None,
    }
    field.update(flags)
    return field


def _audience(name: str, length: int = 32768, **flags: Any) -> dict[str, Any]:
    return _field(name, name, "textarea", length, extraTypeInfo="plaintextarea", filterable=False, **flags)


def describe(sobject: str = "Contact") -> dict[str, Any]:
    """A describe with Id, names, Email, an external id and two audience fields."""
    fields = [
        _field(
            "Id",
            f"{sobject} ID",
            "id",
            18,
            nillable=False,
            createable=False,
            updateable=False,
            defaultedOnCreate=True,
            idLookup=True,
        ),
        _field("FirstName", "First Name", length=40),
        _field("LastName", "Last Name", length=80, nillable=False),
        _field("Email", "Email", "email", 80, idLookup=True),
        _field("Ext_Id__c", "Ext Id", length=64, externalId=True, idLookup=True, unique=True),
        _field(
            "IsDeleted",
            "Deleted",
            "boolean",
            nillable=False,
            createable=False,
            updateable=False,
            defaultedOnCreate=True,
        ),
        _field("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, defaultedOnCreate=True),
        _field(
            "CreatedDate",
            "Created Date",
            "datetime",
            nillable=False,
            createable=False,
            updateable=False,
            defaultedOnCreate=True,
        ),
        _field("Score__c", "Score", "double"),
        _field("Birthdate", "Birthdate", "date"),
        _audience("crm_1_seg__c"),
        _audience("crm_2_seg__c"),
        _field("ReadOnly__c", "Read Only", length=20, updateable=False, createable=False),
    ]
    if sobject == "Lead":
        fields.append(_field("Company", "Company", length=255, nillable=False))
    prefix = {"Contact": "003", "Lead": "00Q"}[sobject]
    return {"name": sobject, "label": sobject, "keyPrefix": prefix, "fields": fields}


def contact_with_account() -> dict[str, Any]:
    """The Contact describe with its lookup to Account (relationship name ``Account``)."""
    contact = describe("Contact")
    contact["fields"].append(
        _field(
            "AccountId", "Account ID", "reference", 18, referenceTo=["Account"], relationshipName="Account"
        )
    )
    return contact


def account(ext_id_length: int = 20) -> dict[str, Any]:
    """An Account describe with an External ID ``Ext_Id__c``."""
    fields = [
        _field("Id", "Account ID", "id", 18, createable=False, updateable=False, idLookup=True),
        _field("Ext_Id__c", "Ext Id", length=ext_id_length, externalId=True, idLookup=True),
    ]
    return {"name": "Account", "label": "Account", "keyPrefix": "001", "fields": fields}
