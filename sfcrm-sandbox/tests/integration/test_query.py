"""SOQL over REST: query, queryAll, paging by nextRecordsUrl, errors; the org's seeded setup data."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.integration._clients import VERSION, api, authed, contact, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def many(sf):
    """2,101 Contacts sharing one Title: just over one page of 2,000."""
    marker = unique("page")
    for start in range(0, 2101, 200):
        batch = [contact(Title=marker, Department=str(i)) for i in range(start, min(start + 200, 2101))]
        assert all(
            r["success"] for r in sf.restful("composite/sobjects", method="POST", json={"records": batch})
        )
    return marker


def test_query_records_carry_attributes(sf):
    record_id = sf.Contact.create({"LastName": "Attr", "Email": "attr@example.com"})["id"]
    result = sf.query(f"SELECT Id, LastName FROM Contact WHERE Id = '{record_id}'")
    assert result["totalSize"] == 1 and result["done"] is True
    assert result["records"][0]["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v{VERSION}/sobjects/Contact/{record_id}",
    }
    assert result["records"][0]["LastName"] == "Attr"
    # The url is there even when Id is not selected (and Id is not added to the record).
    (without_id,) = sf.query(f"SELECT LastName FROM Contact WHERE Id = '{record_id}'")["records"]
    assert without_id == {"attributes": result["records"][0]["attributes"], "LastName": "Attr"}


def test_paging_at_two_thousand_rows(sandbox, sf, many):
    session = authed(sandbox)
    first = session.get(
        api(sandbox, "/query"), params={"q": f"SELECT Id FROM Contact WHERE Title = '{many}'"}
    ).json()
    assert first["totalSize"] == 2101 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    second = session.get(sandbox.base_url + first["nextRecordsUrl"]).json()
    assert second["done"] is True and len(second["records"]) == 101 and "nextRecordsUrl" not in second
    ids = {r["Id"] for r in first["records"]} | {r["Id"] for r in second["records"]}
    assert len(ids) == 2101
    # simple-salesforce follows nextRecordsUrl by itself.
    assert len(sf.query_all(f"SELECT Id FROM Contact WHERE Title = '{many}'")["records"]) == 2101


def test_count_and_order_limit_offset(sf, many):
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE Title = '{many}'")["totalSize"] == 2101
    rows = sf.query(
        f"SELECT Department FROM Contact WHERE Title = '{many}' AND Department LIKE '1%' "
        "ORDER BY Department DESC LIMIT 3 OFFSET 1"
    )["records"]
    assert [r["Department"] for r in rows] == ["1998", "1997", "1996"]


def test_unknown_locator(sandbox):
    response = authed(sandbox).get(api(sandbox, "/query/01gak0000000000AAA-2000"))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_includes_deleted(sf):
    marker = unique("qa")
    record_id = sf.Contact.create({"LastName": "Gone", "Title": marker})["id"]
    sf.Contact.delete(record_id)
    assert sf.query(f"SELECT Id FROM Contact WHERE Title = '{marker}'")["totalSize"] == 0
    deleted = sf.query_all(
        f"SELECT Id, IsDeleted FROM Contact WHERE Title = '{marker}'", include_deleted=True
    )
    assert deleted["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id Contact", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id FROM Contact WHERE Description = 'x'", "INVALID_FIELD"),
    ],
)
def test_query_errors(sandbox, soql, code):
    response = authed(sandbox).get(api(sandbox, "/query"), params={"q": soql})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


def test_simple_salesforce_raises_malformed_query(sf):
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT FROM Contact")


def test_seeded_users_profile_and_permission_sets(sandbox, sf):
    users = {u["Username"]: u for u in sf.query("SELECT Id, Username, ProfileId, Name FROM User")["records"]}
    integration = users[sandbox.username]
    assert integration["ProfileId"].startswith("00e")
    assert "lead.router@sfcrm-sandbox.local" in users
    owned = sf.query(
        "SELECT Id, Name, Label, ProfileId, IsOwnedByProfile FROM PermissionSet WHERE IsOwnedByProfile = true"
    )["records"]
    assert len(owned) == 1
    assert owned[0]["ProfileId"] == integration["ProfileId"] and owned[0]["Id"].startswith("0PS")
    assigned = sf.query(
        f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{integration['Id']}'"
    )["records"]
    assert [a["PermissionSetId"] for a in assigned] == [owned[0]["Id"]]
    org = sf.query("SELECT Id, Name FROM Organization")["records"][0]
    assert org["Id"].startswith("00D")
