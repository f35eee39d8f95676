"""Issue 3 acceptance: 20,000 Contacts through faults, nothing lost, nothing duplicated, no secret logged."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_sfcrm.hooks import _transport
from tests.integration._hook_helpers import ensure_external_id_field, hook_for

pytestmark = pytest.mark.integration

FAULTS = {"seed": 1, "http_503_rate": 0.05, "record_lock_rate": 0.02, "expire_session_every": 100}
COUNT = 20_000


def test_20000_contacts_through_faults(monkeypatch, sandbox_factory, caplog, capfd):
    running = sandbox_factory(faults=FAULTS)
    issued_tokens: list[str] = []
    real_request_token = _transport.request_token

    def spy(*args, **kwargs):
        token = real_request_token(*args, **kwargs)
        issued_tokens.append(token.access_token)
        return token

    monkeypatch.setattr(_transport, "request_token", spy)
    caplog.set_level(logging.DEBUG)  # everything, including urllib3 and the hook's retries

    hook = hook_for(monkeypatch, running)
    ext = ensure_external_id_field(hook, running)
    records = [
        {ext: f"acc-{i:05d}", "LastName": f"Acceptance{i:05d}", "Email": f"acc{i:05d}@example.com"}
        for i in range(COUNT)
    ]
    results = hook.upsert_records("Contact", records, ext, max_workers=8)

    assert len(results) == COUNT
    assert all(r.success for r in results), {r.status_codes for r in results if not r.success}
    assert all(r.created for r in results)
    assert running.stats()["records"]["Contact"] == COUNT
    rows = hook.query_all(f"SELECT Id, {ext}, LastName, Email FROM Contact")
    assert len(rows) == COUNT
    sent = {rec[ext]: (rec["LastName"], rec["Email"]) for rec in records}
    assert {row[ext]: (row["LastName"], row["Email"]) for row in rows} == sent
    ids = {row[ext]: row["Id"] for row in rows}
    assert [r.id for r in results] == [ids[rec[ext]] for rec in records]

    updates = [{"Id": r.id, "LastName": f"Updated{r.index:05d}"} for r in results]
    again = hook.upsert_records("Contact", updates, "Id", max_workers=8)
    assert all(r.success for r in again), {r.status_codes for r in again if not r.success}
    assert running.stats()["records"]["Contact"] == COUNT  # updated, none created
    rows = hook.query_all("SELECT Id, LastName FROM Contact")
    assert sorted(row["LastName"] for row in rows) == sorted(u["LastName"] for u in updates)

    # The faults really happened: sessions expired and were renewed.
    assert len(issued_tokens) > 1
    assert hook.api_usage is not None

    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    captured = capfd.readouterr()
    everything = logged + captured.out + captured.err
    assert "retry" in everything  # the faults were handled and logged (as counts and codes)
    secrets = [running.password, running.security_token, running.client_secret, *issued_tokens]
    for secret in secrets:
        assert secret not in everything
    for value in ("Acceptance00042", "acc00042@example.com", "Updated00042"):
        assert value not in everything  # record payloads are not logged either
