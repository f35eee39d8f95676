"""Bulk API 2.0 ingest: ``jobs/ingest`` (API 41.0 and later; ``docs/salesforce-facts.md``, "Bulk API 2.0").

Create a job (JSON, or multipart with its CSV, which also completes the upload), upload its CSV
(``PUT .../batches``, 201), close it (``PATCH {"state": "UploadComplete"}``) or abort it, read its
info and its successful, failed and unprocessed records (``unprocessedrecords``, also spelled
``unprocessedRecords`` as simple-salesforce asks), delete it, list jobs.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from sfcrm_sandbox.models.bulk_ingest import RESULT_KINDS, IngestJob
from sfcrm_sandbox.models.bulk_jobs import OPEN, BulkOrg, JobRejected
from sfcrm_sandbox.models.bulk_rows import INGEST_OPERATIONS, Target
from sfcrm_sandbox.responses.bulk2_jobs import Bulk2Jobs, common_info, csv_format, json_object, rejected
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found

#: The most CSV a multipart create may carry (Salesforce: "under 100,000 characters").
MULTIPART_MAX_CHARS = 100_000


def _multipart(call: Call) -> tuple[bytes, bytes] | Reply:
    """The ``job`` and ``content`` parts of a multipart create."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + call.headers.get("content-type", "").encode() + b"\r\n\r\n" + call.raw
    )
    parts = {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True) or b""
        for part in message.iter_parts()
    }
    if "job" not in parts or "content" not in parts:
        # UNVERIFIED wording: the parts are documented as "job" and "content".
        return api_error(400, "INVALIDJOB", "A multipart create needs a 'job' part and a 'content' part")
    if len(parts["content"].decode("utf-8", "replace")) > MULTIPART_MAX_CHARS:
        return api_error(  # UNVERIFIED code and wording; the limit is documented
            400, "INVALIDBATCH", f"Multipart content exceeds {MULTIPART_MAX_CHARS} characters"
        )
    return parts["job"], parts["content"]


class IngestResponses(Bulk2Jobs):
    """``jobs/ingest`` and everything below it.

    :param org: the org's Bulk service.
    """

    def __init__(self, org: BulkOrg) -> None:
        super().__init__(org, IngestJob, "ingest", since=41)

    def create_job(self, call: Call) -> Reply:
        if not self.available(call):
            return not_found()
        job_part, content = call.raw, None
        if call.headers.get("content-type", "").lower().startswith("multipart/"):
            parts = _multipart(call)
            if isinstance(parts, Reply):
                return parts
            job_part, content = parts
        body = json_object(job_part)
        if isinstance(body, Reply):
            return body
        job = self._new_job(call, body)
        if isinstance(job, Reply):
            return job
        if content is not None:
            try:
                job.upload(content, self.org.settings.upload_limit_mb)
                job.upload_complete(self.org)
            except JobRejected as exc:
                return rejected(exc)
        self.org.add(job)
        return Reply(200, self.summary(job, call.version))

    def _new_job(self, call: Call, body: dict[str, Any]) -> IngestJob | Reply:
        operation, name = body.get("operation"), body.get("object")
        if operation not in INGEST_OPERATIONS:
            return api_error(400, "INVALIDJOB", f"Invalid operation: {operation}")  # UNVERIFIED wording
        spec = self.org.store.object_spec(name) if isinstance(name, str) else None
        if spec is None:
            return api_error(400, "INVALIDJOB", f"Unable to find object: {name}")  # UNVERIFIED wording
        fmt = csv_format(body)
        if isinstance(fmt, Reply):
            return fmt
        key_name = body.get("externalIdFieldName") if operation == "upsert" else None
        key = None
        if operation == "upsert":
            if not key_name:
                return api_error(400, "INVALIDJOB", "External ID field is required for upsert")  # UNVERIFIED
            entry = self.org.store.visible_fields(spec.name).get(str(key_name).lower())
            if entry is None or not (entry[0].external_id or entry[0].name == "Id"):
                return api_error(  # REST's wording for the same mistake; UNVERIFIED for Bulk
                    400,
                    "INVALIDJOB",
                    f"Field name provided, {key_name} is not an External ID or indexed field for {spec.name}",
                )
            key = None if entry[0].name == "Id" else entry[0]
        rule = body.get("assignmentRuleId") or None
        stamp = self.org.stamp(call.version)
        return IngestJob(
            stamp,
            Target(spec.name, operation, key, assign=rule is not None),
            key_name,
            fmt,
            self.org.files(stamp.id),
            assignment_rule_id=rule,
        )

    def upload(self, call: Call) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        try:
            job.upload(call.raw, self.org.settings.upload_limit_mb)
        except JobRejected as exc:
            return rejected(exc)
        return Reply(201)

    def change_state(self, call: Call) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        body = json_object(call.raw)
        if isinstance(body, Reply):
            return body
        state = body.get("state")
        try:
            if state == "UploadComplete":
                job.upload_complete(self.org)
            elif state == "Aborted":
                job.abort()
            else:
                # UNVERIFIED wording.
                return api_error(400, "INVALIDJOBSTATE", f"Changing the job state to {state} is not allowed")
        except JobRejected as exc:
            return rejected(exc)
        return Reply(200, self.summary(job, call.version))

    def results(self, call: Call, kind: str) -> Reply:
        job = self._job(call)
        if job is None:
            return not_found()
        return Reply(200, content=job.results(kind), media_type="text/csv")

    def successful_results(self, call: Call) -> Reply:
        return self.results(call, RESULT_KINDS[0])

    def failed_results(self, call: Call) -> Reply:
        return self.results(call, RESULT_KINDS[1])

    def unprocessed_records(self, call: Call) -> Reply:
        return self.results(call, RESULT_KINDS[2])

    # --- shapes -------------------------------------------------------------------------------

    def summary(self, job: IngestJob, version: str | None = None, typed: bool = False) -> dict[str, Any]:
        """What create, close and abort answer; with ``typed``, as job info and the job lists show it."""
        out = common_info(job)
        if job.external_id_field_name and job.operation == "upsert":
            out["externalIdFieldName"] = job.external_id_field_name
        if job.assignment_rule_id:
            out["assignmentRuleId"] = job.assignment_rule_id
        out.update(
            {
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": job.stamp.api_version,
            }
        )
        if typed:
            out["jobType"] = IngestJob.job_type
        if job.state == OPEN:
            version = version or f"{job.stamp.api_version:.1f}"
            out["contentUrl"] = f"services/data/v{version}/jobs/ingest/{job.id}/batches"
        out.update({"lineEnding": job.fmt.line_ending_name, "columnDelimiter": job.fmt.delimiter_name})
        return out

    def info(self, job: IngestJob) -> dict[str, Any]:
        return {**self.summary(job, typed=True), **self.counts(job, failed=job.failed)}
