"""Tooling CustomField, field-level security through FieldPermissions, and reset."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.integration._clients import (
    contact,
    first_error,
    grant_access,
    http,
    permission_set_id,
    salesforce,
    unique,
)

pytestmark = pytest.mark.integration


def create_field(sf, sobject, name, metadata):
    return sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": f"{sobject}.{name}", "Metadata": metadata}
    )


def describe_field(sf, sobject, name):
    return next((f for f in getattr(sf, sobject).describe()["fields"] if f["name"] == name), None)


LONG = {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "Segments"}


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {"type": "Text", "length": 100},
            {"type": "string", "length": 100, "extraTypeInfo": None, "filterable": True},
        ),
        (
            {"type": "TextArea"},
            {
                "type": "textarea",
                "length": 255,
                "extraTypeInfo": "plaintextarea",
                "filterable": True,
                "sortable": True,
                "groupable": True,
                "htmlFormatted": False,
            },
        ),
        (
            LONG,
            {
                "type": "textarea",
                "length": 32768,
                "byteLength": 98304,
                "extraTypeInfo": "plaintextarea",
                "filterable": False,
                "sortable": False,
                "groupable": False,
                "htmlFormatted": False,
            },
        ),
        (
            {"type": "Html", "length": 32768, "visibleLines": 25},
            {
                "type": "textarea",
                "length": 32768,
                "extraTypeInfo": "richtextarea",
                "htmlFormatted": True,
                "filterable": False,
            },
        ),
        (
            {"type": "Email", "externalId": True, "unique": True},
            {"type": "email", "externalId": True, "unique": True, "idLookup": True},
        ),
    ],
    ids=["Text", "TextArea", "LongTextArea", "Html", "Email"],
)
def test_custom_field_types_in_describe(sf, metadata, expected):
    name = unique("f") + "__c"
    created = create_field(sf, "Contact", name, metadata)
    assert created["success"] is True and created["id"].startswith("00N")
    assert describe_field(sf, "Contact", name) is None  # invisible until granted
    grant_access(sf, "Contact", name)
    field = describe_field(sf, "Contact", name)
    assert field["custom"] is True and field["createable"] is True and field["updateable"] is True
    assert {k: field[k] for k in expected} == expected


def test_new_field_is_invisible_then_read_only_then_writable(sf):
    name = unique("seg") + "__c"
    create_field(sf, "Lead", name, LONG)
    record = {"attributes": {"type": "Lead"}, "LastName": "FLS", "Company": "Acme", name: "realized"}
    (hidden,) = sf.restful("composite/sobjects", method="POST", json={"records": [record]})
    assert first_error(hidden) == ("INVALID_FIELD", f"No such column '{name}' on sobject of type Lead", [])
    with pytest.raises(SalesforceMalformedRequest):
        sf.query(f"SELECT {name} FROM Lead")

    grant = grant_access(sf, "Lead", name, edit=False)
    assert grant["success"] and grant["id"]
    described = describe_field(sf, "Lead", name)
    assert described["updateable"] is False and described["createable"] is False
    (read_only,) = sf.restful("composite/sobjects", method="POST", json={"records": [record]})
    assert first_error(read_only)[0] == "INVALID_FIELD_FOR_INSERT_UPDATE"

    sf.FieldPermissions.update(grant["id"], {"PermissionsEdit": True})
    (written,) = sf.restful("composite/sobjects", method="POST", json={"records": [record]})
    assert written["success"] is True
    assert sf.Lead.get(written["id"])[name] == "realized"
    rows = sf.query(
        f"SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE Field = 'Lead.{name}'"
    )
    assert rows["records"][0]["PermissionsEdit"] is True


def test_custom_field_reads_back_by_id(sf):
    name = unique("back") + "__c"
    field_id = create_field(sf, "Contact", name, LONG)["id"]
    for given in (field_id, field_id[:15]):
        field = sf.toolingexecute(f"sobjects/CustomField/{given}")
        assert (field["Id"], field["FullName"]) == (field_id, f"Contact.{name}")
        assert field["Metadata"] == {
            "label": "Segments",
            "type": "LongTextArea",
            "length": 32768,
            "visibleLines": 3,
            "required": False,
            "externalId": False,
            "unique": False,
        }
    for unknown in (field_id[:15] + "XXX", "00Nak0000000001"):
        with pytest.raises(SalesforceResourceNotFound):
            sf.toolingexecute(f"sobjects/CustomField/{unknown}")


def test_long_text_area_length(sf):
    name = unique("len") + "__c"
    create_field(sf, "Contact", name, {**LONG, "length": 300})
    grant_access(sf, "Contact", name)
    (ok, too_long) = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [contact(**{name: "a" * 300}), contact(**{name: "a" * 301})]},
    )
    assert ok["success"] is True
    assert first_error(too_long)[0] == "STRING_TOO_LONG"


@pytest.mark.parametrize(
    ("full_name", "metadata", "code"),
    [
        (
            "Contact.{name}",
            {"type": "LongTextArea", "length": 32768},
            "FIELD_INTEGRITY_EXCEPTION",
        ),  # no visibleLines
        (
            "Contact.{name}",
            {"type": "LongTextArea", "length": 200, "visibleLines": 3},
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            "Contact.{name}",
            {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "externalId": True},
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        ("Contact.{name}", {"type": "Picklist"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Contact.bad name__c", LONG, "FIELD_INTEGRITY_EXCEPTION"),
        ("Contact.no_suffix", LONG, "FIELD_INTEGRITY_EXCEPTION"),
        ("Nope.{name}", LONG, "FIELD_INTEGRITY_EXCEPTION"),
    ],
)
def test_custom_field_refusals(sf, full_name, metadata, code):
    name = unique("f") + "__c"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={"FullName": full_name.format(name=name), "Metadata": metadata},
        )
    assert exc.value.content[0]["errorCode"] == code


def test_duplicate_field_name_is_refused_and_tooling_query_finds_it(sf):
    stem = unique("dup")
    create_field(sf, "Contact", f"{stem}__c", LONG)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create_field(sf, "Contact", f"{stem.upper()}__c", LONG)
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    found = sf.toolingexecute(
        "query?q=SELECT Id, DeveloperName FROM CustomField "
        f"WHERE TableEnumOrId = 'Contact' AND DeveloperName = '{stem}'"
    )
    assert found["size"] == 1 and found["records"][0]["DeveloperName"] == stem
    assert found["records"][0]["Id"].startswith("00N")
    assert (
        sf.toolingexecute(f"query?q=SELECT Id FROM CustomField WHERE DeveloperName = '{stem}x'")["size"] == 0
    )


@pytest.mark.parametrize(
    ("grant", "code"),
    [
        ({"Field": "Contact.Nope__c"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"SobjectType": "Nope"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"PermissionsRead": False, "PermissionsEdit": True}, "FIELD_INTEGRITY_EXCEPTION"),
    ],
)
def test_field_permission_refusals(sf, grant, code):
    name = unique("fp") + "__c"
    create_field(sf, "Contact", name, LONG)
    body = {
        "ParentId": permission_set_id(sf),
        "SobjectType": "Contact",
        "Field": f"Contact.{name}",
        "PermissionsRead": True,
        "PermissionsEdit": True,
        **grant,
    }
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.FieldPermissions.create(body)
    assert exc.value.content[0]["errorCode"] == code


def test_duplicate_grant_is_refused(sf):
    name = unique("fp") + "__c"
    create_field(sf, "Contact", name, LONG)
    grant_access(sf, "Contact", name)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        grant_access(sf, "Contact", name)
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_grant_on_unassigned_permission_set_does_not_show_field(sf):
    name = unique("other") + "__c"
    create_field(sf, "Contact", name, LONG)
    other = sf.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false")["records"][0]["Id"]
    sf.FieldPermissions.create(
        {
            "ParentId": other,
            "SobjectType": "Contact",
            "Field": f"Contact.{name}",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    assert describe_field(sf, "Contact", name) is None


def test_reset_empties_records_but_keeps_schema_and_grants(sandbox_factory):
    # An org of its own: resetting the session sandbox would wipe other tests' data.
    sandbox = sandbox_factory()
    sf = salesforce(sandbox)
    name = unique("keep") + "__c"
    create_field(sf, "Contact", name, LONG)
    grant_access(sf, "Contact", name)
    sf.Contact.create({"LastName": "Before reset", name: "x"})
    sandbox.reset()
    stats = sandbox.stats()
    assert stats["records"]["Contact"] == 0 and stats["records"]["Lead"] == 0
    assert stats["records"]["User"] == 2 and stats["records"]["FieldPermissions"] >= 1
    assert describe_field(sf, "Contact", name) is not None
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    assert http(sandbox).get(f"{sandbox.base_url}/__sandbox/stats").json()["records"]["Contact"] == 0
