"""Bulk API calls made by hand (raw ``requests``) for the sandbox's Bulk tests."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import requests

from sfcrm_sandbox.process import RunningSandbox
from tests.integration._clients import VERSION, api, http, login

TERMINAL = ("JobComplete", "Failed", "Aborted")


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def ingest(
    session: requests.Session, org: RunningSandbox, data: str, *, wait: bool = True, **job: Any
) -> dict[str, Any]:
    """Create an ingest job (``job`` fields; ``object`` Contact, ``operation`` insert by default),
    upload ``data``, close it and, with ``wait``, poll until it ends; returns its info."""
    job = {"object": "Contact", "operation": "insert", **job}
    created = session.post(api(org, "/jobs/ingest"), json=job)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    uploaded = session.put(
        api(org, f"/jobs/ingest/{job_id}/batches"), data=data.encode(), headers={"Content-Type": "text/csv"}
    )
    assert uploaded.status_code == 201, uploaded.text
    closed = session.patch(api(org, f"/jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert closed.status_code == 200, closed.text
    return poll(session, org, "ingest", job_id) if wait else closed.json()


def poll(
    session: requests.Session, org: RunningSandbox, resource: str, job_id: str, timeout: float = 60
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = session.get(api(org, f"/jobs/{resource}/{job_id}")).json()
        if info["state"] in TERMINAL or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def results(session: requests.Session, org: RunningSandbox, job_id: str, kind: str) -> list[list[str]]:
    response = session.get(api(org, f"/jobs/ingest/{job_id}/{kind}"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    return rows(response.text)


def async_url(org: RunningSandbox, path: str = "", version: str = VERSION) -> str:
    return f"{org.base_url}/services/async/{version}{path}"


def async_session(org: RunningSandbox) -> requests.Session:
    """A raw Bulk API 1.0 session: ``X-SFDC-Session`` and JSON."""
    session = http(org)
    session.headers.update({"X-SFDC-Session": login(org, session), "Content-Type": "application/json"})
    return session
