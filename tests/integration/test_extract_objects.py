"""Each of the eight CRM objects extracts with its types; ``columns`` and ``where`` are honoured."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from tests.conftest import set_connection_env
from tests.integration._extract_helpers import UTC, extract, org_at, rows

pytestmark = pytest.mark.integration

START = dt.datetime(2024, 6, 1, 9, tzinfo=UTC)
END = START + dt.timedelta(hours=1)
WRITTEN_AT = START + dt.timedelta(minutes=15)
# What each Salesforce type must become (written out here, not taken from the code under test).
ARROW = {
    "id": pa.string(),
    "reference": pa.string(),
    "string": pa.string(),
    "textarea": pa.string(),
    "email": pa.string(),
    "phone": pa.string(),
    "url": pa.string(),
    "picklist": pa.string(),
    "multipicklist": pa.string(),
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}
OBJECTS = [
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
    "Campaign",
    "CampaignMember",
    "AccountContactRelation",
]


def _create(hook, sobject, **fields):
    result = hook.upsert_records(sobject, [fields], external_id_field=None)[0]
    assert result.success, result.errors
    return result.id


@pytest.fixture(scope="module")
def org(sandbox):
    """One record of each object, written at WRITTEN_AT on the sandbox's clock."""
    with org_at(sandbox, WRITTEN_AT, "sfcrm_extract_objects") as (hook, monkeypatch):
        account = _create(
            hook,
            "Account",
            Name="Acme",
            Industry="Banking",
            AnnualRevenue=2500000.75,
            NumberOfEmployees=120,
            BillingCity="Paris",
        )
        contact = _create(
            hook,
            "Contact",
            LastName="Lovelace",
            FirstName="Ada",
            AccountId=account,
            Email="ada@example.com",
            Birthdate="1815-12-10",
            MailingCity="London",
            MailingLatitude=51.5072,
            LeadSource="Web",
            HasOptedOutOfEmail=True,
        )
        _create(
            hook,
            "Contact",
            LastName="Hopper",
            Email="grace@example.com",
            LeadSource="Phone Inquiry",
            # What CSV must quote: a line break, quotes, commas; and text beyond the BMP.
            Description='line one\nline "two", three 🚀',
        )
        lead = _create(
            hook,
            "Lead",
            LastName="Turing",
            Company="Bletchley",
            Email="alan@example.com",
            NumberOfEmployees=12,
        )
        campaign = _create(
            hook, "Campaign", Name="Spring", StartDate="2024-05-01", ExpectedResponse=12.5, IsActive=True
        )
        opportunity = _create(
            hook,
            "Opportunity",
            Name="Deal",
            StageName="Closed Won",
            CloseDate="2024-05-20",
            Amount=1200.5,
            AccountId=account,
            CampaignId=campaign,
        )
        ids = {
            "Account": account,
            "Contact": contact,
            "Lead": lead,
            "Campaign": campaign,
            "Opportunity": opportunity,
            "OpportunityContactRole": _create(
                hook,
                "OpportunityContactRole",
                OpportunityId=opportunity,
                ContactId=contact,
                Role="Decision Maker",
                IsPrimary=True,
            ),
            "CampaignMember": _create(hook, "CampaignMember", CampaignId=campaign, LeadId=lead),
            "AccountContactRelation": _create(
                hook,
                "AccountContactRelation",
                AccountId=account,
                ContactId=contact,
                Roles="Decision Maker;Influencer",
            ),
        }
        sandbox.set_clock(END + dt.timedelta(minutes=30))
        monkeypatch.setenv("AIRFLOW_CONN_SFCRM_DEFAULT", __import__("json").dumps(sandbox.connection_dict()))
        yield {"hook": hook, "ids": ids}


@pytest.fixture
def conn(org, monkeypatch, sandbox):
    set_connection_env(monkeypatch, "sfcrm_default", sandbox)
    return org


