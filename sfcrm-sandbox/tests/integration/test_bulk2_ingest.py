"""Bulk API 2.0 ingest over HTTPS with raw ``requests``: shapes, the state machine, results, errors."""

from __future__ import annotations

import pytest

from tests.integration._bulk import ingest, poll, results, rows
from tests.integration._clients import api, authed, create_custom_field, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def session(sandbox):
    return authed(sandbox)


def test_create_answers_the_job_info_salesforce_documents(sandbox, session):
    response = session.post(
        api(sandbox, "/jobs/ingest"),
        json={"object": "contact", "operation": "insert", "lineEnding": "CRLF", "columnDelimiter": "TAB"},
    )
    assert response.status_code == 200
    job = response.json()
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert {k: job[k] for k in ("operation", "object", "state", "concurrencyMode", "contentType")} == {
        "operation": "insert",
        "object": "Contact",
        "state": "Open",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
    }
    assert (job["apiVersion"], job["lineEnding"], job["columnDelimiter"]) == (62.0, "CRLF", "TAB")
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    assert job["createdById"].startswith("005") and job["createdDate"].endswith(".000+0000")
    assert "Sforce-Limit-Info" in response.headers


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"object": "Contact", "operation": "merge"}, "INVALIDJOB"),
        ({"object": "Nope", "operation": "insert"}, "INVALIDJOB"),
        ({"object": "Contact", "operation": "insert", "columnDelimiter": "SPACE"}, "INVALIDJOB"),
        ({"object": "Contact", "operation": "insert", "lineEnding": "CR"}, "INVALIDJOB"),
        ({"object": "Contact", "operation": "insert", "contentType": "JSON"}, "INVALIDJOB"),
        ({"object": "Contact", "operation": "upsert"}, "INVALIDJOB"),
        ({"object": "Contact", "operation": "upsert", "externalIdFieldName": "LastName"}, "INVALIDJOB"),
    ],
)
def test_bad_jobs_are_refused_with_a_json_error_array(sandbox, session, body, code):
    response = session.post(api(sandbox, "/jobs/ingest"), json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code and response.json()[0]["message"]


def test_bulk_2_ingest_exists_from_api_41(sandbox, session):
    old = session.post(f"{sandbox.base_url}/services/data/v40.0/jobs/ingest", json={})
    assert old.status_code == 404 and old.json()[0]["errorCode"] == "NOT_FOUND"
    assert session.get(api(sandbox, "/jobs/ingest/750000000000000AAA")).status_code == 404


def test_a_job_runs_to_complete_with_counts_and_results(sandbox, session):
    info = ingest(session, sandbox, "LastName,Email\nAda,ada@x.io\nBob,not-an-address\n")
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"], info["retries"]) == (2, 1, 0)
    assert {"totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime"} <= set(info)
    success = results(session, sandbox, info["id"], "successfulResults")
    failed = results(session, sandbox, info["id"], "failedResults")
    assert success[0] == ["sf__Id", "sf__Created", "LastName", "Email"] and success[1][1:] == [
        "true",
        "Ada",
        "ada@x.io",
    ]
    assert failed[1] == [
        "",
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-address:Email --",
        "Bob",
        "not-an-address",
    ]
    for spelling in ("unprocessedrecords", "unprocessedRecords"):
        assert results(session, sandbox, info["id"], spelling) == [["LastName", "Email"]]
    found = session.get(
        api(sandbox, "/query"), params={"q": f"SELECT Email FROM Contact WHERE Id = '{success[1][0]}'"}
    )
    assert found.json()["records"][0]["Email"] == "ada@x.io"


def test_per_record_errors_are_the_rest_apis(sandbox, session):
    """The same bad rows through sObject Collections and through a Bulk job fail alike."""
    records = [{"LastName": "x" * 81}, {"FirstName": "NoLast"}, {"LastName": "A", "Birthdate": "yesterday"}]
    rest = session.post(
        api(sandbox, "/composite/sobjects"),
        json={"records": [{"attributes": {"type": "Contact"}, **r} for r in records]},
    ).json()
    info = ingest(
        session, sandbox, "LastName,FirstName,Birthdate\n" + "x" * 81 + ",,\n,NoLast,\nA,,yesterday\n"
    )
    failed = results(session, sandbox, info["id"], "failedResults")[1:]
    bulk_codes = [row[1].split(":")[0] for row in failed]
    assert bulk_codes == [r["errors"][0]["statusCode"] for r in rest]
    assert bulk_codes == ["STRING_TOO_LONG", "REQUIRED_FIELD_MISSING", "INVALID_TYPE_ON_FIELD_IN_RECORD"]


@pytest.mark.parametrize(
    ("delimiter", "char"),
    [("COMMA", ","), ("TAB", "\t"), ("PIPE", "|"), ("SEMICOLON", ";"), ("CARET", "^"), ("BACKQUOTE", "`")],
)
@pytest.mark.parametrize(("line_ending", "end"), [("LF", "\n"), ("CRLF", "\r\n")])
def test_every_delimiter_and_line_ending(sandbox, session, delimiter, char, line_ending, end):
    name = unique("D")
    data = f'LastName{char}Description{end}{name}{char}"two{char}parts"{end}'
    info = ingest(session, sandbox, data, columnDelimiter=delimiter, lineEnding=line_ending)
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0)
    text = session.get(api(sandbox, f"/jobs/ingest/{info['id']}/successfulResults")).text
    assert text.endswith(f'"{name}"{char}"two{char}parts"{end}')
    query = session.get(
        api(sandbox, "/query"), params={"q": f"SELECT Description FROM Contact WHERE LastName = '{name}'"}
    )
    assert query.json()["records"][0]["Description"] == f"two{char}parts"


