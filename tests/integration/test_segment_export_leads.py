"""Acceptance: segments into Leads, upserting on an external-id field (creates the missing people)."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.integration._export_org import (
    CONN_ID,
    STATUS_VALUES,
    bad_positions,
    next_good,
    snapshot,
    start_export_org,
    status_cycle,
    write_segment,
    written_status,
)

pytestmark = pytest.mark.integration

SCHEMA = pa.schema(
    [
        ("ext", pa.string()),
        ("last", pa.string()),
        ("company", pa.string()),
        ("email", pa.string()),
        ("aud_1", pa.string()),
        ("aud_2", pa.string()),
    ]
)
KIND_CODES = {
    "missing": "MISSING_IDENTITY",
    "no_last": "REQUIRED_FIELD_MISSING",
    "no_company": "REQUIRED_FIELD_MISSING",
    "too_long": "STRING_TOO_LONG",
    "email": "INVALID_EMAIL_ADDRESS",
    "status": "INVALID_STATUS",
    "duplicate": "DUPLICATE_IN_SEGMENT",
}
FIELDS = ["LastName", "Company", "Email", "crm_1_seg__c", "crm_2_seg__c"]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from start_export_org(tmp_path_factory.mktemp("export-leads"), monkeypatch)


def _seed(org, keys: list[str]) -> None:
    records = [{"Ext_Id__c": key, "LastName": f"Seed-{key}", "Company": "SeedCo"} for key in keys]
    results = org.hook.upsert_records("Lead", records, external_id_field="Ext_Id__c")
    assert all(r.success and r.created for r in results)


def _rows(keys: list[str], bad: dict[int, str]) -> list[dict]:
    rows = []
    for i, key in enumerate(keys):
        row = {
            "ext": key,
            "last": f"Last{i}",
            "company": f"Co{i % 97}",
            "email": None if i % 4 == 0 else f"lead{i}@example.org",
            "aud_1": status_cycle(i, 1),
            "aud_2": status_cycle(i, 4),
        }
        kind = bad.get(i)
        if kind == "missing":
            row["ext"] = None
        elif kind == "no_last":
            row["last"] = None
        elif kind == "no_company":
            row["company"] = " "
        elif kind == "too_long":
            row["company"] = "c" * 256
        elif kind == "email":
            row["email"] = "lead@"
        elif kind == "status":
            row["aud_2"] = "gone"
        elif kind == "duplicate":
            row["ext"] = keys[next_good(i, bad, len(keys))]
        rows.append(row)
    return rows


def _operator(segment, rejected, **overrides) -> SalesforceSegmentExportOperator:
    args = dict(
        task_id="export_leads",
        sobject="Lead",
        segment_path=segment,
        operation="upsert",
        external_id_field="Ext_Id__c",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName", "company": "Company", "email": "Email"},
        audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
        status_values=STATUS_VALUES,
        rejected_rows_path=str(rejected),
        max_rejected_ratio=0.05,
        sfcrm_conn_id=CONN_ID,
    )
    args.update(overrides)
    return SalesforceSegmentExportOperator(**args)


def _expected(row: dict) -> dict:
    return {
        "LastName": row["last"],
        "Company": row["company"],
        "Email": row["email"],
        "crm_1_seg__c": written_status(row["aud_1"]),
        "crm_2_seg__c": written_status(row["aud_2"]),
    }


def _seeded(key: str) -> dict:
    return {
        "LastName": f"Seed-{key}",
        "Company": "SeedCo",
        "Email": None,
        "crm_1_seg__c": None,
        "crm_2_seg__c": None,
    }


@pytest.mark.timeout(600)
def test_50000_rows_upserted_into_leads(org, tmp_path):
    n, existing = 50_000, 20_000
    keys = [f"L{i:06d}" for i in range(n)]
    _seed(org, keys[:existing])
    bad = bad_positions(n, list(KIND_CODES), 1000 // len(KIND_CODES), seed=23, not_after=n - 1000)
    rows = _rows(keys, bad)
    segment = write_segment(tmp_path / "leads.parquet", rows, SCHEMA)
    leads_before = org.sandbox.stats()["records"]["Lead"]
    calls_before, writes_before = org.api_calls(), org.write_calls()

    summary = _operator(segment, tmp_path / "rejected.parquet").execute({})

    calls, writes = org.api_calls() - calls_before, org.write_calls() - writes_before
    good = [i for i in range(n) if i not in bad]
    created = sum(1 for i in good if i >= existing)
    assert summary["total"] == n == summary["written"] + summary["rejected"]
    assert (summary["written"], summary["rejected"]) == (len(good), len(bad))
    assert (summary["created"], summary["updated"]) == (created, len(good) - created)
    assert org.sandbox.stats()["records"]["Lead"] == leads_before + created
    assert writes == math.ceil(len(good) / 200)
    assert calls <= math.ceil(len(good) / 200) + 5

    rejected = pq.read_table(summary["rejected_rows_path"]).to_pylist()
    assert {r["sfcrm_row_number"]: r["sfcrm_error_code"] for r in rejected} == {
        i: KIND_CODES[kind] for i, kind in bad.items()
    }
    no_company = next(r for r in rejected if bad[r["sfcrm_row_number"]] == "no_company")
    assert no_company["sfcrm_error_fields"] == [["Company"]] and no_company["sfcrm_source"] == "client"

    state = snapshot(org.hook, "Lead", key="Ext_Id__c")
    mismatches = []
    for i, key in enumerate(keys):
        if i in bad:
            expected = _seeded(key) if i < existing else None
        else:
            expected = _expected(rows[i])
        actual = {f: state[key][f] for f in FIELDS} if key in state else None
        if actual != expected:
            mismatches.append((i, bad.get(i), actual, expected))
    assert not mismatches, mismatches[:3]


def test_running_the_same_task_twice_changes_nothing_the_second_time(org, tmp_path):
    keys = [f"R{i:05d}" for i in range(2_000)]
    bad = bad_positions(len(keys), ["missing", "no_last", "duplicate"], 10, seed=3, not_after=1_900)
    segment = write_segment(tmp_path / "rerun.parquet", _rows(keys, bad), SCHEMA)

    first = _operator(segment, tmp_path / "first.parquet").execute({})
    state_after_first = snapshot(org.hook, "Lead", key="Ext_Id__c")
    leads_after_first = org.sandbox.stats()["records"]["Lead"]
    second = _operator(segment, tmp_path / "second.parquet").execute({})

    assert first["created"] == first["written"] == 2_000 - 30
    assert second["created"] == 0 and second["updated"] == second["written"] == first["written"]
    assert second["rejected_by_code"] == first["rejected_by_code"]
    assert org.sandbox.stats()["records"]["Lead"] == leads_after_first
    assert snapshot(org.hook, "Lead", key="Ext_Id__c") == state_after_first
