"""Bulk API 2.0 query jobs: create one, wait for it, read its CSV results page by page, delete it.

``POST jobs/query`` (``operation`` ``query`` or ``queryAll``, the SOQL) creates a job Salesforce runs
asynchronously; ``GET jobs/query/{id}`` reports its ``state`` (``UploadComplete``, ``InProgress``,
then ``JobComplete``, ``Failed`` with an ``errorMessage``, or ``Aborted``); ``GET
jobs/query/{id}/results?maxRecords=&locator=`` answers one page of CSV, the ``Sforce-Locator`` header
naming the next page (``null`` after the last); ``PATCH jobs/query/{id}`` with ``{"state":
"Aborted"}`` stops a job that has not ended; ``DELETE jobs/query/{id}`` removes the job and its
results. Every one of these requests counts against the org's daily API requests. Bulk API 2.0 query
jobs exist from API version 47.0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from airflow_provider_sfcrm.exceptions import SfCrmApiError
from airflow_provider_sfcrm.hooks._transport import RestTransport, checked_request

TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")


def check_complete(job_id: str, info: dict[str, Any]) -> dict[str, Any]:
    """``info`` when the job ended ``JobComplete``.

    :raises SfCrmApiError: the job failed or was aborted, with Salesforce's ``errorMessage`` (error code
        ``JOB_Failed`` / ``JOB_Aborted``), or reports no end at all.
    """
    state = info.get("state")
    if state == "JobComplete":
        return info
    reason = info.get("errorMessage") or "no reason given"
    raise SfCrmApiError(f"Bulk query job {job_id} ended {state}: {reason}", error_code=f"JOB_{state}")


class Bulk2QueryJobs:
    """Bulk API 2.0 query jobs through one authenticated transport.

    :param transport: the hook's REST transport (sessions, retries, call accounting).
    :param sleep: how to wait between polls (tests pass a fake).
    """

    def __init__(self, transport: RestTransport, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = transport
        self.sleep = sleep

    def _request(self, method: str, path: str, label: str, **kwargs: Any) -> Any:
        return checked_request(self.transport, method, path, label, **kwargs)

    def create(self, soql: str, *, include_deleted: bool) -> dict[str, Any]:
        """Create a query job (``queryAll`` with ``include_deleted``); its job info."""
        body = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        # A lost answer leaves at worst an unused job behind (Salesforce purges them): safe to resend.
        return self._request("POST", "jobs/query", "POST jobs/query", json=body).json()

    def info(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"jobs/query/{job_id}", "GET jobs/query/{id}").json()

    def wait(
        self,
        job_id: str,
        *,
        first_poll_s: float = 1.0,
        max_poll_s: float = 30.0,
        timeout_s: float = 3600.0,
        on_poll: Callable[[dict[str, Any]], None] = lambda info: None,
    ) -> dict[str, Any]:
        """Poll until the job ends (the interval doubles up to ``max_poll_s``); its last job info.

        :raises SfCrmApiError: the job failed or was aborted (with Salesforce's ``errorMessage``),
            or did not end within ``timeout_s``.
        """
        started, pause = time.monotonic(), first_poll_s
        while True:
            info = self.info(job_id)
            on_poll(info)
            state = info.get("state")
            if state in TERMINAL_STATES:
                return check_complete(job_id, info)
            if time.monotonic() - started > timeout_s:
                raise SfCrmApiError(
                    f"Bulk query job {job_id} is still {state} after {timeout_s:g}s", error_code="JOB_TIMEOUT"
                )
            self.sleep(pause)
            pause = min(pause * 2, max_poll_s)

    def results(self, job_id: str, *, max_records: int) -> Iterator[bytes]:
        """The job's result sets, one CSV (with its header row) per page of at most ``max_records`` rows."""
        locator: str | None = None
        while True:
            params: dict[str, Any] = {"maxRecords": max_records}
            if locator:
                params["locator"] = locator
            response = self._request(
                "GET", f"jobs/query/{job_id}/results", "GET jobs/query/{id}/results", params=params
            )
            yield response.content
            locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return

    def abort(self, job_id: str) -> dict[str, Any]:
        """Stop a job that has not ended (its results will never come); its job info.

        Salesforce refuses to abort a job that has ended (``INVALIDJOBSTATE``).
        """
        return self._request(
            "PATCH", f"jobs/query/{job_id}", "PATCH jobs/query/{id}", json={"state": "Aborted"}
        ).json()

    def delete(self, job_id: str) -> None:
        """Remove the job and its results (best done once they are read)."""
        self._request("DELETE", f"jobs/query/{job_id}", "DELETE jobs/query/{id}")