@pytest.mark.parametrize("sobject", OBJECTS)
def test_each_object_extracts_with_the_types_of_its_fields(conn, tmp_path, sobject):
    summary = extract(tmp_path, sobject, START, END)
    assert summary["rows"] >= 1 and summary["deleted"] == 0
    table = pq.read_table(summary["files"][0])
    described = {f["name"]: f for f in conn["hook"].describe_object(sobject)["fields"]}
    for column in table.schema:
        kind = described[column.name]["type"]
        if kind == "currency":
            assert pa.types.is_decimal(column.type), column.name
        else:
            assert column.type == ARROW[kind], (column.name, kind)
        assert column.metadata[b"salesforce_type"] == kind.encode()
    # Compound fields are read as their components.
    assert not [name for name in table.column_names if described[name]["type"] in ("address", "location")]
    assert conn["ids"][sobject] in table.column("Id").to_pylist()


@pytest.mark.parametrize(
    ("sobject", "expected"),
    [
        (
            "Opportunity",
            {
                "Amount": decimal.Decimal("1200.50"),
                "CloseDate": dt.date(2024, 5, 20),
                "IsWon": True,
                "Probability": 100.0,
                "FiscalYear": 2024,
            },
        ),
        (
            "Account",
            {"AnnualRevenue": decimal.Decimal("2500001"), "NumberOfEmployees": 120, "BillingCity": "Paris"},
        ),
        ("Campaign", {"StartDate": dt.date(2024, 5, 1), "ExpectedResponse": 12.5, "IsActive": True}),
        ("CampaignMember", {"Type": "Lead", "Status": "Sent"}),
        (
            "AccountContactRelation",
            {"Roles": "Decision Maker;Influencer", "IsActive": True, "IsDirect": False},
        ),
        ("OpportunityContactRole", {"Role": "Decision Maker", "IsPrimary": True}),
        ("Lead", {"Company": "Bletchley", "NumberOfEmployees": 12, "IsConverted": False}),
    ],
)
def test_values_come_back_typed(conn, tmp_path, sobject, expected):
    (row,) = [
        r
        for r in rows(extract(tmp_path, sobject, START, END)["output_path"])
        if r["Id"] == conn["ids"][sobject]
    ]
    assert {key: row[key] for key in expected} == expected
    assert row["SystemModstamp"] == WRITTEN_AT and row["CreatedDate"] == WRITTEN_AT


def test_columns_and_where_are_honoured(conn, tmp_path):
    summary = extract(
        tmp_path,
        "Contact",
        START,
        END,
        columns="Email, MailingAddress, birthdate",
        where="LeadSource = 'Web' AND Account.Industry = 'Banking'",
    )
    table = pq.read_table(summary["output_path"])
    assert table.column_names == [
        "Id",
        "Email",
        "MailingStreet",
        "MailingCity",
        "MailingState",
        "MailingPostalCode",
        "MailingCountry",
        "MailingLatitude",
        "MailingLongitude",
        "MailingGeocodeAccuracy",
        "Birthdate",
        "SystemModstamp",
        "IsDeleted",
    ]
    assert table.to_pylist() == [
        {
            "Id": conn["ids"]["Contact"],
            "Email": "ada@example.com",
            "MailingStreet": None,
            "MailingCity": "London",
            "MailingState": None,
            "MailingPostalCode": None,
            "MailingCountry": None,
            "MailingLatitude": 51.5072,
            "MailingLongitude": None,
            "MailingGeocodeAccuracy": None,
            "Birthdate": dt.date(1815, 12, 10),
            "SystemModstamp": WRITTEN_AT,
            "IsDeleted": False,
        }
    ]
    manifest_soql = json.loads(
        (tmp_path / "Contact" / f"{START:%Y%m%dT%H%M%S}" / "_manifest.json").read_text()
    )["soql"]
    assert manifest_soql.endswith("AND (LeadSource = 'Web' AND Account.Industry = 'Banking') ORDER BY Id")


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"columns": ["Email", "Emial"]}, "Contact has no field(s) Emial"),
        ({"where": "LeadSource = 'Web' LIMIT 1"}, "starts another SOQL clause"),
        ({"where": "Description = 'x'"}, "cannot be filtered"),
        ({"api": "soap"}, "api must be one of auto, rest, bulk"),
    ],
)
def test_bad_settings_fail_before_anything_is_written(conn, tmp_path, options, complaint):
    with pytest.raises(SfCrmConfigError) as refused:
        extract(tmp_path, "Contact", START, END, **options)
    assert complaint in str(refused.value)
    assert not (tmp_path / "Contact").exists() or not any((tmp_path / "Contact").iterdir())


