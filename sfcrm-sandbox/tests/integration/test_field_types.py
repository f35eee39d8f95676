"""Custom fields of every type the Tooling API creates: how describe reports them, the values each
takes, and the codes each refusal gets on REST, sObject Collections, Composite and Bulk alike."""

from __future__ import annotations

import pytest

from tests.integration._bulk import ingest, results
from tests.integration._clients import api, authed, create_custom_field, first_error

pytestmark = pytest.mark.integration


def values(*entries):
    return {"valueSetDefinition": {"value": [{"fullName": e, **extra} for e, extra in entries]}}


TIERS = {
    "restricted": True,
    **values(("Gold", {"default": True}), ("Silver", {}), ("Tin", {"isActive": False})),
}
TYPES = {
    "number": {"type": "Number", "precision": 8, "scale": 2, "label": "Score"},
    "currency": {"type": "Currency", "precision": 10, "scale": 2, "label": "Budget"},
    "percent": {"type": "Percent", "precision": 5, "scale": 1, "label": "Share"},
    "date": {"type": "Date", "label": "Since"},
    "datetime": {"type": "DateTime", "label": "Seen"},
    "checkbox": {"type": "Checkbox", "defaultValue": "true", "label": "Opted"},
    "tier": {"type": "Picklist", "valueSet": TIERS, "label": "Tier"},
    "open": {"type": "Picklist", "valueSet": values(("A", {}), ("B", {})), "label": "Open"},
    "tags": {"type": "MultiselectPicklist", "visibleLines": 4, "valueSet": TIERS, "label": "Tags"},
    "email": {"type": "Email", "label": "Mail"},
    "phone": {"type": "Phone", "label": "Tel"},
    "url": {"type": "Url", "label": "Site"},
    "text": {"type": "Text", "length": 10, "label": "Short"},
}


@pytest.fixture(scope="module")
def fields(sf):
    """One custom field of each kind on Contact, readable and editable: ``{kind: API name}``."""
    return {kind: create_custom_field(sf, "Contact", metadata) for kind, metadata in TYPES.items()}


@pytest.fixture(scope="module")
def described(sf, fields):
    by_name = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    return {kind: by_name[name] for kind, name in fields.items()}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "number",
            {
                "type": "double",
                "precision": 8,
                "scale": 2,
                "digits": 0,
                "length": 0,
                "soapType": "xsd:double",
            },
        ),
        ("currency", {"type": "currency", "precision": 10, "scale": 2, "soapType": "xsd:double"}),
        ("percent", {"type": "percent", "precision": 5, "scale": 1, "soapType": "xsd:double"}),
        ("date", {"type": "date", "soapType": "xsd:date", "nillable": True}),
        ("datetime", {"type": "datetime", "soapType": "xsd:dateTime", "groupable": False}),
        (
            "checkbox",
            {
                "type": "boolean",
                "defaultValue": True,
                "defaultedOnCreate": True,
                "nillable": False,
                "soapType": "xsd:boolean",
            },
        ),
        (
            "tier",
            {
                "type": "picklist",
                "length": 255,
                "byteLength": 765,
                "restrictedPicklist": True,
                "defaultedOnCreate": True,
                "soapType": "xsd:string",
            },
        ),
        ("open", {"type": "picklist", "restrictedPicklist": False, "defaultedOnCreate": False}),
        (
            "tags",
            {
                "type": "multipicklist",
                "length": 4099,
                "sortable": False,
                "groupable": False,
                "filterable": True,
            },
        ),
        ("email", {"type": "email", "length": 80, "byteLength": 240}),
        ("phone", {"type": "phone", "length": 40, "byteLength": 120}),
        ("url", {"type": "url", "length": 255}),
        ("text", {"type": "string", "length": 10, "custom": True, "externalId": False, "unique": False}),
    ],
)
def test_describe_reports_each_type(described, kind, expected):
    assert {key: described[kind][key] for key in expected} == expected


def test_picklist_values_in_describe(described):
    assert [
        (v["value"], v["label"], v["active"], v["defaultValue"]) for v in described["tier"]["picklistValues"]
    ] == [
        ("Gold", "Gold", True, True),
        ("Silver", "Silver", True, False),
    ]
    assert [v["value"] for v in described["open"]["picklistValues"]] == ["A", "B"]


