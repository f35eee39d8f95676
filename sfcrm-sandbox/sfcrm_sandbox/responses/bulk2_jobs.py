"""What Bulk API 2.0's ingest and query resources share: finding a job, listing jobs, deleting one,
the JSON bodies they read, and the shapes of job info and errors.

Errors are REST-style JSON arrays, ``[{"errorCode": "INVALIDJOBSTATE", "message": "..."}]``
(observed); an unknown job is 404 ``NOT_FOUND``. Lists come 1,000 jobs a page, with
``nextRecordsUrl`` (``docs/salesforce-facts.md``, "Bulk API 2.0").
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sfcrm_sandbox.models.bulk_classic import ClassicJob
from sfcrm_sandbox.models.bulk_csv import DELIMITERS, LINE_ENDINGS, CsvFormat
from sfcrm_sandbox.models.bulk_jobs import FAILED, TERMINAL, UPLOAD_COMPLETE, BulkOrg, JobRejected
from sfcrm_sandbox.models.versions import major_of
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found

LIST_PAGE = 1000
# A job can be deleted once it no longer takes data or has ended (Salesforce's "Delete a Job").
_DELETABLE = (UPLOAD_COMPLETE, *TERMINAL)


def rejected(exc: JobRejected) -> Reply:
    return api_error(exc.status, exc.code, exc.message)


def encode_locator(offset: int) -> str:
    """An opaque locator for row (or job) ``offset``."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def json_object(raw: bytes) -> dict[str, Any] | Reply:
    """A request's JSON object body, or the 400 REST answers for anything else."""
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        return api_error(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}")
    if not isinstance(body, dict):
        return api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def csv_format(body: dict[str, Any]) -> CsvFormat | Reply:
    """A job's ``columnDelimiter`` / ``lineEnding`` (defaults ``COMMA`` / ``LF``) and ``contentType``."""
    delimiter, line_ending = body.get("columnDelimiter") or "COMMA", body.get("lineEnding") or "LF"
    if delimiter not in DELIMITERS:
        return api_error(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")  # UNVERIFIED wording
    if line_ending not in LINE_ENDINGS:
        return api_error(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")  # UNVERIFIED wording
    if (body.get("contentType") or "CSV") != "CSV":
        return api_error(400, "INVALIDJOB", f"Invalid content type: {body['contentType']}")  # UNVERIFIED
    return CsvFormat(delimiter, line_ending)


def common_info(job: Any) -> dict[str, Any]:
    """The fields every job info begins with, in Salesforce's order (jobs of either API)."""
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": job.stamp.created_by,
        "createdDate": job.stamp.created_date,
        "systemModstamp": job.stamp.system_modstamp,
        "state": job.state,
    }


def classic_summary(job: ClassicJob) -> dict[str, Any]:
    """A Bulk API 1.0 job as the 2.0 job lists show it."""
    return {
        **common_info(job),
        "concurrencyMode": "Serial" if job.serial else "Parallel",
        "contentType": job.content_type,
        "apiVersion": job.stamp.api_version,
        "jobType": "Classic",
    }


class Bulk2Jobs:
    """The resources ``jobs/ingest`` and ``jobs/query`` have in common.

    :param org: the org's Bulk service.
    :param kind: the job class of this resource.
    :param resource: ``ingest`` or ``query``.
    :param since: the first API version with this resource.
    """

    def __init__(self, org: BulkOrg, kind: type, resource: str, since: int) -> None:
        self.org = org
        self.kind = kind
        self.resource = resource
        self.since = since

    def available(self, call: Call) -> bool:
        return (major_of(call.version) or 0) >= self.since

    def _job(self, call: Call) -> Any:
        """The job the URL names, or None (the caller answers 404)."""
        if not self.available(call):
            return None
        return self.org.get(call.params["job"], self.kind)

    def summary(self, job: Any, version: str | None = None, typed: bool = False) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - each resource shapes its jobs

    def info(self, job: Any) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - each resource shapes its jobs

    def list_jobs(self, call: Call) -> Reply:
        if not self.available(call):
            return not_found()
        jobs = [
            self.summary(job, typed=True) if isinstance(job, self.kind) else classic_summary(job)
            for job in self.org.jobs(self.kind, ClassicJob)
        ]
        wanted = {
            "jobType": call.query.get("jobType"),
            "concurrencyMode": (call.query.get("concurrencyMode") or "").lower() or None,
        }
        if wanted["jobType"]:
            jobs = [j for j in jobs if j["jobType"] == wanted["jobType"]]
        if wanted["concurrencyMode"]:
            jobs = [j for j in jobs if j["concurrencyMode"].lower() == wanted["concurrencyMode"]]
        if (call.query.get("isPkChunkingEnabled") or "").lower() == "true":
            jobs = []  # PK chunking is a Bulk API 1.0 query option the sandbox does not offer
        start = decode_locator(call.query["queryLocator"]) if call.query.get("queryLocator") else 0
        if start is None:
            return api_error(400, "INVALIDLOCATOR", "Invalid query locator")  # UNVERIFIED wording
        end = start + LIST_PAGE
        next_url = None
        if end < len(jobs):
            next_url = (
                f"/services/data/v{call.version}/jobs/{self.resource}?queryLocator={encode_locator(end)}"
            )
        return Reply(200, {"done": next_url is None, "records": jobs[start:end], "nextRecordsUrl": next_url})

    def job_info(self, call: Call) -> Reply:
        job = self._job(call)
        return not_found() if job is None else Reply(200, self.info(job))

    def delete_job(self, call: Call) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        if job.state not in _DELETABLE:
            # UNVERIFIED wording; the rule is documented.
            return api_error(
                400, "INVALIDJOBSTATE", f"Deleting a job in the {job.state} state is not allowed"
            )
        job.deleted = True
        self.org.remove(job)
        return Reply(204)

    @staticmethod
    def counts(job: Any, failed: int | None = None) -> dict[str, Any]:
        """The processing fields of a job's full info (``numberRecordsFailed``: ingest jobs only)."""
        out: dict[str, Any] = {"numberRecordsProcessed": job.processed}
        if failed is not None:
            out["numberRecordsFailed"] = failed
        out.update(
            {
                "retries": 0,
                "totalProcessingTime": job.clock.total_ms,
                "apiActiveProcessingTime": int(job.clock.active_ms),
                "apexProcessingTime": 0,
            }
        )
        if job.state == FAILED and job.error_message:
            out["errorMessage"] = job.error_message
        return out
