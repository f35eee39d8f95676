"""Acceptance (issue 14, destination options): row_filter, Platform Events, duplicate rules — over HTTPS."""

from __future__ import annotations

import json
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from simple_salesforce import format_soql

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.integration._export_org import insert, write_segment

pytestmark = pytest.mark.integration

EVENT = "Notification__e"


def _export(tmp_path, conn_id: str, **arguments) -> dict:
    arguments.setdefault("rejected_rows_path", str(tmp_path / f"rejected-{uuid.uuid4().hex[:6]}.parquet"))
    return SalesforceSegmentExportOperator(task_id="export", sfcrm_conn_id=conn_id, **arguments).execute({})


# -- row_filter ---------------------------------------------------------------------------------------


def test_row_filter_sends_exactly_the_rows_it_selects(sandbox, sfcrm_conn, tmp_path):
    hook = SalesforceCrmHook(sfcrm_conn_id=sfcrm_conn)
    tag = uuid.uuid4().hex[:8]
    n = 1_000
    ids = insert(hook, "Contact", [{"LastName": f"{tag}-old-{i}"} for i in range(n)])
    countries = ["FR", "DE", "US", None, "IT"]
    rows = [
        {
            "sfid": sfid,
            "last": f"{tag}-new-{i}",
            "country": countries[i % 5],
            "score": i % 100,
            "vip": i % 3 == 0,
        }
        for i, sfid in enumerate(ids)
    ]
    rows[10]["sfid"] = "not-an-id"  # selected (country FR, score 10), then rejected client-side
    segment = write_segment(
        tmp_path / "segment.parquet",
        rows,
        pa.schema(
            [
                ("sfid", pa.string()),
                ("last", pa.string()),
                ("country", pa.string()),
                ("score", pa.int64()),
                ("vip", pa.bool_()),
            ]
        ),  # fmt: skip
    )
    expression = "(country IN ('FR', 'DE') AND score >= 10) OR (vip AND country IS NULL)"

    def selected(row) -> bool:
        return (row["country"] in ("FR", "DE") and row["score"] >= 10) or (
            row["vip"] and row["country"] is None
        )

    summary = _export(
        tmp_path,
        sfcrm_conn,
        sobject="Contact",
        segment_path=segment,
        field_mapping={"sfid": "Id", "last": "LastName"},
        row_filter=expression,
        max_rejected_ratio=0.01,
    )

    chosen = {i for i, row in enumerate(rows) if selected(row)}
    assert summary["filtered"] == n - len(chosen) > 0
    assert (summary["written"], summary["rejected"]) == (len(chosen) - 1, 1)
    assert summary["total"] == summary["written"] + summary["rejected"] + summary["filtered"] == n
    assert pq.read_table(summary["rejected_rows_path"]).column("sfcrm_row_number").to_pylist() == [10]
    found = {
        r["Id"]: r["LastName"]
        for r in hook.query_all(format_soql("SELECT Id, LastName FROM Contact WHERE Id IN {}", ids))
    }
    renamed = {i for i, sfid in enumerate(ids) if found[sfid] == f"{tag}-new-{i}"}
    untouched = {i for i, sfid in enumerate(ids) if found[sfid] == f"{tag}-old-{i}"}
    assert renamed == chosen - {10}
    assert untouched == set(range(n)) - renamed


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1=1; DROP TABLE Contact", "unexpected character ';' at position 3"),
        ("__import__('os')", "function calls are not allowed"),
        ("sfid IN (SELECT Id FROM Contact)", "subqueries are not allowed"),
        ("nope = 'x'", "no column 'nope'"),
        ("last = 3", "cannot be compared"),
    ],
)
def test_a_malformed_or_malicious_row_filter_is_refused_before_any_api_call(
    sandbox, sfcrm_conn, tmp_path, expression, message
):
    segment = write_segment(
        tmp_path / "s.parquet",
        [{"sfid": "003000000000001AAA", "last": "x"}],
        pa.schema([("sfid", pa.string()), ("last", pa.string())]),
    )
    calls = sandbox.stats()["api_calls"]
    with pytest.raises(SfCrmConfigError, match=message.replace("(", r"\(")):
        _export(
            tmp_path,
            sfcrm_conn,
            sobject="Contact",
            segment_path=segment,
            field_mapping={"sfid": "Id", "last": "LastName"},
            row_filter=expression,
        )
    assert sandbox.stats()["api_calls"] == calls


