"""Single-record REST (create / get / update / upsert / delete) and org-set system fields."""

from __future__ import annotations

import re

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sfcrm_sandbox.models.ids import canonical_id
from tests.integration._clients import api, authed, create_custom_field, unique

pytestmark = pytest.mark.integration

_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$"


@pytest.fixture(scope="module")
def external_field(sf):
    return create_custom_field(
        sf, "Contact", {"type": "Text", "length": 64, "externalId": True, "label": "Ext"}
    )


def test_create_get_update_delete(sf):
    created = sf.Contact.create({"LastName": "Lovelace", "FirstName": "Ada", "Email": "ada@example.com"})
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    assert record_id.startswith("003") and len(record_id) == 18 and canonical_id(record_id) == record_id

    record = sf.Contact.get(record_id)
    assert record["attributes"]["type"] == "Contact"
    assert record["Name"] == "Ada Lovelace"
    assert record["IsDeleted"] is False
    for system_field in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        assert record[system_field] and re.match(_DATETIME, record[system_field])
    user_id = sf.query("SELECT Id FROM User WHERE Username = 'integration.user@sfcrm-sandbox.local'")[
        "records"
    ]
    assert record["OwnerId"] == record["CreatedById"] == record["LastModifiedById"] == user_id[0]["Id"]

    assert sf.Contact.update(record_id, {"title": "Countess"}) == 204  # field names are case-insensitive
    assert sf.Contact.get(record_id)["Title"] == "Countess"

    assert sf.Contact.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Contact.get(record_id)
    assert deleted.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_get_with_fields(sf):
    record_id = sf.Contact.create({"LastName": "Fields", "Email": "fields@example.com"})["id"]
    record = sf.Contact.get(record_id, params={"fields": "lastname,Email"})
    assert set(record) == {"attributes", "LastName", "Email"}


def test_get_accepts_15_character_id(sf):
    record_id = sf.Contact.create({"LastName": "Short"})["id"]
    assert sf.Contact.get(record_id[:15])["Id"] == record_id


@pytest.mark.parametrize("bad_id", ["003xx", "003ak000bDodFu7XXX", "001ak000bDodFu7AQE"])
def test_get_odd_id_is_404(sf, bad_id):
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get(bad_id)
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "REQUIRED_FIELD_MISSING"),
        ({"LastName": "x" * 81}, "STRING_TOO_LONG"),
        ({"LastName": "x", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        ({"LastName": "x", "Nope__c": "y"}, "INVALID_FIELD"),
        ({"LastName": "x", "Name": "y"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"LastName": "x", "AccountId": "003ak000bDodFu7AQE"}, "MALFORMED_ID"),
    ],
)
def test_single_create_errors_are_400_arrays(sf, fields, code):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create(fields)
    assert exc.value.status == 400
    assert exc.value.content[0]["errorCode"] == code
    assert "message" in exc.value.content[0] and "fields" in exc.value.content[0]


@pytest.mark.parametrize(
    ("account", "code"),
    [("live", None), ("deleted", "ENTITY_IS_DELETED"), ("absent", "INVALID_CROSS_REFERENCE_KEY")],
)
def test_lookup_to_an_account_must_reach_a_live_record(sf, account, code):
    account_id = sf.Account.create({"Name": unique("Acme")})["id"]
    if account == "deleted":
        sf.Account.delete(account_id)
    elif account == "absent":
        account_id = "001ak000bDodFu7AQE"  # well-formed, of the right object, but no such record
    fields = {"LastName": "Looked-up", "AccountId": account_id}
    if code is None:
        assert sf.Contact.get(sf.Contact.create(fields)["id"])["AccountId"] == account_id
        return
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create(fields)
    assert exc.value.content[0]["errorCode"] == code
    assert exc.value.content[0]["fields"] == ["AccountId"]


def test_upsert_by_external_id_creates_then_updates(sandbox, sf, external_field):
    key = unique("k")
    session = authed(sandbox)
    url = api(sandbox, f"/sobjects/Contact/{external_field}/{key}")
    created = session.patch(url, json={"LastName": "Upserted"})
    assert created.status_code == 201
    assert created.json()["created"] is True and created.json()["success"] is True
    updated = session.patch(url, json={"LastName": "Again"})
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    assert sf.Contact.get_by_custom_id(external_field, key)["LastName"] == "Again"
    # simple-salesforce's own upsert reports the HTTP status.
    assert sf.Contact.upsert(f"{external_field}/{key}", {"FirstName": "Via"}) == 200


def test_upsert_on_unknown_external_field_is_404(sandbox):
    response = authed(sandbox).patch(api(sandbox, "/sobjects/Contact/Nope__c/1"), json={"LastName": "x"})
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_delete_by_external_id(sandbox, sf, external_field):
    key = unique("k")
    sf.Contact.upsert(f"{external_field}/{key}", {"LastName": "Gone"})
    assert (
        authed(sandbox).delete(api(sandbox, f"/sobjects/Contact/{external_field}/{key}")).status_code == 204
    )
    with pytest.raises(SalesforceResourceNotFound):  # the key no longer names a live record
        sf.Contact.get_by_custom_id(external_field, key)


def test_lead_status_default_and_auto_assign(sf):
    router = sf.query("SELECT Id FROM User WHERE Username = 'lead.router@sfcrm-sandbox.local'")["records"][0][
        "Id"
    ]
    integration = sf.query("SELECT Id FROM User WHERE Username = 'integration.user@sfcrm-sandbox.local'")
    integration_id = integration["records"][0]["Id"]
    assigned = sf.Lead.get(sf.Lead.create({"LastName": "Routed", "Company": "Acme"})["id"])
    assert assigned["Status"] == "Open - Not Contacted"
    assert assigned["OwnerId"] == router
    kept = sf.Lead.get(
        sf.Lead.create({"LastName": "Kept", "Company": "Acme"}, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    )
    assert kept["OwnerId"] == integration_id
    assert kept["IsConverted"] is False


@pytest.mark.parametrize(
    ("header", "routed"), [(None, True), ("TRUE", True), ("false", False), ("01Qak0000000001", True)]
)
def test_auto_assign_on_lead_update(sf, header, routed):
    lead_id = sf.Lead.create({"LastName": "Upd", "Company": "Acme"}, headers={"Sforce-Auto-Assign": "FALSE"})[
        "id"
    ]
    owner_before = sf.Lead.get(lead_id)["OwnerId"]
    headers = {"Sforce-Auto-Assign": header} if header else None
    sf.Lead.update(lead_id, {"Title": "x"}, headers=headers)
    owner_after = sf.Lead.get(lead_id)["OwnerId"]
    assert (owner_after != owner_before) is routed


def test_lead_required_fields(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create({"FirstName": "No"})
    assert exc.value.content[0]["message"] == "Required fields are missing: [LastName, Company]"
    assert exc.value.content[0]["fields"] == ["LastName", "Company"]
