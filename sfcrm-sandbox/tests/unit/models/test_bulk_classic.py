"""Bulk API 1.0 jobs and batches on their own: batches, results, serial order, abort, limits, queries."""

from __future__ import annotations

import json

import pytest

from sfcrm_sandbox.models.bulk_classic import MAX_BATCH_BYTES, ClassicJob
from sfcrm_sandbox.models.bulk_jobs import JobRejected
from sfcrm_sandbox.models.bulk_limits import BulkLimits
from sfcrm_sandbox.models.bulk_rows import Target
from tests.unit.models._bulk import bulk_org, live


@pytest.fixture
def org(tmp_path):
    yield from bulk_org(tmp_path)


def classic_job(org, operation="insert", content_type="JSON", serial=False):
    stamp = org.stamp("59.0")
    target = None if operation in ("query", "queryAll") else Target("Contact", operation)
    return org.add(
        ClassicJob(stamp, operation, "Contact", target, content_type, serial, None, None, org.files(stamp.id))
    )


def settled(org, job):
    return org.get(job.id, ClassicJob)


def test_json_batches_answer_per_record_results_in_request_order(org):
    job = classic_job(org)
    batch = job.add_batch(org, json.dumps([{"LastName": "A"}, {"Email": "x@y.io"}]).encode())
    assert batch.state == "Queued"
    settled(org, job)
    assert (batch.state, batch.processed, batch.failed) == ("Completed", 2, 1)
    ok, bad = json.loads(batch.results())
    assert ok == {"success": True, "created": True, "id": ok["id"], "errors": []} and ok["id"].startswith(
        "003"
    )
    assert bad["success"] is False and bad["id"] is None
    assert bad["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]
    assert json.loads(batch.request()) == [{"LastName": "A"}, {"Email": "x@y.io"}]


def test_csv_batches_answer_csv_results(org):
    job = classic_job(org, content_type="CSV")
    batch = job.add_batch(org, b"LastName,Email\r\nA,a@x.io\nB,bad\n")
    settled(org, job)
    lines = batch.results().decode().splitlines()
    assert lines[0] == '"Id","Success","Created","Error"'
    assert lines[1].endswith('","true","true",""')
    assert lines[2] == '"","false","false","INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --"'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "InvalidBatch : Failed to parse the batch"),
        (b'{"LastName": "A"}', "InvalidBatch : The batch must be a JSON array of records"),
        (json.dumps([{"LastName": "x"}] * 10_001).encode(), "Records in a batch exceed the limit of 10000"),
    ],
)
def test_unreadable_batches_fail_with_a_state_message(org, body, message):
    job = classic_job(org)
    batch = job.add_batch(org, body)
    settled(org, job)
    assert batch.state == "Failed" and message in batch.state_message and live(org) == []


def test_batches_over_10_mb_and_beyond_the_daily_allocation_are_refused(tmp_path):
    for org in bulk_org(tmp_path, limits=BulkLimits(daily_batches=1)):
        job = classic_job(org)
        with pytest.raises(JobRejected) as too_big:
            job.add_batch(org, b" " * (MAX_BATCH_BYTES + 1))
        job.add_batch(org, b"[]")
        with pytest.raises(JobRejected) as spent:
            job.add_batch(org, b"[]")
        assert (too_big.value.code, spent.value.code) == ("InvalidBatch", "ExceededQuota")


def test_closed_and_aborted_jobs_take_no_batches_and_abort_leaves_queued_ones_not_processed(tmp_path):
    for org in bulk_org(tmp_path, job_latency_ms=1000):
        job = classic_job(org)
        queued = job.add_batch(org, b'[{"LastName": "A"}]')
        job.abort()
        assert job.state == "Aborted" and queued.state == "NotProcessed"
        with pytest.raises(JobRejected) as refused:
            job.add_batch(org, b"[]")
        assert refused.value.code == "InvalidJobState"
        with pytest.raises(JobRejected):
            job.close()


def test_a_serial_jobs_batches_run_one_after_another(org):
    job = classic_job(org, serial=True)
    first = job.add_batch(org, json.dumps([{"LastName": f"A{i}"} for i in range(400)]).encode())
    second = job.add_batch(org, b'[{"LastName": "B"}]')
    org.engine.step()  # first begins
    org.engine.step()  # first: one chunk; the second is not ready until the first is done
    assert (first.state, second.state) == ("InProgress", "Queued")
    settled(org, job)
    assert (first.state, second.state) == ("Completed", "Completed")
    assert [c["LastName"] for c in live(org)][-1] == "B"


def test_a_parallel_jobs_batches_run_together(org):
    job = classic_job(org)
    first = job.add_batch(org, json.dumps([{"LastName": f"A{i}"} for i in range(400)]).encode())
    second = job.add_batch(org, b'[{"LastName": "B"}]')
    org.engine.step()
    org.engine.step()
    assert (first.state, second.state) == ("InProgress", "InProgress")


def test_query_batches_list_result_ids_whose_records_carry_attributes(org):
    org.writer.apply(Target("Contact", "insert"), [{"LastName": "A"}])
    job = classic_job(org, "query")
    batch = job.add_batch(org, b"SELECT Id, LastName FROM Contact")
    failing = job.add_batch(org, b"SELECT Nope FROM Contact")
    settled(org, job)
    (result_id,) = batch.result_ids
    assert result_id.startswith("752") and batch.processed == 1
    (record,) = json.loads(batch.query_result(result_id))
    assert record["attributes"]["type"] == "Contact" and record["LastName"] == "A"
    assert batch.query_result("752000000000000AAA") is None
    assert failing.state == "Failed"
    assert failing.state_message.startswith("InvalidBatch : Failed to process query: INVALID_FIELD:")


def test_csv_query_results_are_quoted_csv(org):
    org.writer.apply(Target("Contact", "insert"), [{"LastName": "A"}])
    job = classic_job(org, "query", content_type="CSV")
    batch = job.add_batch(org, b"SELECT LastName, Email FROM Contact")
    settled(org, job)
    assert batch.query_result(batch.result_ids[0]) == b'"LastName","Email"\n"A",""\n'
