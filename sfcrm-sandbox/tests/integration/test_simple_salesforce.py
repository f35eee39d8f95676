"""Conformance: an unmodified simple-salesforce, logged in by its own flows through the sandbox's proxy.

Each login flow (SOAP with the security token, OAuth username-password, OAuth client credentials)
gets its client from the recipe ``sfcrm-sandbox connection --for simple-salesforce`` prints, run as
printed; every check below then runs once per flow. Only the Bulk APIs are left out.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from sfcrm_sandbox.recipes import AUTH_FLOWS
from tests.integration._clients import contact, unique

NOW = dt.datetime.now(dt.timezone.utc)


def recipe_client(running, auth: str) -> Salesforce:
    """Run ``sfcrm-sandbox connection --for simple-salesforce`` and execute the Python it prints."""
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sfcrm_sandbox",
            "connection",
            "--data-dir",
            str(running.data_dir),
            "--for",
            "simple-salesforce",
            "--auth",
            auth,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    namespace: dict = {}
    exec(printed, namespace)  # noqa: S102 - the recipe is exactly what a user would paste
    return namespace["sf"]


@pytest.fixture(scope="module", params=AUTH_FLOWS)
def sf(request, proxied_sandbox) -> Salesforce:
    return recipe_client(proxied_sandbox, request.param)


def test_login_lands_on_the_my_domain_and_api_usage_is_read(sf):
    assert sf.sf_instance == "sfcrm-sandbox.my.salesforce.com"
    assert sf.limits()["DailyApiRequests"]["Max"] > 0
    assert sf.api_usage["api-usage"].total > 0


def test_crud(sf):
    created = sf.Contact.create({"LastName": "Conformance", "Email": "crud@example.com"})
    assert created["success"] and created["id"].startswith("003")
    assert sf.Contact.get(created["id"])["Email"] == "crud@example.com"
    assert sf.Contact.update(created["id"], {"FirstName": "Ada"}) == 204
    assert sf.Contact.upsert(f"Id/{created['id']}", {"Title": "Engineer"}) == 200
    assert sf.Contact.get(created["id"])["Title"] == "Engineer"
    assert sf.Contact.delete(created["id"]) == 204


def test_query_paging(sf):
    tag = unique("Page")
    for _ in range(3):
        body = {"records": [contact(LastName=tag) for _ in range(150)]}
        assert all(r["success"] for r in sf.restful("composite/sobjects", method="POST", json=body))
    soql = f"SELECT Id, LastName FROM Contact WHERE LastName = '{tag}'"
    small = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query(soql, headers=small)
    assert (first["totalSize"], len(first["records"]), first["done"]) == (450, 200, False)
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=small)
    assert len(second["records"]) == 200
    assert len(sf.query_all(soql, headers=small)["records"]) == 450
    assert len(list(sf.query_all_iter(soql, headers=small))) == 450
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE LastName = '{tag}'")["totalSize"] == 450
    grouped = sf.query(
        f"SELECT LastName, COUNT(Id) n FROM Contact WHERE LastName = '{tag}' GROUP BY LastName"
    )
    assert (
        grouped["records"][0]["n"] == 450 and grouped["records"][0]["attributes"]["type"] == "AggregateResult"
    )
    assert sf.is_sandbox() is True


def test_composite(sf):
    request = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Account",
                "referenceId": "acc",
                "body": {"Name": unique("Acme")},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "person",
                "body": {"LastName": "Composite", "AccountId": "@{acc.id}"},
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/sobjects/Contact/@{person.id}?fields=AccountId",
                "referenceId": "read",
            },
        ],
    }
    answers = {
        r["referenceId"]: r for r in sf.restful("composite", method="POST", json=request)["compositeResponse"]
    }
    assert answers["acc"]["httpStatusCode"] == 201
    assert answers["read"]["body"]["AccountId"] == answers["acc"]["body"]["id"]


def test_tree(sf):
    name = unique("Tree")
    tree = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "a"},
                "Name": name,
                "Contacts": {
                    "records": [{"attributes": {"type": "Contact", "referenceId": "c"}, "LastName": "Child"}]
                },
            }
        ]
    }
    results = sf.restful("composite/tree/Account", method="POST", json=tree)["results"]
    ids = {r["referenceId"]: r["id"] for r in results}
    assert sf.Contact.get(ids["c"])["AccountId"] == ids["a"]


def test_search(sf):
    word = unique("Sosl")
    created = sf.Contact.create({"LastName": word, "Email": f"{word}@example.com"})
    assert [r["Id"] for r in sf.quick_search(word)["searchRecords"]] == [created["id"]]
    found = sf.search(f"FIND {{{word}}} IN EMAIL FIELDS RETURNING Contact(Email)")["searchRecords"]
    assert found[0]["Email"] == f"{word}@example.com"
    parameterized = sf.restful(
        "parameterizedSearch", params={"q": word, "sobject": "Contact", "Contact.fields": "Name"}
    )
    assert parameterized["searchRecords"][0]["Name"] == word
    with pytest.raises(SalesforceMalformedRequest):
        sf.search(word)  # no braces


def test_get_updated_and_deleted(sf):
    created = sf.Contact.create({"LastName": "Replicated"})
    start, end = NOW - dt.timedelta(days=1), dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    assert created["id"] in sf.Contact.updated(start, end)["ids"]
    sf.Contact.delete(created["id"])
    deleted = sf.Contact.deleted(start, end)
    assert created["id"] in [r["id"] for r in deleted["deletedRecords"]]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)


def test_describe_tooling_and_userinfo(sf):
    assert "Contact" in [o["name"] for o in sf.describe()["sobjects"]]
    assert "Contacts" in [r["relationshipName"] for r in sf.Account.describe()["childRelationships"]]
    assert sf.Contact.metadata()["objectDescribe"]["keyPrefix"] == "003"
    assert [o["name"] for o in sf.toolingexecute("sobjects")["sobjects"]] == ["CustomField", "CustomObject"]
    assert "TableEnumOrId" in [
        f["name"] for f in sf.toolingexecute("sobjects/CustomField/describe")["fields"]
    ]
    assert sf.toolingexecute("query?q=SELECT+Id+FROM+CustomField")["entityTypeName"] == "CustomField"
    assert sf.oauth2("userinfo")["preferred_username"] == "integration.user@sfcrm-sandbox.local"
