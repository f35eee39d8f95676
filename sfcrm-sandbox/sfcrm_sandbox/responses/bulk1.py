"""Bulk API 1.0: ``/services/async/{version}/job...`` (``docs/salesforce-facts.md``, "Bulk API 1.0").

Jobs, batches (JSON or CSV records; a query job's batch is its SOQL), batch state, results and a
query batch's result sets, as simple-salesforce's ``bulk`` (and so Airflow's official
``SalesforceBulkOperator``) calls them. The session comes in the ``X-SFDC-Session`` header; errors
are ``{"exceptionCode", "exceptionMessage"}`` objects, most with status 400 (a bad session too:
``InvalidSessionId``). Job and batch info are answered in JSON whatever the job's content type
(Salesforce answers XML for CSV and XML jobs; the sandbox offers no XML).
"""

from __future__ import annotations

import json
from typing import Any

from sfcrm_sandbox.models.bulk_classic import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    QUEUED,
    ClassicBatch,
    ClassicJob,
)
from sfcrm_sandbox.models.bulk_jobs import BulkOrg, JobRejected
from sfcrm_sandbox.models.bulk_rows import INGEST_OPERATIONS, QUERY_OPERATIONS, Target
from sfcrm_sandbox.responses.call import Call, Reply

_JSON = "application/json"
_CONCURRENCY = {"parallel": False, "serial": True, "0": False, "1": True}


def async_error(status: int, code: str, message: str) -> Reply:
    """A Bulk API 1.0 error."""
    return Reply(status, {"exceptionCode": code, "exceptionMessage": message})


def _rejected(exc: JobRejected) -> Reply:
    return async_error(exc.status, exc.code, exc.message)


class AsyncErrors:
    """Bulk API 1.0's whole-request errors, for the pipeline of :mod:`sfcrm_sandbox.server.app`."""

    def retired(self, version: str) -> Reply:
        # Retired versions: Bulk API answers 400 InvalidVersion (documented); wording UNVERIFIED.
        return async_error(400, "InvalidVersion", f"API version {version} has been retired")

    def unknown_version(self, version: str) -> Reply:
        return async_error(400, "InvalidVersion", f"Invalid API version: {version}")  # UNVERIFIED wording

    def session_invalid(self) -> Reply:
        return async_error(400, "InvalidSessionId", "Invalid session id")

    def limit_exceeded(self) -> Reply:
        # UNVERIFIED: the code Bulk API 1.0 answers when the daily API requests are spent.
        return async_error(403, "ExceededQuota", "TotalRequests Limit exceeded.")

    def not_found(self) -> Reply:
        return async_error(404, "InvalidUrl", "The requested resource does not exist")  # UNVERIFIED

    def method_not_allowed(self, method: str, allowed: list[str]) -> Reply:
        return async_error(405, "InvalidUrl", f"HTTP Method '{method}' not allowed")  # UNVERIFIED


