"""Acceptance: any object — Accounts upserted by external id, their Contacts linked through
``Account.Ext_Id__c``, and a custom object with fields of every type — against a sandbox over HTTPS."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sfcrm_sandbox.process import start_sandbox

from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators.object_write import SalesforceObjectWriteOperator
from tests.conftest import set_connection_env
from tests.integration._export_org import write_segment

pytestmark = pytest.mark.integration

CONN_ID = "sfcrm_objects"
THING = "Thing__c"
EXT_ID = {"type": "Text", "label": "Ext Id", "length": 20, "externalId": True, "unique": True}


def _picklist(kind: str, values: dict[str, bool], **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "valueSet": {
            "restricted": True,
            "valueSetDefinition": {"value": [{"fullName": v, "isActive": on} for v, on in values.items()]},
        },
        **more,
    }


# Every type a custom field can have, as created through the Tooling API.
THING_FIELDS = {
    "Code__c": {**EXT_ID, "label": "Code"},
    "Amount__c": {"type": "Currency", "label": "Amount", "precision": 8, "scale": 2},
    "Share__c": {"type": "Percent", "label": "Share", "precision": 5, "scale": 2},
    "Count__c": {"type": "Number", "label": "Count", "precision": 6, "scale": 0},
    "Since__c": {"type": "Date", "label": "Since"},
    "Seen__c": {"type": "DateTime", "label": "Seen"},
    "Active__c": {"type": "Checkbox", "label": "Active"},
    "Tier__c": _picklist("Picklist", {"Gold": True, "Silver": True, "Bronze": False}, label="Tier"),
    "Topics__c": _picklist(
        "MultiselectPicklist", {"News": True, "Sports": True, "Old": False}, label="Topics", visibleLines=4
    ),
    "Email__c": {"type": "Email", "label": "Email"},
    "Phone__c": {"type": "Phone", "label": "Phone"},
    "Site__c": {"type": "Url", "label": "Site"},
    "Note__c": {"type": "Text", "label": "Note", "length": 20},
}
THING_MAPPING = {
    "code": "Code__c",
    "amount": "Amount__c",
    "share": "Share__c",
    "count": "Count__c",
    "since": "Since__c",
    "seen": "Seen__c",
    "active": "Active__c",
    "tier": "Tier__c",
    "topics": "Topics__c",
    "email": "Email__c",
    "phone": "Phone__c",
    "site": "Site__c",
    "note": "Note__c",
}
# Text as warehouses often hand it over, except where a typed column is the natural one.
THING_SCHEMA = pa.schema(
    [(column, pa.string()) for column in THING_MAPPING if column not in ("share", "count")]
    + [("share", pa.float64()), ("count", pa.int64())]
)
# One bad value each: (column, value, the code Salesforce answers, whether Salesforce tells it per
# record — a value of the wrong kind makes a REST request unreadable as a whole instead).
BAD_VALUES = [
    ("amount", "1000000", "NUMBER_OUTSIDE_VALID_RANGE", True),
    ("amount", "999999.995", "NUMBER_OUTSIDE_VALID_RANGE", True),  # rounds up to 1,000,000.00
    ("amount", "12,50", "INVALID_TYPE_ON_FIELD_IN_RECORD", False),
    ("share", 1000.0, "NUMBER_OUTSIDE_VALID_RANGE", True),
    ("count", 1_000_000, "NUMBER_OUTSIDE_VALID_RANGE", True),
    ("since", "2024-02-30", "INVALID_TYPE_ON_FIELD_IN_RECORD", False),
    ("seen", "2024-01-31 10:00:00", "INVALID_TYPE_ON_FIELD_IN_RECORD", False),
    ("seen", "2024-01-31T25:00:00Z", "INVALID_TYPE_ON_FIELD_IN_RECORD", False),
    ("active", "yes", "INVALID_TYPE_ON_FIELD_IN_RECORD", False),
    ("tier", "Bronze", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", True),  # inactive
    ("tier", "gold", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", True),
    ("topics", "News;Old", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", True),
    ("topics", ";".join(["News"] * 50 + [f"v{i}" for i in range(101)]), "TOO_MANY_ENUM_VALUE", True),
    ("email", "ann@", "INVALID_EMAIL_ADDRESS", True),
    ("phone", "9" * 41, "STRING_TOO_LONG", True),
    ("site", "https://example.com/" + "x" * 240, "STRING_TOO_LONG", True),
    ("note", "x" * 21, "STRING_TOO_LONG", True),
]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A sandbox of its own (its API calls are these tests' alone), with Ext_Id__c on Account and
    Contact, and a custom object Thing__c with a field of every type, all granted to the user."""
    with start_sandbox(tmp_path_factory.mktemp("objects")) as running, pytest.MonkeyPatch.context() as mp:
        set_connection_env(mp, CONN_ID, running)
        hook = SalesforceCrmHook(sfcrm_conn_id=CONN_ID)
        permission_set = hook.get_user_permission_set_id()
        sf = hook.get_conn()
        sf.toolingexecute(
            "sobjects/CustomObject",
            method="POST",
            data={
                "FullName": THING,
                "Metadata": {
                    "label": "Thing",
                    "pluralLabel": "Things",
                    "nameField": {"label": "Thing Name", "type": "Text"},
                    "sharingModel": "ReadWrite",
                    "deploymentStatus": "Deployed",
                },
            },
        )
        sf.ObjectPermissions.create(
            {
                "ParentId": permission_set,
                "SobjectType": THING,
                "PermissionsRead": True,
                "PermissionsCreate": True,
                "PermissionsEdit": True,
            }
        )
        fields = [(THING, name, metadata) for name, metadata in THING_FIELDS.items()]
        fields += [("Account", "Ext_Id__c", EXT_ID), ("Contact", "Ext_Id__c", EXT_ID)]
        for sobject, name, metadata in fields:
            hook.create_custom_field(sobject, name, metadata)
            hook.grant_field_access(sobject, name, permission_set)
        running.hook = SalesforceCrmHook(sfcrm_conn_id=CONN_ID)
        yield running


