"""Lookups set through the parent's external id (REST, sObject Collections, upserts, Bulk), and parent
paths in SOQL (SELECT Account.Ext_Id__c FROM Contact)."""

from __future__ import annotations

import pytest

from tests.integration._bulk import ingest, poll, results
from tests.integration._clients import api, authed, contact, create_custom_field, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ext(sf):
    """An external-id Text field on Account, and another on Contact (the upsert key)."""
    account_ext = create_custom_field(sf, "Account", {"type": "Text", "length": 40, "externalId": True})
    contact_ext = create_custom_field(sf, "Contact", {"type": "Text", "length": 40, "externalId": True})
    return account_ext, contact_ext


@pytest.fixture
def session(sandbox):
    return authed(sandbox)


def accounts(session, sandbox, field, *keys):
    created = session.post(
        api(sandbox, "/composite/sobjects"),
        json={"records": [{"attributes": {"type": "Account"}, "Name": f"Acme {k}", field: k} for k in keys]},
    ).json()
    assert all(r["success"] for r in created), created
    return [r["id"] for r in created]


def query(session, sandbox, soql):
    response = session.get(api(sandbox, "/query"), params={"q": soql})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_a_contact_is_linked_through_its_accounts_external_id(sandbox, session, ext):
    field, _ = ext
    key = unique("A-")
    (account_id,) = accounts(session, sandbox, field, key)
    created = session.post(
        api(sandbox, "/sobjects/Contact"), json={"LastName": "Linked", "Account": {field: key.lower()}}
    )
    assert created.status_code == 201, created.text
    (row,) = query(
        session,
        sandbox,
        f"SELECT Name, Account.{field}, AccountId FROM Contact WHERE Id = '{created.json()['id']}'",
    )
    assert row["AccountId"] == account_id
    assert row["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account_id}"},
        field: key,
    }
    assert list(row) == ["attributes", "Name", "Account", "AccountId"]


def test_collections_resolve_each_reference(sandbox, session, ext):
    field, _ = ext
    key, twin = unique("A-"), unique("T-")
    accounts(session, sandbox, field, key, twin, twin)  # the twin key names two Accounts
    records = [
        contact(Account={field: key}),
        contact(Account={"attributes": {"type": "Account"}, field: "no-such-key"}),
        contact(Account={field: twin}),
        contact(Account={field: key}, AccountId=None),
        contact(Account={"Name": "Acme"}),
        contact(Acount={field: key}),
    ]
    answered = session.post(api(sandbox, "/composite/sobjects"), json={"records": records}).json()
    assert answered[0]["success"] is True
    assert answered[1]["errors"] == [
        {
            "statusCode": "INVALID_FIELD",
            "message": f"Foreign key external ID: no-such-key not found for field {field} in entity Account",
            "fields": [],
        }
    ]
    assert answered[2]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert answered[3]["errors"][0]["message"] == (
        "Cannot specify both an external ID reference Account and a salesforce id, AccountId"
    )
    assert answered[4]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert answered[5]["errors"][0]["message"] == "No such column 'Acount' on sobject of type Contact"


def test_upserts_set_lookups_by_external_id(sandbox, session, ext):
    field, contact_field = ext
    key, person = unique("A-"), unique("C-")
    (account_id,) = accounts(session, sandbox, field, key)
    first = session.patch(
        api(sandbox, f"/sobjects/Contact/{contact_field}/{person}"),
        json={"LastName": "U", "Account": {field: key}},
    )
    assert first.status_code == 201, first.text
    second = session.patch(
        api(sandbox, f"/composite/sobjects/Contact/{contact_field}"),
        json={"records": [contact(**{contact_field: person, "Account": {field: None}})]},
    ).json()
    assert second[0]["created"] is False
    (row,) = query(
        session, sandbox, f"SELECT AccountId, Account.Name FROM Contact WHERE {contact_field} = '{person}'"
    )
    assert (row["AccountId"], row["Account"]) == (None, None)
    assert account_id  # the first upsert had linked it (null cleared it)


def test_a_parent_created_in_the_same_request_is_not_found(sandbox, session, ext):
    field, _ = ext
    key = unique("A-")
    answered = session.post(
        api(sandbox, "/composite/sobjects"),
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Same request", field: key},
                contact(Account={field: key}),
            ]
        },
    ).json()
    assert answered[0]["success"] is True
    assert answered[1]["errors"][0]["message"].startswith(f"Foreign key external ID: {key} not found")