# -- Platform Events ----------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_5000_platform_events_are_published_in_input_order(sandbox, sfcrm_conn, tmp_path):
    tag = uuid.uuid4().hex[:8]
    n = 5_000
    too_long = {17, 2_500, 4_999}  # Message__c is Text(255): refused before sending
    rows = [
        {"message": ("x" * 300) if i in too_long else f"{tag}-{i}", "severity": ["low", "high"][i % 2]}
        for i in range(n)
    ]
    segment = write_segment(
        tmp_path / "events.parquet", rows, pa.schema([("message", pa.string()), ("severity", pa.string())])
    )
    writes = sandbox.calls_to("composite/sobjects")

    summary = _export(
        tmp_path,
        sfcrm_conn,
        sobject=EVENT,
        operation="publish",
        segment_path=segment,
        field_mapping={"message": "Message__c", "severity": "Severity__c"},
        max_rejected_ratio=0.01,
    )

    assert summary["operation"] == "publish"
    assert (summary["total"], summary["written"], summary["created"]) == (n, n - 3, n - 3)
    assert summary["rejected_by_code"] == {"STRING_TOO_LONG": 3}
    rejected = pq.read_table(summary["rejected_rows_path"]).to_pylist()
    assert [r["sfcrm_row_number"] for r in rejected] == sorted(too_long)
    assert sandbox.calls_to("composite/sobjects") - writes == -(-(n - 3) // 200)
    published = [e for e in sandbox.events(EVENT) if str(e.get("Message__c", "")).startswith(f"{tag}-")]
    assert [e["Message__c"] for e in published] == [f"{tag}-{i}" for i in range(n) if i not in too_long]
    assert [e["Severity__c"] for e in published] == [
        rows[i]["severity"] for i in range(n) if i not in too_long
    ]
    replay = [int(e["ReplayId"]) for e in published]
    assert replay == sorted(replay)


def test_publish_refuses_what_events_do_not_have(sandbox, sfcrm_conn, tmp_path):
    segment = write_segment(tmp_path / "e.parquet", [{"message": "m"}], pa.schema([("message", pa.string())]))
    common = dict(segment_path=segment, field_mapping={"message": "Message__c"})
    calls = sandbox.stats()["api_calls"]
    with pytest.raises(SfCrmConfigError, match="takes no sync_state"):
        _export(tmp_path, sfcrm_conn, sobject=EVENT, operation="publish", sync_state="x", **common)
    with pytest.raises(SfCrmConfigError, match=r"Notification__e is a Platform Event.*operation=\"publish\""):
        _export(tmp_path, sfcrm_conn, sobject=EVENT, operation="insert", **common)
    with pytest.raises(SfCrmConfigError, match="publishes Platform Events"):
        _export(tmp_path, sfcrm_conn, sobject="Contact", operation="publish", **common)
    assert sandbox.stats()["api_calls"] == calls


# -- duplicate rules ----------------------------------------------------------------------------------


@pytest.fixture
def duplicate_org(sandbox_factory, monkeypatch):
    running = sandbox_factory(duplicate_rule=["Contact:Email"])
    monkeypatch.setenv("AIRFLOW_CONN_SFCRM_DUPLICATES", json.dumps(running.connection_dict()))
    return running, SalesforceCrmHook(sfcrm_conn_id="sfcrm_duplicates")


def test_duplicates_are_rejected_by_the_rule_and_written_with_allow_save(duplicate_org, tmp_path):
    running, hook = duplicate_org
    insert(hook, "Contact", [{"LastName": f"Known{i}", "Email": f"p{i}@example.com"} for i in range(10)])
    rows = [
        {"last": f"New{i}", "email": f"P{i}@Example.com" if i < 6 else f"new{i}@example.com"}
        for i in range(12)
    ]
    segment = write_segment(
        tmp_path / "people.parquet", rows, pa.schema([("last", pa.string()), ("email", pa.string())])
    )
    common = dict(
        sobject="Contact",
        operation="insert",
        segment_path=segment,
        field_mapping={"last": "LastName", "email": "Email"},
        max_rejected_ratio=1.0,
    )

    refused = _export(tmp_path, "sfcrm_duplicates", **common)
    assert (refused["written"], refused["rejected_by_code"]) == (6, {"DUPLICATES_DETECTED": 6})
    rejected = pq.read_table(refused["rejected_rows_path"]).to_pylist()
    assert [r["sfcrm_row_number"] for r in rejected] == list(range(6))
    assert {r["sfcrm_source"] for r in rejected} == {"salesforce"}

    replay = _export(
        tmp_path,
        "sfcrm_duplicates",
        **{**common, "segment_path": refused["rejected_rows_path"]},
        duplicate_rule_header={"allow_save": True},
    )
    assert (replay["written"], replay["rejected"]) == (6, 0)
    emails = sorted(r["Email"].lower() for r in hook.query_all("SELECT Email FROM Contact"))
    known = [f"p{i}@example.com" for i in range(10)]
    assert emails == sorted([*known, *known[:6], *(f"new{i}@example.com" for i in range(6, 12))])


def test_allow_save_false_sends_the_header_and_the_rule_still_applies(duplicate_org, tmp_path):
    running, hook = duplicate_org
    insert(hook, "Contact", [{"LastName": "Known", "Email": "dup@example.com"}])
    segment = write_segment(
        tmp_path / "one.parquet",
        [{"last": "Again", "email": "dup@example.com"}],
        pa.schema([("last", pa.string()), ("email", pa.string())]),
    )
    summary = _export(
        tmp_path,
        "sfcrm_duplicates",
        sobject="Contact",
        operation="insert",
        segment_path=segment,
        field_mapping={"last": "LastName", "email": "Email"},
        max_rejected_ratio=1.0,
        duplicate_rule_header={"allow_save": False, "include_record_details": True},
    )
    assert summary["rejected_by_code"] == {"DUPLICATES_DETECTED": 1}


@pytest.mark.timeout(300)
def test_row_filter_with_a_sync_state_leaves_filtered_people_as_they_were(
    tmp_path, monkeypatch, sync_state_db
):
    from tests.conftest import SYNC_STATE_CONN_ID
    from tests.integration._export_org import CONN_ID, start_export_org

    n = 600
    schema = pa.schema(
        [("ext", pa.string()), ("last", pa.string()), ("region", pa.string()), ("aud", pa.bool_())]
    )
    day1 = [
        {"ext": f"EXT-{i}", "last": f"P{i}", "region": ["EU", "US"][i % 2], "aud": True} for i in range(n)
    ]
    # Day 2: everyone leaves the audience; the last 50 vanish from the segment; only EU is synced.
    day2 = [dict(row, aud=False) for row in day1[: n - 50]]
    common = dict(
        sobject="Contact",
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName"},
        audiences={"aud": "crm_1_seg"},
        sync_state=SYNC_STATE_CONN_ID,
        stale_rows_path=str(tmp_path / "stale.parquet"),
    )
    for org in start_export_org(tmp_path / "org", monkeypatch):
        first = _export(
            tmp_path,
            CONN_ID,
            segment_path=write_segment(tmp_path / "day1.parquet", day1, schema),
            as_of="2026-01-02T00:00:00+00:00",
            **common,
        )
        second = _export(
            tmp_path,
            CONN_ID,
            segment_path=write_segment(tmp_path / "day2.parquet", day2, schema),
            as_of="2026-01-03T00:00:00+00:00",
            row_filter="region = 'EU'",
            **common,
        )
        statuses = {
            r["Ext_Id__c"]: r["crm_1_seg__c"]
            for r in org.hook.query_all("SELECT Ext_Id__c, crm_1_seg__c FROM Contact")
        }

    assert first["written"] == n
    us = (n - 50) // 2
    assert (second["filtered"], second["vanished"]) == (us, 50)
    assert second["written"] == (n - 50) - us + 50  # EU rows exited, vanished people exited
    assert (
        second["total"] == second["written"] + second["rejected"] + second["filtered"] + second["unchanged"]
    )
    for i in range(n):
        expected = "exited" if i >= n - 50 or i % 2 == 0 else "realized"
        assert statuses[f"EXT-{i}"] == expected, i
