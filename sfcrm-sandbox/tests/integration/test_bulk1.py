"""Bulk API 1.0 (``/services/async``) over HTTPS with raw ``requests``: sessions, jobs, batches, results."""

from __future__ import annotations

import json

import pytest

from tests.integration._bulk import async_session, async_url
from tests.integration._clients import http, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def session(sandbox):
    return async_session(sandbox)


def new_job(session, org, **fields):
    body = {"operation": "insert", "object": "Contact", "contentType": "JSON", **fields}
    response = session.post(async_url(org, "/job"), data=json.dumps(body))
    assert response.status_code == 201, response.text
    return response.json()


def add_batch(session, org, job_id, body, content_type="application/json"):
    response = session.post(
        async_url(org, f"/job/{job_id}/batch"), data=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    return response.json()


def get(session, org, path):
    response = session.get(async_url(org, path))
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    ("headers", "version"),
    [({}, "62.0"), ({"X-SFDC-Session": "00Dbogus!token"}, "62.0"), ({"Authorization": "Bearer x"}, "62.0")],
)
def test_a_missing_or_bad_session_is_400_invalid_session_id(sandbox, headers, version):
    response = http(sandbox).post(async_url(sandbox, "/job", version), data="{}", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}


def test_retired_versions_are_invalid(sandbox, session):
    response = session.post(async_url(sandbox, "/job", "30.0"), data="{}")
    assert response.status_code == 400 and response.json()["exceptionCode"] == "InvalidVersion"


def test_job_info_has_salesforces_fields_and_accepts_numeric_concurrency(sandbox, session):
    job = new_job(session, sandbox, concurrencyMode=1)
    assert job["id"].startswith("750") and (job["state"], job["concurrencyMode"]) == ("Open", "Serial")
    assert set(job) >= {
        "apexProcessingTime", "apiActiveProcessingTime", "apiVersion", "concurrencyMode", "contentType",
        "createdById", "createdDate", "id", "numberBatchesCompleted", "numberBatchesFailed",
        "numberBatchesInProgress", "numberBatchesQueued", "numberBatchesTotal", "numberRecordsFailed",
        "numberRecordsProcessed", "numberRetries", "object", "operation", "state", "systemModstamp",
        "totalProcessingTime",
    }  # fmt: skip
    assert job["apiVersion"] == 62.0
    assert new_job(session, sandbox, concurrencyMode="Parallel")["concurrencyMode"] == "Parallel"


@pytest.mark.parametrize(
    "fields",
    [
        {"operation": "merge"},
        {"object": "Nope"},
        {"contentType": "XML"},
        {"operation": "upsert", "externalIdFieldName": "LastName"},
    ],
)
def test_bad_jobs_are_invalid_job(sandbox, session, fields):
    body = {"operation": "insert", "object": "Contact", "contentType": "JSON", **fields}
    response = session.post(async_url(sandbox, "/job"), data=json.dumps(body))
    assert response.status_code == 400 and response.json()["exceptionCode"] == "InvalidJob"


def test_json_batches_results_and_closing_the_job(sandbox, session, sf):
    job = new_job(session, sandbox)
    name = unique("B")
    batch = add_batch(session, sandbox, job["id"], json.dumps([{"LastName": name}, {"FirstName": "x"}]))
    assert batch["id"].startswith("751") and batch["jobId"] == job["id"] and batch["state"] == "Queued"
    info = get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}").json()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("Completed", 2, 1)
    results = get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}/result").json()
    assert results[0]["success"] is True and results[0]["created"] is True and results[0]["errors"] == []
    assert results[1] == {
        "success": False,
        "created": False,
        "id": None,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    assert sf.Contact.get(results[0]["id"])["LastName"] == name
    assert json.loads(get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}/request").content)[0] == {
        "LastName": name
    }
    listed = get(session, sandbox, f"/job/{job['id']}/batch").json()["batchInfo"]
    assert [b["id"] for b in listed] == [batch["id"]]
    closed = session.post(async_url(sandbox, f"/job/{job['id']}"), data=json.dumps({"state": "Closed"}))
    assert closed.status_code == 200 and closed.json()["state"] == "Closed"
    assert (closed.json()["numberBatchesCompleted"], closed.json()["numberRecordsProcessed"]) == (1, 2)
    refused = session.post(async_url(sandbox, f"/job/{job['id']}/batch"), data="[]")
    assert refused.status_code == 400 and refused.json()["exceptionCode"] == "InvalidJobState"


def test_csv_jobs_take_csv_and_answer_csv_results(sandbox, session):
    job = new_job(session, sandbox, contentType="CSV")
    batch = add_batch(session, sandbox, job["id"], "LastName,Email\nA,bad\n", "text/csv")
    result = get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}/result")
    assert result.headers["Content-Type"].startswith("text/csv")
    error = "INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --"
    assert result.text == f'"Id","Success","Created","Error"\n"","false","false","{error}"\n'


def test_query_jobs_list_result_ids_then_records(sandbox, session, sf):
    name = unique("Q")
    sf.Contact.create({"LastName": name, "Birthdate": "2000-01-01"})
    job = new_job(session, sandbox, operation="query")
    batch = add_batch(
        session, sandbox, job["id"], f"SELECT Id, LastName, Birthdate FROM Contact WHERE LastName = '{name}'"
    )
    (result_id,) = get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}/result").json()
    (record,) = get(session, sandbox, f"/job/{job['id']}/batch/{batch['id']}/result/{result_id}").json()
    assert record["attributes"]["type"] == "Contact" and record["LastName"] == name
    assert record["Birthdate"] == 946684800000


def test_unknown_jobs_and_batches_and_unfinished_results(sandbox_factory):
    slow = sandbox_factory(bulk_job_latency_ms=60_000)
    session = async_session(slow)
    assert session.get(async_url(slow, "/job/750000000000000AAA")).json()["exceptionCode"] == "InvalidJob"
    job = new_job(session, slow)
    batch = add_batch(session, slow, job["id"], '[{"LastName": "A"}]')
    assert (
        session.get(async_url(slow, f"/job/{job['id']}/batch/751000000000000AAA")).json()["exceptionCode"]
        == "InvalidBatch"
    )
    early = session.get(async_url(slow, f"/job/{job['id']}/batch/{batch['id']}/result"))
    assert early.status_code == 400 and early.json()["exceptionCode"] == "InvalidBatch"
    aborted = session.post(async_url(slow, f"/job/{job['id']}"), data=json.dumps({"state": "Aborted"}))
    assert aborted.json()["state"] == "Aborted"
    assert get(session, slow, f"/job/{job['id']}/batch/{batch['id']}").json()["state"] == "NotProcessed"


def test_unknown_paths_and_methods(sandbox, session):
    assert session.get(async_url(sandbox, "/jobs")).status_code == 404
    assert session.delete(async_url(sandbox, "/job")).status_code == 405