def test_good_values_land_typed(sandbox, sf, fields):
    record = {
        fields["number"]: "123456.789",
        fields["currency"]: 99.5,
        fields["percent"]: "12.34",
        fields["date"]: "2026-02-28",
        fields["datetime"]: "2026-02-28T23:30:00-02:00",
        fields["checkbox"]: "false",
        fields["tier"]: "Silver",
        fields["open"]: "Not listed",
        fields["tags"]: "Silver;Gold; Silver",
        fields["email"]: "ada@example.com",
        fields["phone"]: "+1 (555) 010-0000",
        fields["url"]: "example.com/some/where",
        fields["text"]: " 10 chars! ",
    }
    created = sf.Contact.create({"LastName": "Typed", **record})
    read = sf.Contact.get(created["id"])
    assert [read[fields[k]] for k in ("number", "currency", "percent", "date", "datetime", "checkbox")] == [
        123456.79,
        99.5,
        12.3,
        "2026-02-28",
        "2026-03-01T01:30:00.000+0000",
        False,
    ]
    assert [read[fields[k]] for k in ("tier", "open", "tags", "text")] == [
        "Silver",
        "Not listed",
        "Silver;Gold",
        "10 chars!",
    ]
    defaulted = sf.Contact.get(sf.Contact.create({"LastName": "Defaults"})["id"])
    assert (defaulted[fields["checkbox"]], defaulted[fields["tier"]]) == (True, "Gold")


BAD_VALUES = [
    (
        "number",
        1e6,
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Score: value outside of valid range on numeric field: 1000000.0",
    ),
    ("currency", "-123456789", "NUMBER_OUTSIDE_VALID_RANGE", None),
    (
        "tier",
        "Tin",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Tier: bad value for restricted picklist field: Tin",
    ),
    ("tier", "Bronze", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None),
    (
        "tags",
        "Gold;Bronze",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Tags: bad value for restricted picklist field: Bronze",
    ),
    ("email", "not an address", "INVALID_EMAIL_ADDRESS", None),
    ("phone", "5" * 41, "STRING_TOO_LONG", None),
    ("url", "u" * 256, "STRING_TOO_LONG", None),
    ("text", "eleven char", "STRING_TOO_LONG", "Short: data value too large: eleven char (max length=10)"),
]


@pytest.mark.parametrize(("kind", "value", "code", "message"), BAD_VALUES)
def test_bad_values_fail_their_record_on_every_api(sandbox, fields, kind, value, code, message):
    session = authed(sandbox)
    bad = {"LastName": "Bad", fields[kind]: value}
    collections = session.post(
        api(sandbox, "/composite/sobjects"),
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Good"},
                {"attributes": {"type": "Contact"}, **bad},
            ]
        },
    ).json()
    assert collections[0]["success"] is True
    assert first_error(collections[1])[0] == code and first_error(collections[1])[2] == [fields[kind]]
    if message:
        assert first_error(collections[1])[1] == message
    single = session.post(api(sandbox, "/sobjects/Contact"), json=bad)
    assert (single.status_code, single.json()[0]["errorCode"]) == (400, code)
    composite = session.post(
        api(sandbox, "/composite"),
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Contact",
                    "referenceId": "c",
                    "body": bad,
                }
            ]
        },
    ).json()["compositeResponse"][0]
    assert (composite["httpStatusCode"], composite["body"][0]["errorCode"]) == (400, code)
    info = ingest(session, sandbox, f'LastName,{fields[kind]}\nBulk,"{value}"\n')
    (_, row) = results(session, sandbox, info["id"], "failedResults")
    assert row[1].startswith(f"{code}:")


WRONG_KINDS = [
    ("number", "twelve", "Cannot deserialize instance of double from VALUE_STRING value twelve"),
    ("currency", True, "Cannot deserialize instance of currency from VALUE_TRUE value true"),
    ("date", "28/02/2026", "Cannot deserialize instance of date from VALUE_STRING value 28/02/2026"),
    ("datetime", "2026-02-28 10:00:00", "Cannot deserialize instance of datetime from VALUE_STRING"),
    ("checkbox", "yes", "Cannot deserialize instance of boolean from VALUE_STRING value yes"),
    ("tags", ["Gold", "Silver"], "Cannot deserialize instance of multipicklist from START_ARRAY"),
]