def test_data_with_other_line_endings_fails_the_job(sandbox, session):
    info = ingest(session, sandbox, "LastName\r\nA\r\n")
    assert info["state"] == "Failed" and info["numberRecordsProcessed"] == 0
    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )
    assert (
        session.get(api(sandbox, f"/jobs/ingest/{info['id']}/unprocessedrecords")).text == "LastName\r\nA\r\n"
    )


def test_empty_values_leave_fields_alone_and_na_sets_them_null(sandbox, session):
    made = ingest(session, sandbox, "LastName,Title,Department\nKeep,Boss,Sales\n")
    record_id = results(session, sandbox, made["id"], "successfulResults")[1][0]
    ingest(session, sandbox, f"Id,Title,Department\n{record_id},,#N/A\n", operation="update")
    record = session.get(
        api(sandbox, f"/sobjects/Contact/{record_id}"), params={"fields": "Title,Department"}
    ).json()
    assert (record["Title"], record["Department"]) == ("Boss", None)


def test_update_upsert_delete_and_hard_delete(sandbox, session, sf):
    key = create_custom_field(sf, "Contact", {"type": "Text", "length": 40, "externalId": True, "label": "K"})
    first, second = unique("k"), unique("k")
    made = ingest(
        session, sandbox, f"{key},LastName\n{first},One\n", operation="upsert", externalIdFieldName=key
    )
    again = ingest(
        session,
        sandbox,
        f"{key},LastName\n{first},Uno\n{second},Two\n",
        operation="upsert",
        externalIdFieldName=key,
    )
    assert (made["numberRecordsFailed"], again["numberRecordsFailed"]) == (0, 0)
    created = {row[2]: row[1] for row in results(session, sandbox, again["id"], "successfulResults")[1:]}
    assert created == {first: "false", second: "true"}
    ids = [row[0] for row in results(session, sandbox, again["id"], "successfulResults")[1:]]
    ingest(session, sandbox, f"Id,Title\n{ids[0]},Upd\n", operation="update")
    assert sf.Contact.get(ids[0])["Title"] == "Upd"
    ingest(session, sandbox, f"Id\n{ids[0]}\n", operation="delete")
    ingest(session, sandbox, f"Id\n{ids[1]}\n", operation="hardDelete")
    alive = sf.query_all(
        f"SELECT Id, IsDeleted FROM Contact WHERE {key} IN ('{first}', '{second}')", include_deleted=True
    )
    assert [(r["Id"], r["IsDeleted"]) for r in alive["records"]] == [(ids[0], True)]


def test_assignment_rules_run_only_with_an_assignment_rule_id(sandbox, session, sf):
    router = sf.query("SELECT Id FROM User WHERE Username = 'lead.router@sfcrm-sandbox.local'")["records"][0][
        "Id"
    ]
    owners = []
    for extra in ({}, {"assignmentRuleId": "01Q000000000001AAA"}):
        info = ingest(session, sandbox, f"LastName,Company\n{unique('L')},Acme\n", object="Lead", **extra)
        lead_id = results(session, sandbox, info["id"], "successfulResults")[1][0]
        owners.append(sf.Lead.get(lead_id)["OwnerId"])
    assert owners[0] != router and owners[1] == router