def test_bulk_relationship_columns(sandbox, session, ext):
    field, _ = ext
    key = unique("A-")
    (account_id,) = accounts(session, sandbox, field, key)
    info = ingest(session, sandbox, f"LastName,Account.{field}\nBulk1,{key}\nBulk2,missing\nBulk3,\n")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    failed = results(session, sandbox, info["id"], "failedResults")
    assert failed[1][1].startswith("INVALID_FIELD:Foreign key external ID: missing not found")
    linked = query(
        session, sandbox, f"SELECT LastName, AccountId FROM Contact WHERE Account.{field} = '{key}'"
    )
    assert [(r["LastName"], r["AccountId"]) for r in linked] == [("Bulk1", account_id)]


def test_parent_paths_in_where_order_by_and_two_levels_up(sandbox, session, ext):
    field, _ = ext
    keys = [unique("P-") for _ in range(2)]
    accounts(session, sandbox, field, *keys)
    tag = unique("path")
    session.post(
        api(sandbox, "/composite/sobjects"),
        json={
            "records": [
                contact(Title=tag, Account={field: keys[1]}),
                contact(Title=tag, Account={field: keys[0]}),
                contact(Title=tag),
            ]
        },
    )
    rows = query(
        session,
        sandbox,
        f"SELECT Account.{field}, Account.Owner.Username FROM Contact WHERE Title = '{tag}' "
        f"ORDER BY Account.{field} NULLS LAST",
    )
    assert [r["Account"] and r["Account"][field] for r in rows] == [*sorted(keys), None]
    assert rows[0]["Account"]["Owner"]["Username"] == sandbox.username
    assert rows[0]["Account"]["Owner"]["attributes"]["type"] == "User"
    filtered = query(
        session, sandbox, f"SELECT Id FROM Contact WHERE Title = '{tag}' AND Account.{field} = null"
    )
    assert len(filtered) == 1


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Acount.Name FROM Contact", "Didn't understand relationship 'Acount' in field path."),
        ("SELECT Account.Nope__c FROM Contact", "No such column 'Nope__c' on entity 'Account'."),
        ("SELECT Id FROM Contact WHERE LastName.Name = 'x'", "Didn't understand relationship 'LastName'"),
    ],
)
def test_bad_parent_paths(sandbox, session, soql, message):
    response = session.get(api(sandbox, "/query"), params={"q": soql})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
    assert message in response.json()[0]["message"]


def test_bulk_queries_write_parent_columns(sandbox, session, ext):
    field, _ = ext
    key = unique("Q-")
    accounts(session, sandbox, field, key)
    tag = unique("bq")
    session.post(api(sandbox, "/sobjects/Contact"), json={"LastName": tag, "Account": {field: key}})
    job = session.post(
        api(sandbox, "/jobs/query"),
        json={
            "operation": "query",
            "query": f"SELECT LastName, Account.{field} FROM Contact WHERE LastName = '{tag}'",
        },
    ).json()
    poll(session, sandbox, "query", job["id"])
    csv_text = session.get(api(sandbox, f"/jobs/query/{job['id']}/results")).text
    assert csv_text.splitlines() == [f'"LastName","Account.{field}"', f'"{tag}","{key}"']


def test_simple_salesforce_reads_nested_parents(sandbox, sf, ext):
    field, _ = ext
    key = unique("S-")
    sf.Account.create({"Name": "Simple", field: key})
    created = sf.Contact.create({"LastName": "Simple", "Account": {field: key}})
    (record,) = sf.query(f"SELECT Account.{field} FROM Contact WHERE Id = '{created['id']}'")["records"]
    assert record["Account"][field] == key


def test_an_id_lookup_field_names_a_parent_too(sandbox, session):
    """Contact.Email is idLookup: ReportsTo.Email (Bulk's documented example) and its REST form work."""
    email = f"{unique('boss')}@example.com"
    session.post(api(sandbox, "/sobjects/Contact"), json={"LastName": "Boss", "Email": email})
    report = session.post(
        api(sandbox, "/sobjects/Contact"), json={"LastName": "Report", "ReportsTo": {"Email": email}}
    )
    assert report.status_code == 201, report.text
    info = ingest(session, sandbox, f"LastName,ReportsTo.Email\nBulk report,{email.upper()}\n")
    assert info["numberRecordsFailed"] == 0
    rows = query(
        session, sandbox, f"SELECT LastName FROM Contact WHERE ReportsTo.Email = '{email}' ORDER BY LastName"
    )
    assert [r["LastName"] for r in rows] == ["Bulk report", "Report"]
    title = session.post(
        api(sandbox, "/sobjects/Contact"), json={"LastName": "R", "ReportsTo": {"Title": "x"}}
    )
    assert title.json()[0]["errorCode"] == "INVALID_FIELD"
