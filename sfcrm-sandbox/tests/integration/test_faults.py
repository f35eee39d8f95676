"""Injected faults, the daily API limit, session lifetime and latency (sandboxes of their own)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceRefusedRequest

from tests.integration._clients import VERSION, api, authed, contact, first_error, http, login

pytestmark = pytest.mark.integration


def post_contacts(session, running, count=1):
    return session.post(
        api(running, "/composite/sobjects"), json={"records": [contact() for _ in range(count)]}
    )


@pytest.mark.parametrize(
    ("faults", "status", "body_check"),
    [
        ({"http_503_rate": 1.0}, 503, lambda r: r.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"),
        ({"http_502_rate": 1.0}, 502, lambda r: r.headers["content-type"].startswith("text/html")),
    ],
)
def test_gateway_faults_are_not_processed(sandbox_factory, faults, status, body_check):
    running = sandbox_factory(faults={"seed": 1, **faults})
    response = post_contacts(authed(running), running)
    assert response.status_code == status and body_check(response)
    assert running.stats()["records"]["Contact"] == 0
    assert running.stats()["faults"][f"http_{status}"] == 1


def test_dropped_connection_after_processing(sandbox_factory):
    running = sandbox_factory(faults={"seed": 1, "drop_connection_rate": 1.0})
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        post_contacts(authed(running), running, count=3)
    stats = running.stats()
    assert stats["records"]["Contact"] == 3  # the write happened; the client just never heard of it
    assert stats["faults"]["dropped_connections"] == 1


def test_record_locks_fail_single_records(sandbox_factory):
    running = sandbox_factory(faults={"seed": 3, "record_lock_rate": 1.0})
    results = post_contacts(authed(running), running, count=2).json()
    assert [first_error(r)[0] for r in results] == ["UNABLE_TO_LOCK_ROW"] * 2
    assert running.stats()["records"]["Contact"] == 0


def outcomes(running, rounds=12):
    session = authed(running)
    seen = []
    for _ in range(rounds):
        try:
            response = post_contacts(session, running, count=5)
        except requests.ConnectionError:
            seen.append("dropped")
            session = authed(running)
            continue
        body = response.json() if response.status_code == 200 else None
        seen.append((response.status_code, tuple(r["success"] for r in body) if body else None))
    return seen


def test_faults_are_seeded_and_repeatable(sandbox_factory):
    faults = {"seed": 42, "http_503_rate": 0.2, "drop_connection_rate": 0.2, "record_lock_rate": 0.3}
    first, second = outcomes(sandbox_factory(faults=faults)), outcomes(sandbox_factory(faults=faults))
    assert first == second
    kinds = {o if isinstance(o, str) else o[0] for o in first}
    assert {"dropped", 503, 200} <= kinds
    assert any(o[1] and not all(o[1]) for o in first if not isinstance(o, str) and o[0] == 200)
    other = outcomes(sandbox_factory(faults={**faults, "seed": 43}))
    assert other != first


def test_expire_session_every_nth_request(sandbox_factory):
    running = sandbox_factory(faults={"expire_session_every": 3})
    session = authed(running)
    statuses = [session.get(api(running, "/limits")).status_code for _ in range(4)]
    assert statuses == [200, 200, 401, 401]  # the 3rd invalidates the token for good
    assert running.stats()["faults"]["expired_sessions"] == 1
    fresh = authed(running)
    assert fresh.get(api(running, "/limits")).status_code == 200


def test_daily_api_limit(sandbox_factory):
    running = sandbox_factory(daily_api_limit=3)
    sf = Salesforce(
        instance_url=running.base_url, session_id=login(running), session=http(running), version=VERSION
    )
    for _ in range(3):
        sf.limits()
    assert sf.api_usage["api-usage"].used == 3 and sf.api_usage["api-usage"].total == 3
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.Contact.describe()
    assert refused.value.status == 403
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_session_ttl(sandbox_factory):
    running = sandbox_factory(session_ttl_s=1)
    sf = Salesforce(
        instance_url=running.base_url, session_id=login(running), session=http(running), version=VERSION
    )
    sf.limits()
    time.sleep(1.5)
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()


def test_latency_overlaps_between_concurrent_requests(sandbox_factory):
    running = sandbox_factory(latency_ms=1000)
    token = login(running)

    def call(_: int) -> float:
        session = http(running)
        began = time.monotonic()
        response = session.get(api(running, "/limits"), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        return time.monotonic() - began

    with ThreadPoolExecutor(4) as pool:
        durations = list(pool.map(call, range(4)))
    assert min(durations) >= 1.0  # every request waited its latency...
    assert running.stats()["max_in_flight"] == 4  # ...while the others were being served


def test_per_record_latency_and_slow_responses(sandbox_factory):
    running = sandbox_factory(
        per_record_latency_ms=10, faults={"slow_response_rate": 1.0, "slow_response_ms": 200}
    )
    session = authed(running)
    began = time.monotonic()
    assert post_contacts(session, running, count=50).status_code == 200
    assert time.monotonic() - began >= 0.5 + 0.2
    assert running.stats()["faults"]["slow_responses"] == 1


@pytest.mark.parametrize(
    "faults", [{"http_503_rate": 2}, {"nope_rate": 0.1}, {"slow_response_ms": -1}], ids=["rate", "key", "ms"]
)
def test_bad_faults_file_is_refused(tmp_path, faults):
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(faults))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sfcrm_sandbox",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--faults",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "faults" in result.stderr