def test_unknown_columns_fail_the_job_untouched(sandbox, session):
    info = ingest(session, sandbox, "LastName,Nope__c\nA,1\n")
    assert (
        info["state"] == "Failed" and info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    )
    assert rows(session.get(api(sandbox, f"/jobs/ingest/{info['id']}/unprocessedrecords")).text) == [
        ["LastName", "Nope__c"],
        ["A", "1"],
    ]


def test_multipart_create_uploads_and_closes_in_one_request(sandbox, session):
    name = unique("M")
    files = {
        "job": (None, '{"object": "Contact", "operation": "insert"}', "application/json"),
        "content": ("content", f"LastName\n{name}\n", "text/csv"),
    }
    response = session.post(api(sandbox, "/jobs/ingest"), files=files)
    assert response.status_code == 200 and response.json()["state"] == "UploadComplete"
    assert "contentUrl" not in response.json()
    assert poll(session, sandbox, "ingest", response.json()["id"])["numberRecordsProcessed"] == 1
    missing = session.post(api(sandbox, "/jobs/ingest"), files={"job": files["job"]})
    assert missing.status_code == 400


def test_state_changes_salesforce_refuses(sandbox, session):
    done = ingest(session, sandbox, "LastName\nA\n")
    aborted = session.patch(api(sandbox, f"/jobs/ingest/{done['id']}"), json={"state": "Aborted"})
    assert aborted.status_code == 400
    assert aborted.json() == [
        {"message": "Aborting already Completed Job not allowed", "errorCode": "INVALIDJOBSTATE"}
    ]
    again = session.put(api(sandbox, f"/jobs/ingest/{done['id']}/batches"), data=b"LastName\nB\n")
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    bad_state = session.patch(api(sandbox, f"/jobs/ingest/{done['id']}"), json={"state": "JobComplete"})
    assert bad_state.status_code == 400


def test_a_second_upload_is_taken_but_the_job_cannot_close(sandbox, session):
    job = session.post(api(sandbox, "/jobs/ingest"), json={"object": "Contact", "operation": "insert"}).json()
    for data in (b"LastName\nA\n", b"LastName\nB\n"):
        assert session.put(api(sandbox, f"/jobs/ingest/{job['id']}/batches"), data=data).status_code == 201
    closed = session.patch(api(sandbox, f"/jobs/ingest/{job['id']}"), json={"state": "UploadComplete"})
    assert (
        closed.status_code == 400
        and "make sure you only do 'PUT' once on a given Job" in closed.json()[0]["message"]
    )
    assert session.get(api(sandbox, f"/jobs/ingest/{job['id']}")).json()["state"] == "Open"


def test_delete_takes_jobs_that_no_longer_take_data(sandbox, session):
    job = session.post(api(sandbox, "/jobs/ingest"), json={"object": "Contact", "operation": "insert"}).json()
    refused = session.delete(api(sandbox, f"/jobs/ingest/{job['id']}"))
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert (
        session.patch(api(sandbox, f"/jobs/ingest/{job['id']}"), json={"state": "Aborted"}).json()["state"]
        == "Aborted"
    )
    deleted = session.delete(api(sandbox, f"/jobs/ingest/{job['id']}"))
    assert deleted.status_code == 204 and deleted.content == b""
    assert session.get(api(sandbox, f"/jobs/ingest/{job['id']}")).status_code == 404


def test_list_shows_ingest_and_bulk_1_jobs_with_their_types(sandbox, session):
    ingest(session, sandbox, "LastName\nA\n")
    listed = session.get(api(sandbox, "/jobs/ingest")).json()
    assert listed["done"] is True and listed["nextRecordsUrl"] is None
    assert {r["jobType"] for r in listed["records"]} >= {"V2Ingest"}
    only_v2 = session.get(api(sandbox, "/jobs/ingest"), params={"jobType": "V2Ingest"}).json()["records"]
    assert only_v2 and all(r["jobType"] == "V2Ingest" for r in only_v2)


def test_the_upload_limit_is_enforced(sandbox_factory):
    small = sandbox_factory(bulk_upload_limit_mb=0.001, bulk_records_per_s=0, bulk_job_latency_ms=0)
    session = authed(small)
    job = session.post(api(small, "/jobs/ingest"), json={"object": "Contact", "operation": "insert"}).json()
    refused = session.put(api(small, f"/jobs/ingest/{job['id']}/batches"), data=b"LastName\n" + b"x\n" * 600)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALIDBATCH"
    assert (
        session.put(api(small, f"/jobs/ingest/{job['id']}/batches"), data=b"LastName\nx\n").status_code == 201
    )