def test_lineage_reads_the_object_the_export_writes_and_writes_the_file_set(
    conn, tmp_path, sandbox, monkeypatch
):
    import sys

    from airflow_provider_sfcrm.operators.extract import SalesforceExtractOperator

    operator = SalesforceExtractOperator(
        task_id="extract", sobject="Lead", columns=["Email", "Company"], output_path=str(tmp_path / "Lead")
    )
    assert operator.get_openlineage_facets_on_complete(None) is None  # nothing ran yet
    operator.execute({"data_interval_start": START, "data_interval_end": END})
    lineage = operator.get_openlineage_facets_on_complete(None)
    [read], [written] = lineage.inputs, lineage.outputs
    host = sandbox.base_url.split("://", 1)[1]
    assert (read.namespace, read.name) == (f"salesforce://{host}", "Lead")
    assert [(f.name, f.type) for f in read.facets["schema"].fields] == [
        ("Id", "id"),
        ("Email", "email"),
        ("Company", "string"),
        ("SystemModstamp", "datetime"),
        ("IsDeleted", "boolean"),
    ]
    assert (written.namespace, written.name) == ("file", str(tmp_path / "Lead"))
    assert written.outputFacets["outputStatistics"].rowCount == 1
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert operator.get_openlineage_facets_on_complete(None) is None


@pytest.mark.parametrize("sobject", OBJECTS)
def test_rest_and_bulk_write_the_same_bytes(conn, tmp_path, sobject):
    rest_deferrals, bulk_deferrals = [], []
    through_rest = extract(tmp_path / "rest", sobject, START, END, api="rest", deferrals=rest_deferrals)
    through_bulk = extract(tmp_path / "bulk", sobject, START, END, api="bulk", deferrals=bulk_deferrals)
    assert (through_rest["api"], through_bulk["api"]) == ("rest", "bulk")
    # REST reads in the worker; Bulk waits for its query job in the triggerer and reads it on resuming.
    assert not rest_deferrals and [d.method_name for d in bulk_deferrals] == ["execute_bulk_query_complete"]
    assert bulk_deferrals[0].trigger.kind == "query"
    for name in ("part-00000.parquet", "_manifest.json"):
        rest_file = tmp_path / "rest" / sobject / f"{START:%Y%m%dT%H%M%S}" / name
        bulk_file = tmp_path / "bulk" / sobject / f"{START:%Y%m%dT%H%M%S}" / name
        assert rest_file.read_bytes() == bulk_file.read_bytes(), name
    if sobject == "Contact":
        described = [r for r in rows(through_bulk["output_path"]) if r["LastName"] == "Hopper"]
        assert described[0]["Description"] == 'line one\nline "two", three 🚀'


def test_auto_counts_first_and_reads_large_intervals_through_bulk(conn, tmp_path, sandbox):
    jobs, deletions = sandbox.calls_to("POST /jobs/query"), sandbox.calls_to("DELETE /jobs/query")
    small = extract(tmp_path / "a", "Contact", START, END, api="auto", bulk_threshold=3)
    assert small["api"] == "rest" and sandbox.calls_to("POST /jobs/query") == jobs  # 2 Contacts < 3
    large = extract(tmp_path / "b", "Contact", START, END, api="auto", bulk_threshold=2)
    assert large["api"] == "bulk" and large["rows"] == 2
    # One job, created, polled, read and deleted: nothing left behind.
    assert sandbox.calls_to("POST /jobs/query") == jobs + 1
    assert sandbox.calls_to("DELETE /jobs/query") == deletions + 1
