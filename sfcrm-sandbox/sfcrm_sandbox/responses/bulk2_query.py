"""Bulk API 2.0 query: ``jobs/query`` (API 47.0 and later; ``docs/salesforce-facts.md``, "Bulk API 2.0").

Create a query job (``query`` or ``queryAll``; its SOQL is checked at once and refused with the
REST API's codes), read its info, abort or delete it, list jobs, and read its results: CSV pages of
``maxRecords`` rows; ``Sforce-Locator`` names the next page (``null`` after the last) and
``Sforce-NumberOfRecords`` counts the rows of this one.
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.bulk_jobs import BulkOrg, JobRejected
from sfcrm_sandbox.models.bulk_query import QueryJob, bulk_query
from sfcrm_sandbox.models.bulk_rows import QUERY_OPERATIONS
from sfcrm_sandbox.models.soql import SoqlError
from sfcrm_sandbox.responses.bulk2_jobs import (
    Bulk2Jobs,
    common_info,
    csv_format,
    decode_locator,
    encode_locator,
    json_object,
    rejected,
)
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found


class QueryJobResponses(Bulk2Jobs):
    """``jobs/query`` and everything below it.

    :param org: the org's Bulk service.
    """

    def __init__(self, org: BulkOrg) -> None:
        super().__init__(org, QueryJob, "query", since=47)

    def create_job(self, call: Call) -> Reply:
        if not self.available(call):
            return not_found()
        body = json_object(call.raw)
        if isinstance(body, Reply):
            return body
        operation, soql = body.get("operation"), body.get("query")
        if operation not in QUERY_OPERATIONS:
            return api_error(400, "INVALIDJOB", f"Invalid operation: {operation}")  # UNVERIFIED wording
        if not isinstance(soql, str) or not soql.strip():
            return api_error(400, "INVALIDJOB", "A query is required")  # UNVERIFIED wording
        fmt = csv_format(body)
        if isinstance(fmt, Reply):
            return fmt
        try:
            prepared = bulk_query(self.org.store, soql)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if not self.org.allocations.query_jobs.take():
            # UNVERIFIED code and wording; the allocation (DailyBulkV2QueryJobs) is documented.
            return api_error(400, "EXCEEDEDQUOTA", "The daily limit of Bulk API 2.0 query jobs is exceeded")
        stamp = self.org.stamp(call.version)
        job = self.org.add(QueryJob(stamp, operation, prepared, fmt, self.org.files(stamp.id)))
        job.queue(self.org)
        return Reply(200, self.summary(job))

    def abort(self, call: Call) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        body = json_object(call.raw)
        if isinstance(body, Reply):
            return body
        if body.get("state") != "Aborted":
            # UNVERIFIED wording: a query job can only be aborted.
            return api_error(
                400, "INVALIDJOBSTATE", f"Changing the job state to {body.get('state')} is not allowed"
            )
        try:
            job.abort()
        except JobRejected as exc:
            return rejected(exc)
        return Reply(200, self.summary(job))

    def results(self, call: Call) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        locator, max_records = call.query.get("locator") or "", call.query.get("maxRecords")
        start = decode_locator(locator) if locator and locator != "null" else 0
        if start is None:
            return api_error(400, "INVALIDLOCATOR", "Invalid locator")  # UNVERIFIED code and wording
        if max_records is not None and (not max_records.isdigit() or int(max_records) < 1):
            # UNVERIFIED code and wording.
            return api_error(400, "INVALIDPARAMETER", f"maxRecords must be a positive integer: {max_records}")
        try:
            content, next_start, count = job.page(start, int(max_records) if max_records else None)
        except JobRejected as exc:
            return rejected(exc)
        headers = {
            "Sforce-Locator": "null" if next_start is None else encode_locator(next_start),
            "Sforce-NumberOfRecords": str(count),
        }
        return Reply(200, content=content, media_type="text/csv", headers=headers)

    # --- shapes -------------------------------------------------------------------------------

    def summary(self, job: QueryJob, version: str | None = None, typed: bool = False) -> dict[str, Any]:
        """What create and abort answer; with ``typed``, as job info and the job lists show it."""
        out = {
            **common_info(job),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": job.stamp.api_version,
        }
        if typed:
            out["jobType"] = QueryJob.job_type
        return {**out, "lineEnding": job.fmt.line_ending_name, "columnDelimiter": job.fmt.delimiter_name}

    def info(self, job: QueryJob) -> dict[str, Any]:
        return {**self.summary(job, typed=True), **self.counts(job), "isPkChunkingSupported": True}
