"""Bulk API 2.0 ingest jobs on their own: the state machine, processing, results, limits, failures."""

from __future__ import annotations

import csv
import io

import pytest

from sfcrm_sandbox.models.bulk_csv import CsvFormat
from sfcrm_sandbox.models.bulk_ingest import IngestJob
from sfcrm_sandbox.models.bulk_jobs import JobRejected
from sfcrm_sandbox.models.bulk_limits import BulkLimits
from sfcrm_sandbox.models.bulk_rows import Target
from tests.unit.models._bulk import bulk_org, live

_CSV = CsvFormat()


@pytest.fixture
def org(tmp_path):
    yield from bulk_org(tmp_path)


def new_job(org, operation="insert", fmt=_CSV):
    stamp = org.stamp("62.0")
    return org.add(IngestJob(stamp, Target("Contact", operation), None, fmt, org.files(stamp.id)))


def run(org, job, text):
    job.upload(text.encode(), 150)
    job.upload_complete(org)
    return org.get(job.id, IngestJob)  # a look settles the as-fast-as-possible model


def rows_of(csv_bytes):
    return list(csv.reader(io.StringIO(csv_bytes.decode())))


def test_a_job_runs_open_to_complete_and_every_row_lands_in_one_result(org):
    job = new_job(org)
    assert job.state == "Open"
    run(org, job, "LastName,Email\nA,a@x.io\nB,bad\n,c@x.io\n")
    assert (job.state, job.processed, job.failed) == ("JobComplete", 3, 2)
    success, failed = rows_of(job.results("successfulResults")), rows_of(job.results("failedResults"))
    assert success[0] == ["sf__Id", "sf__Created", "LastName", "Email"]
    assert success[1][1:] == ["true", "A", "a@x.io"] and success[1][0].startswith("003")
    assert failed[1:] == [
        ["", "INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --", "B", "bad"],
        ["", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "", "c@x.io"],
    ]
    assert rows_of(job.results("unprocessedrecords")) == [["LastName", "Email"]]
    assert [c["LastName"] for c in live(org)] == ["A"]
    assert org.usage.records_written == 1


def test_the_job_state_machine_refuses_what_salesforce_refuses(org):
    job = new_job(org)
    run(org, job, "LastName\nA\n")
    with pytest.raises(JobRejected) as upload:
        job.upload(b"LastName\nB\n", 150)
    with pytest.raises(JobRejected) as abort:
        job.abort()
    assert upload.value.code == abort.value.code == "INVALIDJOBSTATE"
    assert abort.value.message == "Aborting already Completed Job not allowed"


def test_a_second_upload_makes_the_job_impossible_to_close(org):
    job = new_job(org)
    job.upload(b"LastName\nA\n", 150)
    job.upload(b"LastName\nB\n", 150)
    with pytest.raises(JobRejected, match="Found multipe contents for job") as refused:
        job.upload_complete(org)
    assert refused.value.code == "BULK_API_ERROR" and job.state == "Open"
    job.abort()
    assert job.state == "Aborted" and live(org) == []


def test_the_upload_limit_counts_base64_bytes(org):
    job = new_job(org)
    job.upload(b"x" * 750, 0.001)  # 1,000 base64 bytes: within 1,048 bytes
    with pytest.raises(JobRejected, match="exceeds the 0.001 MB limit") as refused:
        new_job(org).upload(b"x" * 800, 0.001)  # 1,068 base64 bytes
    assert refused.value.code == "INVALIDBATCH"


@pytest.mark.parametrize(
    ("operation", "text", "message"),
    [
        ("insert", "LastName,Nope__c\nA,1\n", "InvalidBatch : Field name not found : Nope__c"),
        ("insert", "LastName,Account.Name\nA,x\n", "InvalidBatch : Field name not found : Account.Name"),
        ("insert", "LastName,lastname\nA,B\n", "InvalidBatch : Duplicate field name: lastname"),
        ("delete", "LastName\nA\n", "InvalidBatch : Field name not found : Id"),
        (
            "insert",
            "LastName\r\nA\r\n",
            "LineEnding is invalid on user data. Current LineEnding setting is LF",
        ),
        ("insert", "LastName,Title\nA,x\nB\n", "InvalidBatch : Row 3 has 1 values, the header has 2"),
    ],
)
def test_a_refused_csv_fails_the_job_before_any_row_is_written(org, operation, text, message):
    job = new_job(org, operation)
    run(org, job, text)
    assert job.state == "Failed" and message in job.error_message
    assert job.processed == 0 and live(org) == []
    assert job.results("unprocessedrecords") == text.encode()


def test_data_that_is_not_utf8_fails_the_job(org):
    job = new_job(org)
    job.upload(b"LastName\nM\xfcller\n", 150)
    job.upload_complete(org)
    assert org.get(job.id, IngestJob).error_message.startswith("InvalidBatch : The data is not UTF-8")


def test_a_job_closed_without_data_fails(org):
    job = new_job(org)
    job.upload_complete(org)
    assert org.get(job.id, IngestJob).state == "Failed"


def test_an_abort_mid_job_leaves_the_rest_unprocessed(org):
    job = new_job(org)
    job.upload(("LastName\n" + "".join(f"L{i}\n" for i in range(450))).encode(), 150)
    job.upload_complete(org)
    org.engine.step()  # begins: checks the CSV
    org.engine.step()  # the first chunk of 200
    assert (job.state, job.processed) == ("InProgress", 200)
    job.abort()
    org.engine.step()
    unprocessed = rows_of(job.results("unprocessedrecords"))
    assert job.state == "Aborted" and len(unprocessed) == 1 + 250 and unprocessed[1] == ["L200"]
    assert len(live(org)) == 200


def test_each_10000_records_take_a_batch_of_the_daily_allocation(tmp_path):
    for org in bulk_org(tmp_path, limits=BulkLimits(daily_batches=1)):
        job = new_job(org)
        run(org, job, "LastName\n" + "".join(f"L{i}\n" for i in range(10_001)))
        assert job.state == "Failed" and job.error_message.startswith("ExceededQuota")
        assert job.processed == 10_000 and org.allocations.batches.remaining == 0
        assert rows_of(job.results("unprocessedrecords")) == [["LastName"], ["L10000"]]


def test_the_daily_record_allocation_fails_the_job(tmp_path):
    for org in bulk_org(tmp_path, limits=BulkLimits(daily_records=5)):
        job = new_job(org)
        run(org, job, "LastName\n" + "".join(f"L{i}\n" for i in range(10)))
        assert job.state == "Failed" and "records" in job.error_message
        assert live(org) == [] and len(rows_of(job.results("unprocessedrecords"))) == 11


def test_a_crash_fails_the_job_with_what_happened(org, monkeypatch):
    def broken(target, records):
        raise RuntimeError("disk full")

    monkeypatch.setattr(org.writer, "apply", broken)
    job = new_job(org)
    run(org, job, "LastName\nA\n")
    assert job.state == "Failed" and job.error_message == "UnknownException : RuntimeError: disk full"


def test_delimiters_line_endings_and_results_follow_the_job(org):
    job = new_job(org, fmt=CsvFormat("PIPE", "CRLF"))
    run(org, job, "LastName|Title\r\nO|Boss\r\n")
    assert job.state == "JobComplete"
    text = job.results("successfulResults").decode()
    assert text.startswith('"sf__Id"|"sf__Created"|LastName|Title\r\n') and text.endswith(
        '"true"|"O"|"Boss"\r\n'
    )
