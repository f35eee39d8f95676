"""Acceptance: segments into Contacts (update by Id) against a sandbox over HTTPS."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.exceptions import SfCrmFieldValidationError
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from tests.integration._export_org import (
    CONN_ID,
    STATUS_VALUES,
    bad_positions,
    delete,
    insert,
    lead_prefixed,
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
        ("sfid", pa.string()),
        ("first", pa.string()),
        ("last", pa.string()),
        ("email", pa.string()),
        ("aud_1", pa.string()),
        ("aud_2", pa.string()),
        ("score", pa.int64()),
    ]
)
# Client-side kinds, then the one only Salesforce can know (an Id of a deleted record).
KIND_CODES = {
    "missing": "MISSING_IDENTITY",
    "checksum": "MALFORMED_ID",
    "prefix": "MALFORMED_ID",
    "too_long": "STRING_TOO_LONG",
    "email": "INVALID_EMAIL_ADDRESS",
    "status": "INVALID_STATUS",
    "duplicate": "DUPLICATE_IN_SEGMENT",
    "deleted": "ENTITY_IS_DELETED",
}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from start_export_org(tmp_path_factory.mktemp("export-contacts"), monkeypatch)


def _seed(org, n: int, tag: str) -> list[str]:
    return insert(
        org.hook, "Contact", [{"LastName": f"Seed{tag}{i}", "FirstName": f"F{tag}{i}"} for i in range(n)]
    )


def _segment_rows(ids: list[str], bad: dict[int, str]) -> list[dict]:
    rows = []
    for i, sfid in enumerate(ids):
        row = {
            "sfid": sfid,
            "first": None if i % 7 == 0 else f"First{i}",
            "last": f"Last{i}",
            "email": None if i % 5 == 0 else f"p{i}@example.com",
            "aud_1": status_cycle(i, 0),
            "aud_2": status_cycle(i, 3),
            "score": i,
        }
        kind = bad.get(i)
        if kind == "missing":
            row["sfid"] = None
        elif kind == "checksum":
            row["sfid"] = sfid[:15] + ("AAA" if sfid[15:] != "AAA" else "BBB")
        elif kind == "prefix":
            row["sfid"] = lead_prefixed(sfid)
        elif kind == "too_long":
            row["last"] = "x" * 81
        elif kind == "email":
            row["email"] = f"person{i}-at-example.com"
        elif kind == "status":
            row["aud_1"] = "qualified"
        elif kind == "duplicate":
            row["sfid"] = ids[next_good(i, bad, len(ids))]
        rows.append(row)
    return rows


def _expected(i: int, row: dict, tag: str) -> dict:
    return {
        "FirstName": row["first"] or f"F{tag}{i}",
        "LastName": row["last"],
        "Email": row["email"],
        "crm_1_seg__c": written_status(row["aud_1"]),
        "crm_2_seg__c": written_status(row["aud_2"]),
    }


def _untouched(i: int, tag: str) -> dict:
    return {
        "FirstName": f"F{tag}{i}",
        "LastName": f"Seed{tag}{i}",
        "Email": None,
        "crm_1_seg__c": None,
        "crm_2_seg__c": None,
    }


def expected_codes(per_kind: int) -> dict[str, int]:
    """``rejected_by_code`` of a segment with ``per_kind`` rows of each of :data:`KIND_CODES`."""
    return {code: kinds * per_kind for code, kinds in Counter(KIND_CODES.values()).items()}


def check_rejected_file(path: str, rows: list[dict], bad: dict[int, str]) -> None:
    """Every bad row is in the file with its code and its original columns; Salesforce's are marked so."""
    rejected = pq.read_table(path).to_pylist()
    assert {r["sfcrm_row_number"]: r["sfcrm_error_code"] for r in rejected} == {
        i: KIND_CODES[kind] for i, kind in bad.items()
    }
    for r in rejected:  # the original columns travel with the verdict
        assert r["score"] == r["sfcrm_row_number"] and r["sfid"] == rows[r["score"]]["sfid"]
        assert r["sfcrm_source"] == (
            "salesforce" if r["sfcrm_error_code"] == "ENTITY_IS_DELETED" else "client"
        )


def org_mismatches(org, ids: list[str], rows: list[dict], bad: dict[int, str], tag: str) -> list:
    """The records (by SOQL) that do not hold what their row says (or, for a bad row, what they held)."""
    state = snapshot(org.hook, "Contact")
    fields = ["FirstName", "LastName", "Email", "crm_1_seg__c", "crm_2_seg__c"]
    mismatches = []
    for i, sfid in enumerate(ids):
        kind = bad.get(i)
        if kind == "deleted":
            assert sfid not in state
            continue
        expected = _untouched(i, tag) if kind else _expected(i, rows[i], tag)
        actual = {f: state[sfid][f] for f in fields}
        if actual != expected:
            mismatches.append((i, kind, actual, expected))
    return mismatches


def _operator(segment_path, rejected_path, **overrides) -> SalesforceSegmentExportOperator:
    args = dict(
        task_id="export_contacts",
        sobject="Contact",
        segment_path=segment_path,
        field_mapping={"sfid": "Id", "first": "FirstName", "last": "LastName", "email": "Email"},
        audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
        status_values=STATUS_VALUES,
        rejected_rows_path=str(rejected_path),
        max_rejected_ratio=0.1,
        sfcrm_conn_id=CONN_ID,
    )
    args.update(overrides)
    return SalesforceSegmentExportOperator(**args)


