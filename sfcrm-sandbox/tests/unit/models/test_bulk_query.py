"""Bulk queries: checking the SOQL, running the job, its CSV and pages, Bulk 1.0's JSON values."""

from __future__ import annotations

import csv
import io

import pytest

from sfcrm_sandbox.models.bulk_csv import CsvFormat
from sfcrm_sandbox.models.bulk_jobs import JobRejected
from sfcrm_sandbox.models.bulk_query import QueryJob, bulk_query, json_records, run_rows
from sfcrm_sandbox.models.bulk_rows import Target
from sfcrm_sandbox.models.soql import SoqlError
from tests.unit.models._bulk import bulk_org

_CSV = CsvFormat()


@pytest.fixture
def org(tmp_path):
    yield from bulk_org(tmp_path)


def contacts(org, *records):
    return [o.record_id for o in org.writer.apply(Target("Contact", "insert"), list(records))]


def query_job(org, soql, operation="query", fmt=_CSV):
    stamp = org.stamp("62.0")
    job = org.add(QueryJob(stamp, operation, bulk_query(org.store, soql), fmt, org.files(stamp.id)))
    job.queue(org)
    return org.get(job.id, QueryJob)


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT COUNT() FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
    ],
)
def test_bulk_queries_are_checked_whole_with_rest_codes(org, soql, code):
    with pytest.raises(SoqlError) as refused:
        bulk_query(org.store, soql)
    assert refused.value.error_code == code


def test_a_query_job_writes_quoted_csv_and_pages_it(org):
    contacts(org, {"LastName": "A", "DoNotCall": "true"}, {"LastName": "B, Jr."}, {"LastName": "C"})
    job = query_job(org, "SELECT LastName, Email, DoNotCall, CreatedDate FROM Contact ORDER BY LastName")
    assert (job.state, job.processed) == ("JobComplete", 3)
    first, next_start, count = job.page(0, 2)
    rows = list(csv.reader(io.StringIO(first.decode())))
    assert rows[0] == ["LastName", "Email", "DoNotCall", "CreatedDate"]
    assert rows[1][:3] == ["A", "", "true"] and rows[2][:3] == ["B, Jr.", "", "false"]
    assert rows[1][3].endswith(".000Z") and len(rows[1][3]) == 24
    assert first.startswith(b'"LastName","Email"') and (next_start, count) == (2, 2)
    last, after, count = job.page(next_start, 2)
    assert list(csv.reader(io.StringIO(last.decode())))[1][0] == "C" and (after, count) == (None, 1)
    whole, after, count = job.page(0, None)
    assert (after, count) == (None, 3)
    with pytest.raises(JobRejected):
        job.page(9, None)


def test_query_all_includes_deleted_records(org):
    (gone,) = contacts(org, {"LastName": "Gone"})
    org.writer.apply(Target("Contact", "delete"), [{"Id": gone}])
    assert query_job(org, "SELECT Id FROM Contact").processed == 0
    assert query_job(org, "SELECT Id FROM Contact", "queryAll").processed == 1


def test_results_wait_for_the_job_and_an_abort_ends_it(tmp_path):
    for org in bulk_org(tmp_path, job_latency_ms=1000):
        job = query_job(org, "SELECT Id FROM Contact")
        assert job.state == "UploadComplete"
        with pytest.raises(JobRejected, match="not available"):
            job.page(0, None)
        job.abort()
        assert job.state == "Aborted"
        with pytest.raises(JobRejected, match="Aborting already Aborted Job not allowed"):
            job.abort()


def test_bulk_1_json_writes_dates_as_epoch_milliseconds(org):
    (made,) = contacts(org, {"LastName": "A", "Birthdate": "2024-01-02"})
    prepared = bulk_query(org.store, "SELECT Id, Birthdate, CreatedDate FROM Contact")
    (record,) = json_records(prepared, run_rows(org.store, prepared, include_deleted=False), "62.0")
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{made}"}
    assert record["Birthdate"] == 1704153600000
    assert isinstance(record["CreatedDate"], int) and record["CreatedDate"] % 1000 == 0