class AsyncResponses:
    """Bulk API 1.0 jobs and batches.

    :param org: the org's Bulk service.
    """

    def __init__(self, org: BulkOrg) -> None:
        self.org = org

    # --- jobs ---------------------------------------------------------------------------------

    def create_job(self, call: Call) -> Reply:
        body = self._json(call)
        if isinstance(body, Reply):
            return body
        operation, name = body.get("operation"), body.get("object")
        if operation not in (*INGEST_OPERATIONS, *QUERY_OPERATIONS):
            return async_error(400, "InvalidJob", f"Invalid operation: {operation}")  # UNVERIFIED wording
        spec = self.org.store.object_spec(name) if isinstance(name, str) else None
        if spec is None:
            return async_error(400, "InvalidJob", f"Unable to find object: {name}")
        content_type = body.get("contentType") or "CSV"
        if content_type not in ("JSON", "CSV"):
            return async_error(400, "InvalidJob", f"The sandbox does not offer {content_type} content")
        # simple-salesforce sends 0 / 1 where Salesforce documents Parallel / Serial: take both.
        serial = _CONCURRENCY.get(str(body.get("concurrencyMode", "Parallel")).lower())
        if serial is None:
            return async_error(400, "InvalidJob", f"Invalid concurrency mode: {body['concurrencyMode']}")
        key_name = body.get("externalIdFieldName") if operation == "upsert" else None
        key = None
        if operation == "upsert":
            entry = self.org.store.visible_fields(spec.name).get(str(key_name or "").lower())
            if entry is None or not (entry[0].external_id or entry[0].name == "Id"):
                # UNVERIFIED wording.
                return async_error(
                    400,
                    "InvalidJob",
                    f"Field name provided, {key_name} is not an External ID field for {spec.name}",
                )
            key = None if entry[0].name == "Id" else entry[0]
        rule = body.get("assignmentRuleId") or None
        target = (
            None if operation in QUERY_OPERATIONS else Target(spec.name, operation, key, rule is not None)
        )
        stamp = self.org.stamp(call.version)
        job = ClassicJob(
            stamp,
            operation,
            spec.name,
            target,
            content_type,
            serial,
            key_name,
            rule,
            self.org.files(stamp.id),
        )
        self.org.add(job)
        return Reply(201, self._job_info(job))

    def job_info(self, call: Call) -> Reply:
        job = self._job(call)
        return job if isinstance(job, Reply) else Reply(200, self._job_info(job))

    def update_job(self, call: Call) -> Reply:
        """Close (``{"state": "Closed"}``) or abort (``"Aborted"``) a job."""
        job = self._job(call)
        if isinstance(job, Reply):
            return job
        body = self._json(call)
        if isinstance(body, Reply):
            return body
        changes = {"Closed": job.close, "Aborted": job.abort}
        change = changes.get(body.get("state"))
        if change is None:
            return async_error(400, "InvalidJobState", f"Invalid state: {body.get('state')}")  # UNVERIFIED
        try:
            change()
        except JobRejected as exc:
            return _rejected(exc)
        return Reply(200, self._job_info(job))

    # --- batches ------------------------------------------------------------------------------

    def add_batch(self, call: Call) -> Reply:
        job = self._job(call)
        if isinstance(job, Reply):
            return job
        try:
            batch = job.add_batch(self.org, call.raw)
        except JobRejected as exc:
            return _rejected(exc)
        return Reply(201, self._batch_info(batch))

    def list_batches(self, call: Call) -> Reply:
        job = self._job(call)
        if isinstance(job, Reply):
            return job
        return Reply(200, {"batchInfo": [self._batch_info(batch) for batch in job.batches]})

    def batch_info(self, call: Call) -> Reply:
        batch = self._batch(call)
        return batch if isinstance(batch, Reply) else Reply(200, self._batch_info(batch))

    def batch_request(self, call: Call) -> Reply:
        batch = self._batch(call)
        if isinstance(batch, Reply):
            return batch
        return Reply(200, content=batch.request(), media_type=self._media_type(batch.job))

    def batch_results(self, call: Call) -> Reply:
        batch = self._batch(call)
        if isinstance(batch, Reply):
            return batch
        if batch.state != COMPLETED:
            # UNVERIFIED wording.
            return async_error(400, "InvalidBatch", f"Batch {batch.id} is not completed: {batch.state}")
        if batch.job.is_query:
            return Reply(200, list(batch.result_ids))
        return Reply(200, content=batch.results(), media_type=self._media_type(batch.job))

    def query_result(self, call: Call) -> Reply:
        batch = self._batch(call)
        if isinstance(batch, Reply):
            return batch
        content = batch.query_result(call.params["result"])
        if content is None:
            return async_error(
                400, "InvalidBatch", f"Invalid result id: {call.params['result']}"
            )  # UNVERIFIED
        return Reply(200, content=content, media_type=self._media_type(batch.job))

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _json(call: Call) -> dict[str, Any] | Reply:
        try:
            body = json.loads(call.raw or b"null")
        except ValueError as exc:
            return async_error(400, "InvalidJob", f"Unable to parse the request: {exc}")  # UNVERIFIED
        if not isinstance(body, dict):
            return async_error(400, "InvalidJob", "The request must be a JSON object")  # UNVERIFIED
        return body

    def _job(self, call: Call) -> ClassicJob | Reply:
        job = self.org.get(call.params["job"], ClassicJob)
        if job is None:
            return async_error(400, "InvalidJob", f"Invalid job id: {call.params['job']}")  # UNVERIFIED
        return job

    def _batch(self, call: Call) -> ClassicBatch | Reply:
        job = self._job(call)
        if isinstance(job, Reply):
            return job
        batch = job.batch(call.params["batch"])
        if batch is None:
            return async_error(400, "InvalidBatch", f"Invalid batch id: {call.params['batch']}")  # UNVERIFIED
        return batch

    @staticmethod
    def _media_type(job: ClassicJob) -> str:
        return _JSON if job.content_type == "JSON" else "text/csv"

    @staticmethod
    def _job_info(job: ClassicJob) -> dict[str, Any]:
        """JobInfo, its fields in the order of Salesforce's JSON example."""
        info: dict[str, Any] = {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": int(sum(b.clock.active_ms for b in job.batches)),
            "apiVersion": job.stamp.api_version,
        }
        if job.assignment_rule_id:
            info["assignmentRuleId"] = job.assignment_rule_id
        info.update(
            {
                "concurrencyMode": "Serial" if job.serial else "Parallel",
                "contentType": job.content_type,
                "createdById": job.stamp.created_by,
                "createdDate": job.stamp.created_date,
            }
        )
        if job.external_id_field_name:
            info["externalIdFieldName"] = job.external_id_field_name
        info.update(
            {
                "id": job.id,
                "numberBatchesCompleted": job.count(COMPLETED),
                "numberBatchesFailed": job.count(FAILED),
                "numberBatchesInProgress": job.count(IN_PROGRESS),
                "numberBatchesQueued": job.count(QUEUED),
                "numberBatchesTotal": len(job.batches),
                "numberRecordsFailed": job.failed,
                "numberRecordsProcessed": job.processed,
                "numberRetries": 0,
                "object": job.sobject,
                "operation": job.operation,
                "state": job.state,
                "systemModstamp": job.stamp.system_modstamp,
                "totalProcessingTime": sum(b.clock.total_ms for b in job.batches),
            }
        )
        return info

    @staticmethod
    def _batch_info(batch: ClassicBatch) -> dict[str, Any]:
        info: dict[str, Any] = {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": int(batch.clock.active_ms),
            "createdDate": batch.created_date,
            "id": batch.id,
            "jobId": batch.job.id,
            "numberRecordsFailed": batch.failed,
            "numberRecordsProcessed": batch.processed,
            "state": batch.state,
        }
        if batch.state_message:
            info["stateMessage"] = batch.state_message
        info.update({"systemModstamp": batch.system_modstamp, "totalProcessingTime": batch.clock.total_ms})
        return info
