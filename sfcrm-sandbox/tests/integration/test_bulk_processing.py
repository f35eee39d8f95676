"""How the org processes Bulk work and counts it: asynchronous at the modelled rate, API requests,
the daily allocations in ``limits``, reset."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration._bulk import async_session, async_url, ingest, poll
from tests.integration._clients import api, authed

pytestmark = pytest.mark.integration


def test_jobs_are_processed_in_the_background_at_the_modelled_rate(sandbox_factory):
    org = sandbox_factory(bulk_records_per_s=2000, bulk_job_latency_ms=300)
    session = authed(org)
    closed = ingest(session, org, "LastName\n" + "".join(f"L{i}\n" for i in range(3000)), wait=False)
    assert closed["state"] == "UploadComplete"
    seen = []
    while not seen or seen[-1][0] not in ("JobComplete", "Failed"):
        info = session.get(api(org, f"/jobs/ingest/{closed['id']}")).json()
        # REST requests are answered while the job runs.
        assert session.get(api(org, "/limits")).status_code == 200
        seen.append((info["state"], info["numberRecordsProcessed"]))
        time.sleep(0.05)
    states = [state for state, _ in seen]
    assert states[0] == "UploadComplete" and "InProgress" in states and states[-1] == "JobComplete"
    partial = [count for state, count in seen if state == "InProgress"]
    assert any(0 < count < 3000 for count in partial)
    assert seen[-1][1] == 3000


def test_every_bulk_request_counts_against_the_daily_api_requests(sandbox_factory):
    org = sandbox_factory(bulk_records_per_s=0, bulk_job_latency_ms=0)
    session, classic = authed(org), async_session(org)
    before = org.stats()["api_usage"]["used"]
    ingest(session, org, "LastName\nA\n")  # create, upload, close, one or more polls
    polls = org.calls_to("GET /jobs/ingest/{job}")
    job = classic.post(
        async_url(org, "/job"),
        data=json.dumps({"operation": "insert", "object": "Contact", "contentType": "JSON"}),
    )
    after = org.stats()["api_usage"]["used"]
    assert after - before == 3 + polls + 1
    assert job.headers["Sforce-Limit-Info"] == f"api-usage={after}/1000000"
    assert org.calls_to("POST /async/job") == 1


@pytest.mark.parametrize(
    ("surface", "status", "code"), [("rest", 403, "REQUEST_LIMIT_EXCEEDED"), ("async", 403, "ExceededQuota")]
)
def test_a_spent_daily_allocation_refuses_bulk_requests_too(sandbox_factory, surface, status, code):
    org = sandbox_factory(daily_api_limit=1)
    if surface == "rest":
        session = authed(org)
        session.get(api(org, "/jobs/ingest"))
        refused = session.get(api(org, "/jobs/ingest"))
        assert refused.status_code == status and refused.json()[0]["errorCode"] == code
    else:
        session = async_session(org)
        session.get(async_url(org, "/job/750000000000000AAA"))
        refused = session.get(async_url(org, "/job/750000000000000AAA"))
        assert refused.status_code == status and refused.json()["exceptionCode"] == code


def test_limits_report_what_bulk_work_spent(sandbox_factory):
    org = sandbox_factory(bulk_records_per_s=0, bulk_job_latency_ms=0, bulk_daily_batches=5)
    session, classic = authed(org), async_session(org)
    ingest(session, org, "LastName\n" + "".join(f"L{i}\n" for i in range(10_001)))  # two internal batches
    job = classic.post(
        async_url(org, "/job"),
        data=json.dumps({"operation": "insert", "object": "Contact", "contentType": "JSON"}),
    ).json()
    classic.post(async_url(org, f"/job/{job['id']}/batch"), data='[{"LastName": "A"}]')
    query = session.post(
        api(org, "/jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Contact"}
    ).json()
    poll(session, org, "query", query["id"])
    limits = session.get(api(org, "/limits")).json()
    assert limits["DailyBulkApiBatches"] == {"Max": 5, "Remaining": 2}
    assert limits["DailyBulkV2QueryJobs"] == {"Max": 10000, "Remaining": 9999}
    assert limits["DailyBulkV2QueryFileStorageMB"]["Max"] == 976_562
    bulk_stats = org.stats()["bulk"]
    assert (bulk_stats["batches_24h"], bulk_stats["records_24h"]) == (3, 10_002)
    assert org.stats()["records"]["Contact"] == 10_002


def test_spent_batches_refuse_bulk_1_batches_and_fail_bulk_2_jobs(sandbox_factory):
    org = sandbox_factory(bulk_records_per_s=0, bulk_job_latency_ms=0, bulk_daily_batches=1)
    session, classic = authed(org), async_session(org)
    job = classic.post(
        async_url(org, "/job"),
        data=json.dumps({"operation": "insert", "object": "Contact", "contentType": "JSON"}),
    ).json()
    assert classic.post(async_url(org, f"/job/{job['id']}/batch"), data="[]").status_code == 201
    refused = classic.post(async_url(org, f"/job/{job['id']}/batch"), data="[]")
    assert refused.status_code == 400 and refused.json()["exceptionCode"] == "ExceededQuota"
    info = ingest(session, org, "LastName\nA\n")
    assert info["state"] == "Failed" and info["errorMessage"].startswith("ExceededQuota")
    assert session.get(api(org, f"/jobs/ingest/{info['id']}/unprocessedrecords")).text == "LastName\nA\n"


def test_reset_forgets_bulk_jobs(sandbox_factory):
    org = sandbox_factory(bulk_records_per_s=0, bulk_job_latency_ms=0)
    session = authed(org)
    info = ingest(session, org, "LastName\nA\n")
    org.reset()
    assert session.get(api(org, f"/jobs/ingest/{info['id']}")).status_code == 404
    assert session.get(api(org, "/jobs/ingest")).json()["records"] == []
    assert org.stats()["bulk"]["jobs"] == {}
