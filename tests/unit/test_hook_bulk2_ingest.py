"""Bulk2IngestJobs: what it sends, the single upload, and a close whose first answer was lost."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmApiError
from airflow_provider_sfcrm.hooks._bulk2_ingest import MAX_UPLOAD_BYTES, Bulk2IngestJobs


class _Response:
    def __init__(self, status: int, body=None, content: bytes = b""):
        self.status_code, self._body, self.content, self.headers = status, body, content, {}

    def json(self):
        return self._body


class _Transport:
    def __init__(self, *answers: _Response):
        self.answers, self.sent = list(answers), []

    def request(self, method, path, *, label, **kwargs):
        self.sent.append((method, path, kwargs))
        return self.answers.pop(0)


def test_create_names_the_object_operation_and_upsert_key():
    transport = _Transport(_Response(200, {"id": "750x", "state": "Open"}))
    assert (
        Bulk2IngestJobs(transport).create("Contact", "upsert", external_id_field="Ext_Id__c")["id"] == "750x"
    )
    method, path, kwargs = transport.sent[0]
    assert (method, path) == ("POST", "jobs/ingest")
    assert kwargs["json"] == {
        "object": "Contact",
        "operation": "upsert",
        "externalIdFieldName": "Ext_Id__c",
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    with pytest.raises(ValueError, match="external_id_field"):
        Bulk2IngestJobs(transport).create("Contact", "upsert")
    with pytest.raises(ValueError, match="operation must be one of insert, update, upsert"):
        Bulk2IngestJobs(transport).create("Contact", "hardDelete")


def test_the_upload_is_csv_never_resent_and_within_the_limit():
    transport = _Transport(_Response(201))
    Bulk2IngestJobs(transport).upload("750x", b"Id\n003a\n")
    method, path, kwargs = transport.sent[0]
    assert (method, path) == ("PUT", "jobs/ingest/750x/batches")
    assert kwargs["data"] == b"Id\n003a\n" and kwargs["headers"] == {"Content-Type": "text/csv"}
    assert kwargs["idempotent"] is False  # a second upload would make the job impossible to close
    with pytest.raises(ValueError, match="exceed one upload"):
        Bulk2IngestJobs(transport).upload("750x", b"x" * (MAX_UPLOAD_BYTES + 1))


def test_a_close_that_finds_the_job_already_queued_succeeds():
    refused = _Response(400, [{"errorCode": "INVALIDJOBSTATE", "message": "Job 750x is not Open"}])
    transport = _Transport(refused, _Response(200, {"id": "750x", "state": "InProgress"}))
    assert Bulk2IngestJobs(transport).close("750x")["state"] == "InProgress"
    assert [(m, p) for m, p, _ in transport.sent] == [
        ("PATCH", "jobs/ingest/750x"),
        ("GET", "jobs/ingest/750x"),
    ]

    transport = _Transport(refused, _Response(200, {"id": "750x", "state": "Open"}))
    with pytest.raises(SfCrmApiError, match="INVALIDJOBSTATE"):
        Bulk2IngestJobs(transport).close("750x")


def test_results_are_read_as_csv():
    transport = _Transport(_Response(200, content=b'"sf__Id","sf__Error",Id\n'))
    assert Bulk2IngestJobs(transport).results("750x", "failedResults") == b'"sf__Id","sf__Error",Id\n'
    assert transport.sent[0][1] == "jobs/ingest/750x/failedResults"
    with pytest.raises(ValueError, match="kind must be one of"):
        Bulk2IngestJobs(transport).results("750x", "everything")