def _good_thing(i: int) -> dict[str, Any]:
    return {
        "code": f"T-{i:05d}",
        "amount": f"{i * 10.125:.3f}",  # three decimals: rounded half up to two
        "share": round(i % 1000 * 0.5, 2),
        "count": i,
        "since": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        "seen": f"2024-03-10T{i % 24:02d}:15:00+05:30",
        "active": ["true", "FALSE", " True "][i % 3],
        "tier": ["Gold", "Silver", " Gold "][i % 3],
        "topics": ["News", "Sports;News", " News ; News ;", None][i % 4],
        "email": f"thing{i}@example.com",
        "phone": f"+1 555 {i:04d}",
        "site": f"https://example.com/things/{i}",
        "note": f"note {i}",
    }


def _bad_things() -> list[dict[str, Any]]:
    return [{**_good_thing(90_000 + k), column: value} for k, (column, value, _, _) in enumerate(BAD_VALUES)]


def _export(segment: str, rejected: str, sobject: str, mapping: dict[str, str], **options: Any) -> dict:
    operator = SalesforceObjectWriteOperator(
        task_id=f"write_{sobject.lower()}",
        sfcrm_conn_id=CONN_ID,
        sobject=sobject,
        segment_path=segment,
        field_mapping=mapping,
        rejected_rows_path=rejected,
        max_rejected_ratio=1.0,
        **options,
    )
    return operator.execute(context={})


def _upsert_things(org, tmp_path, rows: list[dict[str, Any]], name: str) -> tuple[dict, list[dict], dict]:
    segment = write_segment(tmp_path / f"{name}.parquet", rows, THING_SCHEMA)
    before = org.stats()
    summary = _export(
        segment,
        str(tmp_path / f"{name}_rejected.parquet"),
        THING,
        THING_MAPPING,
        operation="upsert",
        external_id_field="Code__c",
    )
    after = org.stats()
    calls = {
        "api_calls": after["api_calls"] - before["api_calls"],
        "writes": sum(
            n - before["api_calls_by_route"].get(route, 0)
            for route, n in after["api_calls_by_route"].items()
            if "composite" in route
        ),
    }
    return summary, pq.read_table(tmp_path / f"{name}_rejected.parquet").to_pylist(), calls


