"""Bulk API 2.0 ingest jobs: create one, upload its CSV, close it, read its state and its results.

``POST jobs/ingest`` (``object``, ``operation`` ``insert``/``update``/``upsert`` with
``externalIdFieldName``, ``contentType`` CSV) creates a job in state ``Open``; ``PUT
jobs/ingest/{id}/batches`` (``text/csv``) uploads its data — once: Salesforce accepts a second upload
but then refuses to close the job, so an upload whose answer was lost is never sent again (the job is
aborted and the data goes into a new one instead); ``PATCH jobs/ingest/{id}`` with ``{"state":
"UploadComplete"}`` queues it, ``{"state": "Aborted"}`` aborts it. Salesforce then processes it
(``UploadComplete`` → ``InProgress`` → ``JobComplete``, ``Failed`` with an ``errorMessage``, or
``Aborted``); ``GET jobs/ingest/{id}`` is its job info (``numberRecordsProcessed``,
``numberRecordsFailed``); ``successfulResults`` (``sf__Id``, ``sf__Created``, then the uploaded
columns), ``failedResults`` (``sf__Id``, ``sf__Error``, then the uploaded columns) and
``unprocessedrecords`` (the uploaded columns) are CSV. One upload may hold 150 MB after base64
encoding; :data:`MAX_UPLOAD_BYTES` of CSV stays under it. Every request counts against the org's
daily API requests. Bulk API 2.0 ingest exists from API version 41.0.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.exceptions import SfCrmApiError
from airflow_provider_sfcrm.hooks._transport import RestTransport, checked_request

#: Job states after which nothing changes any more.
TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")
#: CSV bytes per job upload: 100 MB, whose base64 form (133 MB) is within Salesforce's 150 MB.
MAX_UPLOAD_BYTES = 100_000_000
#: The result sets of a job, as their resources are named.
RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")
OPERATIONS = ("insert", "update", "upsert")


class Bulk2IngestJobs:
    """Bulk API 2.0 ingest jobs through one authenticated transport.

    :param transport: the hook's REST transport (sessions, retries, call accounting).
    """

    def __init__(self, transport: RestTransport) -> None:
        self.transport = transport

    def _request(self, method: str, path: str, label: str, **kwargs: Any) -> Any:
        return checked_request(self.transport, method, path, label, **kwargs)

    def create(
        self,
        sobject: str,
        operation: str,
        *,
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
    ) -> dict[str, Any]:
        """Create an ``Open`` job (comma-separated, LF line endings); its job info.

        :param external_id_field: the upsert key (``upsert`` only).
        :param assignment_rule_id: Lead assignment rule to run (Bulk runs none unless named).
        """
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
        body: dict[str, Any] = {
            "object": validate_api_name(sobject, "object name"),
            "operation": operation,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        if operation == "upsert":
            if not external_id_field:
                raise ValueError("an upsert job needs external_id_field")
            body["externalIdFieldName"] = validate_api_name(external_id_field, "external-id field name")
        if assignment_rule_id:
            body["assignmentRuleId"] = assignment_rule_id
        # A lost answer leaves at worst an Open job with no data behind (never processed): safe to resend.
        return self._request("POST", "jobs/ingest", "POST jobs/ingest", json=body).json()

    def upload(self, job_id: str, csv_data: bytes) -> None:
        """Upload the job's CSV (its header row first), once.

        :raises SfCrmOutcomeUnknownError: the upload may or may not have arrived; do not send it again
            to this job (abort it and use a new one).
        """
        if len(csv_data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"{len(csv_data):,} bytes of CSV exceed one upload's {MAX_UPLOAD_BYTES:,}")
        self._request(
            "PUT",
            f"jobs/ingest/{job_id}/batches",
            "PUT jobs/ingest/{id}/batches",
            data=csv_data,
            headers={"Content-Type": "text/csv"},
            idempotent=False,
        )

    def close(self, job_id: str) -> dict[str, Any]:
        """``UploadComplete``: Salesforce queues the job; its job info.

        Sent again after a lost answer, the close finds the job no longer ``Open``; that is success.
        """
        try:
            return self._set_state(job_id, "UploadComplete")
        except SfCrmApiError as exc:
            if exc.error_code == "INVALIDJOBSTATE":
                info = self.info(job_id)
                if info.get("state") != "Open":
                    return info
            raise

    def abort(self, job_id: str) -> dict[str, Any]:
        """Abort the job: what was not processed yet never will be; its job info."""
        return self._set_state(job_id, "Aborted")

    def _set_state(self, job_id: str, state: str) -> dict[str, Any]:
        return self._request(
            "PATCH", f"jobs/ingest/{job_id}", "PATCH jobs/ingest/{id}", json={"state": state}
        ).json()

    def info(self, job_id: str) -> dict[str, Any]:
        """The job's info: ``state``, ``numberRecordsProcessed``, ``numberRecordsFailed``, ..."""
        return self._request("GET", f"jobs/ingest/{job_id}", "GET jobs/ingest/{id}").json()

    def results(self, job_id: str, kind: str) -> bytes:
        """One of the job's result sets (:data:`RESULT_KINDS`) as CSV, its header row first."""
        if kind not in RESULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RESULT_KINDS)}, not {kind!r}")
        label = f"GET jobs/ingest/{{id}}/{kind}"
        return self._request(
            "GET", f"jobs/ingest/{job_id}/{kind}", label, headers={"Accept": "text/csv"}
        ).content

    def delete(self, job_id: str) -> None:
        """Remove the job and its results (once they are read)."""
        self._request("DELETE", f"jobs/ingest/{job_id}", "DELETE jobs/ingest/{id}")
