"""Child-to-parent paths in SOQL (``Account.Name``): resolution, values, filters, order, nesting, errors."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.soql import FieldInfo, SoqlError, execute, parse
from sfcrm_sandbox.models.soql_paths import nest_parents, resolve_paths, select_parent_ids, with_parents

USER = {"id": FieldInfo("Id", "id"), "username": FieldInfo("Username", "string")}
ACCOUNT = {
    "id": FieldInfo("Id", "id"),
    "name": FieldInfo("Name", "string"),
    "industry": FieldInfo("Industry", "picklist"),
    "ownerid": FieldInfo("OwnerId", "reference", relationship="Owner", reference_to=("User",)),
}
CONTACT = {
    "id": FieldInfo("Id", "id"),
    "lastname": FieldInfo("LastName", "string"),
    "email": FieldInfo("Email", "email"),
    "accountid": FieldInfo("AccountId", "reference", relationship="Account", reference_to=("Account",)),
}
LEAD = {
    "id": FieldInfo("Id", "id"),
    "email": FieldInfo("Email", "email"),
    "company": FieldInfo("Company", "string"),
}
MEMBER = {
    "id": FieldInfo("Id", "id"),
    "leadorcontactid": FieldInfo(
        "LeadOrContactId", "reference", relationship="LeadOrContact", reference_to=("Contact", "Lead")
    ),
}

RECORDS = {
    "005U1": ("User", {"Id": "005U1", "Username": "owner@example.com"}),
    "001A1": ("Account", {"Id": "001A1", "Name": "Acme", "Industry": "Banking", "OwnerId": "005U1"}),
    "001A2": ("Account", {"Id": "001A2", "Name": "Zenith", "Industry": "Retail", "OwnerId": None}),
    "00QL1": ("Lead", {"Id": "00QL1", "Email": "lead@example.com", "Company": "Lead Co"}),
}
CONTACTS = [
    {"Id": "003C1", "LastName": "Lovelace", "Email": "ada@example.com", "AccountId": "001A2"},
    {"Id": "003C2", "LastName": "Hopper", "Email": "grace@example.com", "AccountId": "001A1"},
    {"Id": "003C3", "LastName": "Turing", "Email": None, "AccountId": None},
]


class Org:
    """Relationships over the dicts above."""

    def __init__(self, objects=None) -> None:
        self.objects = {"User": USER, "Account": ACCOUNT, "Contact": CONTACT, "Lead": LEAD}
        if objects is not None:
            self.objects = objects

    def fields_of(self, sobject):
        return self.objects.get(sobject)

    def record(self, record_id):
        return RECORDS.get(record_id)


def url(sobject, record_id):
    return f"/sobjects/{sobject}/{record_id}"


def run(soql, rows=CONTACTS, fields=CONTACT, sobject="Contact", org=None):
    """The query as the sandbox's query route runs it: paths resolved, every parent's Id selected for
    its url, parents joined into the rows, the engine, then the parents nested."""
    org = org or Org()
    query = parse(soql)
    paths, relations = resolve_paths(query, sobject, fields, org)
    query, parent_ids = select_parent_ids(query, relations)
    joined = with_parents(
        (dict(row) for row in rows), relations, [*paths.values(), *parent_ids.values()], org
    )
    result = execute(query, joined, {**fields, **paths, **parent_ids})
    hidden = [info.name for info in parent_ids.values()]
    return [nest_parents(row, relations, url, hidden) for row in result]


def attributes(sobject, record_id):
    return {"type": sobject, "url": url(sobject, record_id)}


def test_a_parent_field_is_nested_under_the_relationship_name():
    rows = run("SELECT LastName, Account.Name, Account.Industry FROM Contact")
    assert rows[1] == {
        "LastName": "Hopper",
        "Account": {"attributes": attributes("Account", "001A1"), "Name": "Acme", "Industry": "Banking"},
    }
    # No account: the relationship reads as null, not as an object of nulls.
    assert rows[2] == {"LastName": "Turing", "Account": None}


def test_paths_go_several_relationships_deep():
    rows = run("SELECT Account.Owner.Username FROM Contact")
    assert rows[1]["Account"]["Owner"] == {
        "attributes": attributes("User", "005U1"),
        "Username": "owner@example.com",
    }
    assert rows[0]["Account"] == {"attributes": attributes("Account", "001A2"), "Owner": None}


def test_a_parent_field_filters_and_orders():
    assert [
        r["LastName"] for r in run("SELECT LastName FROM Contact WHERE Account.Industry = 'banking'")
    ] == ["Hopper"]
    assert [r["LastName"] for r in run("SELECT LastName FROM Contact WHERE Account.Name != 'Acme'")] == [
        "Lovelace",
        "Turing",
    ]
    ordered = run("SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST")
    assert [r["LastName"] for r in ordered] == ["Lovelace", "Hopper", "Turing"]


def test_a_lookup_to_several_objects_reads_the_fields_they_share():
    rows = run(
        "SELECT LeadOrContact.Email FROM CampaignMember",
        [{"Id": "00v1", "LeadOrContactId": "00QL1"}],
        MEMBER,
        "CampaignMember",
    )
    # The parent's object comes from its Id's key prefix.
    assert rows == [
        {"LeadOrContact": {"attributes": attributes("Lead", "00QL1"), "Email": "lead@example.com"}}
    ]
    with pytest.raises(SoqlError) as info:
        run("SELECT LeadOrContact.Company FROM CampaignMember", [], MEMBER, "CampaignMember")
    assert "No such column 'Company' on entity 'Contact'" in info.value.message


@pytest.mark.parametrize(
    ("soql", "code", "message"),
    [
        ("SELECT Acount.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Acount'"),
        (
            "SELECT Id FROM Contact WHERE Owner.Name = 'x'",
            "INVALID_FIELD",
            "Didn't understand relationship 'Owner'",
        ),
        ("SELECT Account.Nme FROM Contact", "INVALID_FIELD", "No such column 'Nme' on entity 'Account'"),
        ("SELECT AccountId.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'AccountId'"),
        ("SELECT Account.Name, account.NAME FROM Contact", "INVALID_FIELD", "duplicate field selected"),
        ("SELECT A.B.C.D.E.F.G FROM Contact", "MALFORMED_QUERY", "more than 5 levels of relationships"),
        ("SELECT Account. FROM Contact", "MALFORMED_QUERY", "unexpected token"),
    ],
)
def test_bad_paths_are_refused_like_salesforce_does(soql, code, message):
    with pytest.raises(SoqlError) as info:
        run(soql)
    assert info.value.error_code == code
    assert message in info.value.message


def test_a_lookup_to_an_object_the_org_does_not_have_is_an_unknown_relationship():
    with pytest.raises(SoqlError) as info:
        run("SELECT Account.Name FROM Contact", org=Org({"Contact": CONTACT}))
    assert "Didn't understand relationship 'Account'" in info.value.message


def test_a_lookup_naming_a_record_of_another_object_reads_as_no_parent():
    rows = run(
        "SELECT LastName, Account.Name FROM Contact", [{"Id": "003C9", "LastName": "X", "AccountId": "005U1"}]
    )
    assert rows == [{"LastName": "X", "Account": None}]


def test_parent_paths_group_and_aggregate():
    rows = run(
        "SELECT Account.Industry, COUNT(Id) FROM Contact GROUP BY Account.Industry ORDER BY Account.Industry"
    )
    # An AggregateResult holds a grouped parent field under the field's own name, not nested.
    assert rows == [
        {"Industry": None, "expr0": 1},
        {"Industry": "Banking", "expr0": 1},
        {"Industry": "Retail", "expr0": 1},
    ]