@pytest.mark.timeout(600)
def test_50000_rows_into_contacts(org, tmp_path):
    n, per_kind = 50_000, 125
    ids = _seed(org, n, "")
    bad = bad_positions(n, list(KIND_CODES), per_kind, seed=11, not_after=n - 1000)
    delete(org.hook, [ids[i] for i, kind in bad.items() if kind == "deleted"])
    rows = _segment_rows(ids, bad)
    segment = write_segment(tmp_path / "contacts.parquet", rows, SCHEMA)
    calls_before, writes_before = org.api_calls(), org.write_calls()

    summary = _operator(segment, tmp_path / "rejected.parquet").execute({})

    calls, writes = org.api_calls() - calls_before, org.write_calls() - writes_before
    good = n - len(bad)
    sent = good + per_kind  # the deleted records' rows pass every client check
    assert summary["total"] == n and summary["written"] == good and summary["rejected"] == len(bad)
    assert summary["total"] == summary["written"] + summary["rejected"]
    assert (summary["created"], summary["updated"]) == (0, good)
    assert summary["rejected_by_code"] == expected_codes(per_kind)
    assert writes == math.ceil(sent / 200)
    assert calls <= math.ceil(good / 200) + 5, (calls, summary["api_calls"])
    check_rejected_file(summary["rejected_rows_path"], rows, bad)
    mismatches = org_mismatches(org, ids, rows, bad, "")
    assert not mismatches, mismatches[:3]


def test_dry_run_writes_nothing_and_counts_like_a_real_run(org, tmp_path):
    n = 2_000
    ids = _seed(org, n, "d")
    kinds = ["missing", "checksum", "too_long", "email", "status", "duplicate", "deleted"]
    bad = bad_positions(n, kinds, 20, seed=5, not_after=n - 100)
    delete(org.hook, [ids[i] for i, kind in bad.items() if kind == "deleted"])
    segment = write_segment(tmp_path / "dry.parquet", _segment_rows(ids, bad), SCHEMA)
    before, writes_before = snapshot(org.hook, "Contact"), org.write_calls()

    dry = _operator(segment, tmp_path / "dry-rejected.parquet", dry_run="True").execute({})

    assert org.write_calls() == writes_before
    assert snapshot(org.hook, "Contact") == before
    real = _operator(segment, tmp_path / "real-rejected.parquet").execute({})
    assert org.write_calls() > writes_before

    deleted = real["rejected_by_code"].pop("ENTITY_IS_DELETED")
    assert deleted == 20
    assert dry["dry_run"] is True and real["dry_run"] is False
    assert dry["total"] == real["total"] == n
    assert dry["rejected_by_code"] == real["rejected_by_code"]
    assert dry["written"] == real["written"] + deleted
    assert (dry["created"], dry["updated"]) == (0, dry["written"])
    dry_rows = pq.read_table(dry["rejected_rows_path"]).column("sfcrm_row_number").to_pylist()
    real_rows = pq.read_table(real["rejected_rows_path"]).to_pylist()
    assert dry_rows == [r["sfcrm_row_number"] for r in real_rows if r["sfcrm_source"] == "client"]


def test_a_wrong_mapping_id_fails_before_any_write(org, tmp_path):
    ids = _seed(org, 3, "w")
    segment = write_segment(tmp_path / "w.parquet", _segment_rows(ids, {}), SCHEMA)
    writes_before = org.write_calls()
    with pytest.raises(SfCrmFieldValidationError, match="crm_3_seg"):
        _operator(segment, tmp_path / "w-rejected.parquet", audiences={"aud_1": "crm_3_seg"}).execute({})
    assert org.write_calls() == writes_before


def test_a_sql_segment_from_any_airflow_sql_connection(org, tmp_path, monkeypatch):
    ids = _seed(org, 450, "q")
    db = tmp_path / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table segment (sfid text, last text, aud_1 text, aud_2 text)")
        conn.executemany(
            "insert into segment values (?, ?, ?, ?)",
            [(sfid, f"Sql{i}", status_cycle(i, 0), None) for i, sfid in enumerate(ids)],
        )
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(db)}))

    summary = _operator(
        None,
        tmp_path / "sql-rejected.parquet",
        sql="select * from segment order by last",
        source_conn_id="warehouse",
        field_mapping={"sfid": "Id", "last": "LastName"},
        chunk_rows=100,
    ).execute({})

    assert (summary["total"], summary["written"], summary["rejected"]) == (450, 450, 0)
    state = snapshot(org.hook, "Contact")
    assert [state[sfid]["LastName"] for sfid in ids] == [f"Sql{i}" for i in range(450)]
    assert [state[sfid]["crm_1_seg__c"] for sfid in ids] == [
        written_status(status_cycle(i, 0)) for i in range(450)
    ]


def test_insert_creates_one_contact_per_valid_row(org, tmp_path):
    rows = [
        {"first": f"Ins{i}", "last": None if i == 7 else f"Inserted{i}", "aud_1": "realized"}
        for i in range(250)
    ]
    schema = pa.schema([("first", pa.string()), ("last", pa.string()), ("aud_1", pa.string())])
    segment = write_segment(tmp_path / "insert.parquet", rows, schema)
    contacts_before = org.sandbox.stats()["records"]["Contact"]

    summary = _operator(
        segment,
        tmp_path / "insert-rejected.parquet",
        operation="insert",
        field_mapping={"first": "FirstName", "last": "LastName"},
        audiences={"aud_1": "crm_1_seg"},
    ).execute({})

    assert (summary["written"], summary["created"], summary["updated"]) == (249, 249, 0)
    assert summary["rejected_by_code"] == {"REQUIRED_FIELD_MISSING": 1}
    assert org.sandbox.stats()["records"]["Contact"] == contacts_before + 249
    created = [r for r in snapshot(org.hook, "Contact").values() if (r["FirstName"] or "").startswith("Ins")]
    assert len(created) == 249 and {r["crm_1_seg__c"] for r in created} == {"Realized"}