def test_good_rows_of_every_type_land_typed_and_bad_values_are_refused_with_salesforces_codes(org, tmp_path):
    good = [_good_thing(i) for i in range(250)]
    bad = _bad_things()
    rows = good[:100] + bad + good[100:]  # the bad ones in the middle

    summary, rejected, calls = _upsert_things(org, tmp_path, rows, "mixed")

    assert (summary["total"], summary["written"], summary["created"]) == (len(rows), len(good), len(good))
    assert summary["rejected"] == len(bad)
    expected_codes: dict[str, int] = {}
    for _, _, code, _ in BAD_VALUES:
        expected_codes[code] = expected_codes.get(code, 0) + 1
    assert summary["rejected_by_code"] == expected_codes
    assert [(r["sfcrm_row_number"], r["sfcrm_error_code"], r["sfcrm_source"]) for r in rejected] == [
        (100 + k, code, "client") for k, (_, _, code, _) in enumerate(BAD_VALUES)
    ]
    assert [r["sfcrm_error_fields"] for r in rejected] == [
        [[THING_MAPPING[column]]] for column, _, _, _ in BAD_VALUES
    ]
    # The good rows alone were sent: two requests of at most 200.
    assert calls["writes"] == math.ceil(len(good) / 200)

    stored = {
        r["Code__c"]: r
        for r in org.hook.query_all(
            "SELECT Code__c, Amount__c, Share__c, Count__c, Since__c, Seen__c, Active__c, Tier__c, "
            "Topics__c, Email__c, Phone__c, Site__c, Note__c FROM Thing__c"
        )
    }
    assert len(stored) == len(good)
    for i, row in enumerate(good):
        record = stored[row["code"]]
        seen = dt.datetime(2024, 3, 10, i % 24, 15, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
        assert {k: v for k, v in record.items() if k != "attributes"} == {
            "Code__c": row["code"],
            # Three decimals, rounded half up to the field's two.
            "Amount__c": float(Decimal(row["amount"]).quantize(Decimal("0.01"), ROUND_HALF_UP)),
            "Share__c": row["share"],
            "Count__c": float(i),
            "Since__c": row["since"],
            "Seen__c": seen.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "Active__c": i % 3 != 1,
            "Tier__c": ["Gold", "Silver", "Gold"][i % 3],
            "Topics__c": ["News", "Sports;News", "News", None][i % 4],
            "Email__c": row["email"],
            "Phone__c": row["phone"],
            "Site__c": row["site"],
            "Note__c": row["note"],
        }, row["code"]


def test_bad_values_spend_no_api_call(org, tmp_path):
    things_before = org.stats()["records"].get(THING, 0)

    summary, rejected, calls = _upsert_things(org, tmp_path, _bad_things(), "all_bad")

    assert (summary["written"], summary["rejected"]) == (0, len(BAD_VALUES))
    assert {r["sfcrm_source"] for r in rejected} == {"client"}
    assert calls["writes"] == 0
    # The describe of Thing__c is the only call (the export's own hook counts it too).
    assert calls["api_calls"] == summary["api_calls"] == 1
    assert org.stats()["records"].get(THING, 0) == things_before


def test_salesforce_answers_the_same_codes_when_the_values_are_sent(org):
    """The client-side verdicts are Salesforce's: the same values, sent straight to the org one by one
    (the per-record rules; a value of the wrong kind fails a REST request as a whole)."""
    sent = [(column, value, code) for (column, value, code, per_record) in BAD_VALUES if per_record]
    records = []
    for k, (column, value, _) in enumerate(sent):
        record = {"Code__c": f"SENT-{k}", THING_MAPPING[column]: value}
        records.append(record)
    results = org.hook.upsert_records(
        THING, records, external_id_field="Code__c", batch_size=1, max_workers=1
    )
    assert [r.errors[0].status_code if r.errors else None for r in results] == [code for _, _, code in sent]


def test_accounts_by_external_id_then_contacts_linked_through_it(org, tmp_path):
    accounts = [{"key": f"A-{i}", "name": f"Account {i}", "employees": str(10 * i)} for i in range(5)]
    accounts_segment = write_segment(
        tmp_path / "accounts.parquet",
        accounts,
        pa.schema([("key", pa.string()), ("name", pa.string()), ("employees", pa.string())]),
    )
    mapping = {"key": "Ext_Id__c", "name": "Name", "employees": "NumberOfEmployees"}
    summary = _export(
        accounts_segment,
        str(tmp_path / "accounts_rejected.parquet"),
        "Account",
        mapping,
        operation="upsert",
        external_id_field="Ext_Id__c",
    )
    assert (summary["created"], summary["rejected"]) == (5, 0)

    people = [
        {"key": f"C-{i}", "account": f"A-{i % 5}", "last": f"Person {i}", "city": "Boston", "zip": "02134"}
        for i in range(12)
    ]
    people.append({"key": "C-unknown", "account": "A-404", "last": "Orphan", "city": None, "zip": None})
    people.append({"key": "C-long", "account": "A-" + "9" * 30, "last": "Too", "city": None, "zip": None})
    contacts_segment = write_segment(
        tmp_path / "contacts.parquet", people, pa.schema([(c, pa.string()) for c in people[0]])
    )
    writes_before = org.calls_to("composite")
    summary = _export(
        contacts_segment,
        str(tmp_path / "contacts_rejected.parquet"),
        "Contact",
        {
            "key": "Ext_Id__c",
            "account": "Account.Ext_Id__c",
            "last": "LastName",
            "city": "MailingCity",
            "zip": "MailingPostalCode",
        },
        operation="upsert",
        external_id_field="Ext_Id__c",
    )

    assert (summary["created"], summary["rejected"]) == (12, 2)
    assert org.calls_to("composite") - writes_before == 1  # one request: the too-long key was not sent
    rejected = {
        r["key"]: (r["sfcrm_error_code"], r["sfcrm_source"], r["sfcrm_error_messages"][0])
        for r in pq.read_table(tmp_path / "contacts_rejected.parquet").to_pylist()
    }
    message = "Foreign key external ID: {} not found for field Ext_Id__c in entity Account"
    assert rejected == {
        "C-unknown": ("INVALID_FIELD", "salesforce", message.format("A-404")),  # only the org knows
        "C-long": ("INVALID_FIELD", "client", message.format("A-" + "9" * 30)),  # longer than the field
    }
    found = org.hook.query_all(
        "SELECT Ext_Id__c, Account.Ext_Id__c, MailingPostalCode FROM Contact WHERE Ext_Id__c LIKE 'C-%'"
    )
    assert {c["Ext_Id__c"]: (c["Account"]["Ext_Id__c"], c["MailingPostalCode"]) for c in found} == {
        p["key"]: (p["account"], "02134") for p in people[:12]
    }


def test_update_by_id_checks_the_objects_own_key_prefix(org, tmp_path):
    """A custom object's Ids start with its describe's keyPrefix: another object's Id is refused."""
    thing = org.hook.query_all("SELECT Id FROM Thing__c LIMIT 1")[0]["Id"]
    contact = org.hook.query_all("SELECT Id FROM Contact LIMIT 1")[0]["Id"]
    segment = write_segment(
        tmp_path / "by_id.parquet",
        [{"sfid": thing, "note": "renamed"}, {"sfid": contact, "note": "wrong object"}],
        pa.schema([("sfid", pa.string()), ("note", pa.string())]),
    )
    summary = _export(
        segment, str(tmp_path / "by_id_rejected.parquet"), THING, {"sfid": "Id", "note": "Note__c"}
    )
    assert (summary["written"], summary["rejected_by_code"]) == (1, {"MALFORMED_ID": 1})
    assert org.hook.query_all(f"SELECT Note__c FROM Thing__c WHERE Id = '{thing}'")[0]["Note__c"] == "renamed"
