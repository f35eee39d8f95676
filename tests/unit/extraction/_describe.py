"""A describe of the shape Salesforce returns, for the extraction unit tests (not a test module)."""

from __future__ import annotations

from typing import Any


def field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "filterable": True,
        "relationshipName": None,
        "compoundFieldName": None,
        **extra,
    }


FIELDS = [
    field("Id", "id"),
    field("IsDeleted", "boolean"),
    field("AccountId", "reference", relationshipName="Account", referenceTo=["Account"]),
    field("LastName", "string", compoundFieldName="Name"),
    field("FirstName", "string", compoundFieldName="Name"),
    field("Name", "string"),
    field("MailingStreet", "textarea", compoundFieldName="MailingAddress"),
    field("MailingCity", "string", compoundFieldName="MailingAddress"),
    field("MailingLatitude", "double", compoundFieldName="MailingAddress"),
    field("MailingAddress", "address", filterable=False),
    field("Email", "email"),
    field("LeadSource", "picklist"),
    field("Interests__c", "multipicklist"),
    field("Birthdate", "date"),
    field("Description", "textarea", filterable=False),
    field("HasOptedOutOfEmail", "boolean"),
    field("NumberOfEmployees", "int"),
    field("Score__c", "double"),
    field("Discount__c", "percent"),
    field("AnnualRevenue", "currency", precision=18, scale=2),
    field("BestTime__c", "time"),
    field("Photo__c", "base64"),
    field("CreatedDate", "datetime"),
    field("SystemModstamp", "datetime"),
]


def describe(name: str = "Contact", fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "fields": FIELDS if fields is None else fields}
