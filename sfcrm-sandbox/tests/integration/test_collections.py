"""sObject Collections: create / update / upsert / delete / retrieve with Salesforce's per-record errors."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfcrm_sandbox.models.ids import canonical_id
from tests.integration._clients import (
    api,
    authed,
    contact,
    create_custom_field,
    first_error,
    http,
    lead,
    unique,
)

pytestmark = pytest.mark.integration

ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)


@pytest.fixture(scope="module")
def ext(sf):
    """An external-id Text field on Contact, granted read/edit."""
    return create_custom_field(
        sf, "Contact", {"type": "Text", "length": 40, "externalId": True, "label": "Ext Key"}
    )


@pytest.fixture(scope="module")
def unique_field(sf):
    return create_custom_field(sf, "Contact", {"type": "Email", "unique": True, "label": "Work Mail"})


def create(sf, records, all_or_none=False):
    return sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records}
    )


def update(sf, records, all_or_none=False, headers=None):
    return sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": records},
        headers=headers or {},
    )


def upsert(sf, field, records, all_or_none=False):
    return sf.restful(
        f"composite/sobjects/Contact/{field}",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": records},
    )


def ids_of(results):
    return [r["id"] for r in results]


def test_create_mixed_types_in_request_order(sf):
    results = create(sf, [contact(), lead(), contact(LastName=None), contact()])
    assert [r["success"] for r in results] == [True, True, False, True]
    assert results[0]["id"].startswith("003") and results[1]["id"].startswith("00Q")
    assert "id" not in results[2]
    assert first_error(results[2]) == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
        ["LastName"],
    )


def test_update_by_id(sf):
    ids = ids_of(create(sf, [contact(), contact()]))
    results = update(sf, [{"attributes": {"type": "Contact"}, "id": i, "Title": "Updated"} for i in ids])
    assert results == [{"id": i, "success": True, "errors": []} for i in ids]
    assert {sf.Contact.get(i)["Title"] for i in ids} == {"Updated"}


def test_update_accepts_15_character_ids(sf):
    (record_id,) = ids_of(create(sf, [contact()]))
    results = update(sf, [{"attributes": {"type": "Contact"}, "Id": record_id[:15], "Title": "Short"}])
    assert results[0] == {"id": record_id, "success": True, "errors": []}


@pytest.mark.parametrize(
    "records", [[{"attributes": {"type": "Contact"}, "Title": "x"}]] * 1 + [[{"Title": "x"}] * 2]
)
def test_update_without_id_is_missing_argument(sf, records):
    results = update(sf, records)
    assert len(results) == len(records)
    for result in results:
        assert result["success"] is False and "id" not in result
        assert first_error(result) == ("MISSING_ARGUMENT", "Id not specified in an update call", [])


@pytest.mark.parametrize(
    ("make_id", "message_start"),
    [
        (lambda good: good[:10], "malformed id"),  # bad length
        (lambda good: good[:15] + "ZZZ", "malformed id"),  # bad checksum
        (
            lambda good: canonical_id("001" + good[3:15]),
            "Contact ID: id value of incorrect type",
        ),  # wrong key prefix
    ],
    ids=["length", "checksum", "prefix"],
)
def test_update_malformed_id(sf, make_id, message_start):
    (good,) = ids_of(create(sf, [contact()]))
    bad = make_id(good)
    (result,) = update(sf, [{"attributes": {"type": "Contact"}, "Id": bad, "Title": "x"}])
    code, message, fields = first_error(result)
    assert (code, fields) == ("MALFORMED_ID", ["Id"])
    assert message.startswith(message_start)


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        (
            {"LastName": "x" * 81},
            "STRING_TOO_LONG",
            "Last Name: data value too large: " + "x" * 81 + " (max length=80)",
        ),
        (
            {"FirstName": "f" * 41},
            "STRING_TOO_LONG",
            "First Name: data value too large: " + "f" * 41 + " (max length=40)",
        ),
        ({"Email": "foo"}, "INVALID_EMAIL_ADDRESS", "Email: invalid email address: foo"),
        ({"Nope__c": "x"}, "INVALID_FIELD", "No such column 'Nope__c' on sobject of type Contact"),
        ({"IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", None),
        ({"LastName": None}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
        ({"LastName": ""}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"),
    ],
)
def test_update_per_record_errors(sf, fields, code, message):
    good, bad = ids_of(create(sf, [contact(), contact()]))
    results = update(
        sf,
        [
            {"attributes": {"type": "Contact"}, "Id": good, "Title": "ok"},
            {"attributes": {"type": "Contact"}, "Id": bad, **fields},
        ],
    )
    assert results[0]["success"] is True
    assert results[1]["success"] is False and "id" not in results[1]
    got_code, got_message, _ = first_error(results[1])
    assert got_code == code
    if message:
        assert got_message == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Birthdate": "yesterday"}, "Cannot deserialize instance of date from VALUE_STRING value yesterday"),
        ({"DoNotCall": "yes"}, "Cannot deserialize instance of boolean from VALUE_STRING value yes"),
        ({"Title": {"a": 1}}, "Cannot deserialize instance of string from START_OBJECT value {"),
        ({"EmailBouncedDate": "2024-01-02 03:04:05"}, "Cannot deserialize instance of datetime"),
    ],
)
def test_a_value_of_the_wrong_kind_fails_the_whole_request(sandbox, sf, fields, message):
    """Salesforce cannot read such a request: 400 JSON_PARSER_ERROR, no record written (observed)."""
    good, bad = ids_of(create(sf, [contact(Title="before"), contact()]))
    response = authed(sandbox).patch(
        api(sandbox, "/composite/sobjects"),
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "Id": good, "Title": "after"},
                {"attributes": {"type": "Contact"}, "Id": bad, **fields},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert response.json()[0]["message"].startswith(message)
    assert sf.Contact.get(good)["Title"] == "before"


def test_all_or_none_rolls_back_everything(sf):
    good_a, good_b = ids_of(create(sf, [contact(Title="before"), contact(Title="before")]))
    results = update(
        sf,
        [
            {"attributes": {"type": "Contact"}, "Id": good_a, "Title": "after"},
            {"attributes": {"type": "Contact"}, "Id": good_b, "Email": "broken"},
        ],
        all_or_none=True,
    )
    assert results[0]["success"] is False
    assert results[0]["errors"] == [
        {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": ROLLED_BACK_MESSAGE,
            "fields": [],
        }
    ]
    assert first_error(results[1])[0] == "INVALID_EMAIL_ADDRESS"
    assert sf.Contact.get(good_a)["Title"] == "before"


def test_all_or_none_create_commits_nothing(sandbox, sf):
    marker = unique("aon")
    results = create(sf, [contact(Title=marker), contact(LastName=None, Title=marker)], all_or_none=True)
    assert [r["success"] for r in results] == [False, False]
    assert all("id" not in r for r in results)
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE Title = '{marker}'")["totalSize"] == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"records": []}, 400, "REQUIRED_FIELD_MISSING"),
        ({"records": [{"attributes": {"type": "Contact"}, "LastName": "x"}] * 201}, 400, "EXCEEDED_ID_LIMIT"),
        ({"records": [{"LastName": "no type"}]}, 400, "INVALID_TYPE"),
    ],
)
def test_whole_request_errors(sandbox, body, status, code):
    response = authed(sandbox).post(api(sandbox, "/composite/sobjects"), json=body)
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


def test_simple_salesforce_raises_on_whole_request_error(sf):
    with pytest.raises(SalesforceMalformedRequest):
        create(sf, [contact()] * 201)


def test_two_hundred_records_are_accepted(sf):
    results = create(sf, [contact() for _ in range(200)])
    assert len(results) == 200 and all(r["success"] for r in results)


def test_deleted_records_stay_visible_to_query_all(sandbox, sf):
    marker = unique("del")
    ids = ids_of(create(sf, [contact(Title=marker), contact(Title=marker)]))
    results = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "false"}
    )
    assert results == [{"id": i, "success": True, "errors": []} for i in ids]
    assert sf.query(f"SELECT Id FROM Contact WHERE Title = '{marker}'")["totalSize"] == 0
    every = sf.query_all(f"SELECT Id, IsDeleted FROM Contact WHERE Title = '{marker}'", include_deleted=True)
    assert {r["Id"]: r["IsDeleted"] for r in every["records"]} == dict.fromkeys(ids, True)
    (again,) = update(sf, [{"attributes": {"type": "Contact"}, "Id": ids[0], "Title": "x"}])
    assert first_error(again)[0] == "ENTITY_IS_DELETED"
    (twice,) = sf.restful("composite/sobjects", method="DELETE", params={"ids": ids[0]})
    assert first_error(twice)[0] == "ENTITY_IS_DELETED"


def test_delete_errors_and_limits(sandbox, sf):
    (record_id,) = ids_of(create(sf, [contact()]))
    session = authed(sandbox)
    response = session.delete(
        api(sandbox, "/composite/sobjects"), params={"ids": f"{record_id},bogus", "allOrNone": "true"}
    )
    results = response.json()
    assert results[0] == {
        "id": record_id,
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": ROLLED_BACK_MESSAGE,
                "fields": [],
            }
        ],
    }
    assert first_error(results[1])[:2] == ("MALFORMED_ID", "malformed id bogus")
    assert sf.Contact.get(record_id)["IsDeleted"] is False
    empty = session.delete(api(sandbox, "/composite/sobjects"))
    assert empty.status_code == 400
    assert empty.json()[0] == {
        "message": "At least 1 Id is required.",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": [],
    }


def test_retrieve(sandbox, sf):
    ids = ids_of(create(sf, [contact(Title="r1"), contact(Title="r2")]))
    records = sf.restful("composite/sobjects/Contact", params={"ids": ",".join(ids), "fields": "Title"})
    assert [r["Title"] for r in records] == ["r1", "r2"]
    assert [r["Id"] for r in records] == ids
    posted = sf.restful(
        "composite/sobjects/Contact", method="POST", json={"ids": ids[:1], "fields": ["Title"]}
    )
    assert posted[0]["Title"] == "r1"


def test_converted_lead_cannot_be_updated(sandbox, sf):
    (lead_id,) = ids_of(create(sf, [lead()]))
    assert http(sandbox).post(f"{sandbox.base_url}/__sandbox/leads/{lead_id}/convert").json() == {
        "converted": True
    }
    (result,) = update(sf, [{"attributes": {"type": "Lead"}, "Id": lead_id, "Title": "x"}])
    assert first_error(result)[:2] == ("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")


def test_is_converted_is_read_only(sf):
    (result,) = create(sf, [lead(IsConverted=True)])
    code, message, fields = first_error(result)
    assert code == "INVALID_FIELD_FOR_INSERT_UPDATE" and fields == ["IsConverted"]
    assert message.startswith("Unable to create/update fields: IsConverted.")


def test_unique_field_duplicate_value(sf, unique_field):
    value = unique("u") + "@example.com"
    (first,) = create(sf, [contact(**{unique_field: value})])
    assert first["success"]
    (second,) = create(sf, [contact(**{unique_field: value.upper()})])
    code, message, _ = first_error(second)
    assert code == "DUPLICATE_VALUE"
    assert (
        message == f"duplicate value found: {unique_field} duplicates value on record with id: {first['id']}"
    )
    within = create(sf, [contact(**{unique_field: "x" + value}), contact(**{unique_field: "x" + value})])
    assert [r["success"] for r in within] == [True, False]
    assert first_error(within[1])[0] == "DUPLICATE_VALUE"


def test_same_id_twice_in_one_update(sf):
    (record_id,) = ids_of(create(sf, [contact()]))
    results = update(
        sf,
        [
            {"attributes": {"type": "Contact"}, "Id": record_id, "Title": "first"},
            {"attributes": {"type": "Contact"}, "Id": record_id, "Title": "second"},
        ],
    )
    assert results[0]["success"] is True
    assert first_error(results[1])[0] == "DUPLICATE_VALUE"
    assert sf.Contact.get(record_id)["Title"] == "first"


def test_upsert_creates_and_updates_with_created_flag(sf, ext):
    known, new = unique("k"), unique("k")
    upsert(sf, ext, [contact(**{ext: known})])
    results = upsert(sf, ext, [contact(**{ext: known}, Title="again"), contact(**{ext: new})])
    assert [r["created"] for r in results] == [False, True]
    assert all(r["success"] for r in results)
    assert sf.Contact.get_by_custom_id(ext, known)["Title"] == "again"


def test_upsert_key_matches_case_insensitively(sf, ext):
    key = unique("Key")
    (created,) = upsert(sf, ext, [contact(**{ext: key})])
    (again,) = upsert(sf, ext, [contact(**{ext.upper(): key.lower()})])
    assert again["id"] == created["id"] and again["created"] is False


def test_upsert_same_key_twice_in_one_request(sf, ext):
    key = unique("k")
    results = upsert(sf, ext, [contact(**{ext: key}), contact(**{ext: key})])
    assert [r["success"] for r in results] == [False, False]
    assert {first_error(r)[0] for r in results} == {"DUPLICATE_EXTERNAL_ID"}
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE {ext} = '{key}'")["totalSize"] == 0


@pytest.mark.parametrize(
    ("field", "status", "code"),
    [("Email", 400, "INVALID_FIELD"), ("Id", 400, "INVALID_FIELD"), ("Nope__c", 404, "NOT_FOUND")],
)
def test_upsert_needs_an_external_id_field(sandbox, field, status, code):
    response = authed(sandbox).patch(
        api(sandbox, f"/composite/sobjects/Contact/{field}"), json={"records": [contact(Email="a@b.co")]}
    )
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


def test_upsert_all_or_none_shows_ids_of_rolled_back_updates(sf, ext):
    key = unique("k")
    (created,) = upsert(sf, ext, [contact(**{ext: key})])
    results = upsert(
        sf, ext, [contact(**{ext: key}), contact(**{ext: unique("k")}, Email="bad")], all_or_none=True
    )
    assert results[0]["id"] == created["id"]
    assert first_error(results[0])[0] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert "id" not in results[1] and first_error(results[1])[0] == "INVALID_EMAIL_ADDRESS"


def test_auto_assign_header_on_collections(sf):
    router = sf.query("SELECT Id FROM User WHERE Username = 'lead.router@sfcrm-sandbox.local'")["records"][0][
        "Id"
    ]
    (assigned, kept) = (
        create(sf, [lead()])[0]["id"],
        sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [lead()]},
            headers={"Sforce-Auto-Assign": "FALSE"},
        )[0]["id"],
    )
    assert sf.Lead.get(assigned)["OwnerId"] == router
    assert sf.Lead.get(kept)["OwnerId"] != router
    update(
        sf,
        [{"attributes": {"type": "Lead"}, "Id": kept, "Title": "x"}],
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    assert sf.Lead.get(kept)["OwnerId"] != router