@pytest.mark.parametrize(("kind", "value", "message"), WRONG_KINDS)
def test_values_of_the_wrong_kind(sandbox, fields, kind, value, message):
    """REST cannot read the request at all (JSON_PARSER_ERROR, nothing written); Bulk, whose values
    are all text, fails the one row (INVALID_TYPE_ON_FIELD_IN_RECORD)."""
    session = authed(sandbox)
    response = session.post(
        api(sandbox, "/composite/sobjects"),
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Innocent"},
                {"attributes": {"type": "Contact"}, "LastName": "Wrong", fields[kind]: value},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert response.json()[0]["message"].startswith(message)
    if isinstance(value, str):
        info = ingest(session, sandbox, f"LastName,{fields[kind]}\nBulk,{value}\n")
        (_, row) = results(session, sandbox, info["id"], "failedResults")
        assert row[1].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")


def test_custom_fields_of_every_type_on_a_custom_object(sandbox, sf):
    from tests.integration.test_custom_objects import CRUD, create_object, grant_object

    name = "Typed_Thing__c"
    create_object(sf, name)
    grant_object(sf, name, **CRUD)
    made = {kind: create_custom_field(sf, name, metadata) for kind, metadata in TYPES.items()}
    record = {
        made["number"]: 1.5,
        made["tier"]: "Gold",
        made["tags"]: "Gold;Silver",
        made["date"]: "2026-01-01",
    }
    created = getattr(sf, name).create({"Name": "typed", **record})
    row = sf.query(f"SELECT {', '.join(record)} FROM {name} WHERE Id = '{created['id']}'")["records"][0]
    assert [row[key] for key in record] == [1.5, "Gold", "Gold;Silver", "2026-01-01"]
    types = {f["name"]: f["type"] for f in getattr(sf, name).describe()["fields"]}
    assert [types[made[k]] for k in ("number", "tier", "tags", "checkbox")] == [
        "double",
        "picklist",
        "multipicklist",
        "boolean",
    ]


def test_required_custom_fields(sandbox, sf):
    """On an object of its own: a required field would hold up every other test's records."""
    from tests.integration.test_custom_objects import CRUD, create_object, grant_object

    sobject = "Required_Thing__c"
    create_object(sf, sobject)
    grant_object(sf, sobject, **CRUD)
    name = create_custom_field(sf, sobject, {"type": "Text", "length": 5, "required": True}, grant=None)
    described = next(f for f in getattr(sf, sobject).describe()["fields"] if f["name"] == name)
    assert (described["nillable"], described["createable"]) == (False, True)  # required fields need no grant
    answered = (
        authed(sandbox)
        .post(
            api(sandbox, "/composite/sobjects"),
            json={
                "records": [
                    {"attributes": {"type": sobject}, "Name": "n"},
                    {"attributes": {"type": sobject}, name: "ok"},
                ]
            },
        )
        .json()
    )
    assert first_error(answered[0])[:2] == (
        "REQUIRED_FIELD_MISSING",
        f"Required fields are missing: [{name}]",
    )
    assert answered[1]["success"] is True


@pytest.mark.parametrize(
    ("sobject", "field", "values_start", "default"),
    [
        (
            "Lead",
            "Status",
            ["Open - Not Contacted", "Working - Contacted", "Closed - Converted"],
            "Open - Not Contacted",
        ),
        ("Lead", "LeadSource", ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"], None),
        ("Account", "Industry", ["Agriculture", "Apparel", "Banking", "Biotechnology"], None),
        ("Account", "Type", ["Prospect", "Customer - Direct", "Customer - Channel"], None),
    ],
)
def test_standard_picklists_as_the_org_ships_them(sf, sobject, field, values_start, default):
    described = next(f for f in getattr(sf, sobject).describe()["fields"] if f["name"] == field)
    listed = [v["value"] for v in described["picklistValues"]]
    assert listed[: len(values_start)] == values_start
    assert [v["value"] for v in described["picklistValues"] if v["defaultValue"]] == (
        [default] if default else []
    )
    assert described["restrictedPicklist"] is False
