"""Custom objects through the Tooling API (CustomObject), made visible with ObjectPermissions, and
everything a standard object does: records, describe, SOQL, collections, upserts, Bulk."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfcrm_sandbox.process import start_sandbox
from tests.integration._bulk import ingest
from tests.integration._clients import api, authed, grant_access, permission_set_id, salesforce, unique

pytestmark = pytest.mark.integration


def metadata(**overrides):
    return {
        "label": "Gadget",
        "pluralLabel": "Gadgets",
        "nameField": {"label": "Gadget Name", "type": "Text"},
        "sharingModel": "ReadWrite",
        "deploymentStatus": "Deployed",
        **overrides,
    }


def create_object(sf, name, **overrides):
    return sf.toolingexecute(
        "sobjects/CustomObject", method="POST", data={"FullName": name, "Metadata": metadata(**overrides)}
    )


def grant_object(sf, name, **permissions):
    return sf.ObjectPermissions.create(
        {"ParentId": permission_set_id(sf), "SobjectType": name, "PermissionsRead": True, **permissions}
    )


CRUD = {"PermissionsCreate": True, "PermissionsEdit": True, "PermissionsDelete": True}


@pytest.fixture(scope="module")
def gadget(sf):
    """A custom object the user may read, create, edit and delete, with an external id."""
    name = unique("Gadget") + "__c"
    create_object(sf, name)
    grant_object(sf, name, **CRUD)
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={"FullName": f"{name}.Code__c", "Metadata": {"type": "Text", "length": 20, "externalId": True}},
    )
    grant_access(sf, name, "Code__c")
    return name


def test_a_new_object_is_invisible_until_granted(sandbox, sf):
    name = unique("Hidden") + "__c"
    created = create_object(sf, name)
    assert created["id"].startswith("01I") and created["success"] is True
    session = authed(sandbox)
    assert session.get(api(sandbox, f"/sobjects/{name}/describe")).status_code == 404
    queried = session.get(api(sandbox, "/query"), params={"q": f"SELECT Id FROM {name}"})
    assert queried.json()[0]["errorCode"] == "INVALID_TYPE"
    written = session.post(
        api(sandbox, "/composite/sobjects"), json={"records": [{"attributes": {"type": name}}]}
    )
    assert written.status_code == 400 and written.json()[0]["errorCode"] == "INVALID_TYPE"
    assert name not in [o["name"] for o in sf.describe()["sobjects"]]

    grant = grant_object(sf, name)
    described = session.get(api(sandbox, f"/sobjects/{name}/describe")).json()
    assert (described["custom"], described["createable"], described["queryable"]) == (True, False, True)
    assert described["keyPrefix"].startswith("a")
    refused = session.post(api(sandbox, f"/sobjects/{name}"), json={"Name": "x"})
    assert refused.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"

    sf.ObjectPermissions.update(grant["id"], {"PermissionsCreate": True})
    made = session.post(api(sandbox, f"/sobjects/{name}"), json={"Name": "first"})
    assert made.status_code == 201 and made.json()["id"].startswith(described["keyPrefix"])
    assert name in [o["name"] for o in sf.describe()["sobjects"]]


def test_records_of_a_custom_object(sandbox, sf, gadget):
    api_object = getattr(sf, gadget)
    created = api_object.create({"Name": "One", "Code__c": "G-1"})
    unnamed = api_object.create({"Code__c": "G-2"})
    assert api_object.get(unnamed["id"])["Name"] == unnamed["id"]  # named after its Id
    api_object.update(created["id"], {"Name": "Uno"})
    assert api_object.get_by_custom_id("Code__c", "g-1")["Name"] == "Uno"
    upserted = sf.restful(
        f"composite/sobjects/{gadget}/Code__c",
        method="PATCH",
        json={"records": [{"attributes": {"type": gadget}, "Code__c": "G-1", "Name": "Eins"}]},
    )
    assert upserted[0]["created"] is False
    rows = sf.query(
        f"SELECT Name, Code__c, Owner.Username FROM {gadget} WHERE Code__c LIKE 'G-%' ORDER BY Code__c"
    )["records"]
    assert [(r["Name"], r["Code__c"]) for r in rows] == [("Eins", "G-1"), (unnamed["id"], "G-2")]
    assert rows[0]["Owner"]["Username"] == sandbox.username
    api_object.delete(unnamed["id"])
    assert sf.query(f"SELECT COUNT() FROM {gadget} WHERE Code__c LIKE 'G-%'")["totalSize"] == 1
    deleted = sf.query_all(
        f"SELECT Id, IsDeleted FROM {gadget} WHERE Code__c LIKE 'G-%'", include_deleted=True
    )["records"]
    assert sorted(r["IsDeleted"] for r in deleted) == [False, True]


def test_describe_of_a_custom_object(sf, gadget):
    described = getattr(sf, gadget).describe()
    assert (described["label"], described["labelPlural"], described["custom"]) == ("Gadget", "Gadgets", True)
    assert (described["createable"], described["updateable"], described["deletable"]) == (True, True, True)
    fields = {f["name"]: f for f in described["fields"]}
    assert {"Id", "OwnerId", "Name", "IsDeleted", "CreatedDate", "SystemModstamp", "Code__c"} <= set(fields)
    assert (fields["Name"]["type"], fields["Name"]["length"], fields["Name"]["nameField"]) == (
        "string",
        80,
        True,
    )
    assert fields["Code__c"]["externalId"] is True and fields["Code__c"]["custom"] is True


def test_an_auto_number_names_each_record(sandbox, sf):
    name = unique("Ticket") + "__c"
    create_object(
        sf, name, nameField={"label": "Ticket Number", "type": "AutoNumber", "displayFormat": "T-{0000}"}
    )
    grant_object(sf, name, **CRUD)
    session = authed(sandbox)
    answered = session.post(
        api(sandbox, "/composite/sobjects"),
        json={"records": [{"attributes": {"type": name}} for _ in range(2)]},
    ).json()
    names = [
        sf.query(f"SELECT Name FROM {name} WHERE Id = '{r['id']}'")["records"][0]["Name"] for r in answered
    ]
    assert names == ["T-0001", "T-0002"]
    given = session.post(api(sandbox, f"/sobjects/{name}"), json={"Name": "mine"})
    assert given.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    name_field = next(f for f in getattr(sf, name).describe()["fields"] if f["name"] == "Name")
    assert (name_field["autoNumber"], name_field["createable"]) == (True, False)


def test_bulk_and_collections_on_a_custom_object(sandbox, gadget):
    session = authed(sandbox)
    info = ingest(session, sandbox, "Name,Code__c\nBulk A,B-1\nBulk B,B-2\n", object=gadget)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 0)
    upsert = ingest(
        session,
        sandbox,
        "Code__c,Name\nB-1,Bulk A2\nB-3,Bulk C\n",
        object=gadget,
        operation="upsert",
        externalIdFieldName="Code__c",
    )
    assert upsert["numberRecordsFailed"] == 0
    rows = session.get(
        api(sandbox, "/query"),
        params={"q": f"SELECT Name FROM {gadget} WHERE Code__c LIKE 'B-%' ORDER BY Code__c"},
    ).json()
    assert [r["Name"] for r in rows["records"]] == ["Bulk A2", "Bulk B", "Bulk C"]


@pytest.mark.parametrize(
    ("full_name", "overrides", "code", "message"),
    [
        ("Gadget", {}, "FIELD_INTEGRITY_EXCEPTION", "must end in __c"),
        ("1Gadget__c", {}, "FIELD_INTEGRITY_EXCEPTION", "must begin with a letter"),
        ("Gad__get__c", {}, "FIELD_INTEGRITY_EXCEPTION", "two consecutive underscores"),
        ("Bad_Label__c", {"label": ""}, "FIELD_INTEGRITY_EXCEPTION", "'label'"),
        ("Bad_Plural__c", {"pluralLabel": None}, "FIELD_INTEGRITY_EXCEPTION", "'pluralLabel'"),
        (
            "Bad_Sharing__c",
            {"sharingModel": "ControlledByParent"},
            "FIELD_INTEGRITY_EXCEPTION",
            "sharingModel",
        ),
        ("Bad_Status__c", {"deploymentStatus": "Live"}, "FIELD_INTEGRITY_EXCEPTION", "deploymentStatus"),
        (
            "Bad_Name__c",
            {"nameField": {"label": "N", "type": "Number"}},
            "FIELD_INTEGRITY_EXCEPTION",
            "Text or AutoNumber",
        ),
        (
            "Bad_Auto__c",
            {"nameField": {"label": "N", "type": "AutoNumber", "displayFormat": "T-"}},
            "FIELD_INTEGRITY_EXCEPTION",
            "displayFormat",
        ),
    ],
)
def test_refused_objects(sf, full_name, overrides, code, message):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        create_object(sf, full_name, **overrides)
    assert refused.value.content[0]["errorCode"] == code
    assert message in refused.value.content[0]["message"]


def test_names_are_unique_without_regard_to_case(sf):
    name = unique("Twice") + "__c"
    create_object(sf, name)
    for spelling in (name, name.upper()[:-3] + "__c"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            create_object(sf, spelling)
        assert refused.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_tooling_reads_custom_objects_back(sf, gadget):
    found = sf.toolingexecute(
        "query",
        params={
            "q": "SELECT Id, DeveloperName, SharingModel FROM CustomObject "
            f"WHERE DeveloperName = '{gadget[:-3]}'"
        },
    )
    (row,) = found["records"]
    assert row["SharingModel"] == "ReadWrite"
    record = sf.toolingexecute(f"sobjects/CustomObject/{row['Id']}")
    assert (record["FullName"], record["Metadata"]["pluralLabel"]) == (gadget, "Gadgets")
    fields = sf.toolingexecute(
        "query",
        params={"q": "SELECT TableEnumOrId, DeveloperName FROM CustomField WHERE DeveloperName = 'Code'"},
    )["records"]
    assert {"TableEnumOrId": row["Id"], "DeveloperName": "Code"} in [
        {k: r[k] for k in ("TableEnumOrId", "DeveloperName")} for r in fields
    ]


@pytest.mark.parametrize(
    ("grant", "code"),
    [
        ({"SobjectType": "Nothing__c", "PermissionsRead": True}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"SobjectType": "Account", "PermissionsCreate": True}, "FIELD_INTEGRITY_EXCEPTION"),
        (
            {"SobjectType": "Account", "PermissionsRead": True, "PermissionsDelete": True},
            "FIELD_INTEGRITY_EXCEPTION",
        ),
    ],
)
def test_object_permission_rules(sf, grant, code):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.ObjectPermissions.create({"ParentId": permission_set_id(sf), **grant})
    assert refused.value.content[0]["errorCode"] == code


def test_one_grant_per_permission_set_and_object(sf, gadget):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        grant_object(sf, gadget)
    assert refused.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_custom_objects_survive_a_restart_and_reset_empties_them(tmp_path):
    with start_sandbox(tmp_path) as org:
        sf = salesforce(org)
        create_object(sf, "Kept__c")
        grant_object(sf, "Kept__c", **CRUD)
        prefix = sf.Kept__c.describe()["keyPrefix"]
        sf.Kept__c.create({"Name": "before restart"})
    with start_sandbox(tmp_path) as org:
        sf = salesforce(org)
        assert sf.Kept__c.describe()["keyPrefix"] == prefix
        assert sf.query("SELECT Name FROM Kept__c")["records"][0]["Name"] == "before restart"
        org.reset()
        assert sf.query("SELECT COUNT() FROM Kept__c")["totalSize"] == 0
        assert org.stats()["records"]["Kept__c"] == 0
