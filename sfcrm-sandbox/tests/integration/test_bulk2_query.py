"""Bulk API 2.0 query over HTTPS with raw ``requests``: create, state, paged CSV results, abort, delete."""

from __future__ import annotations

import pytest

from tests.integration._bulk import ingest, poll, rows
from tests.integration._clients import api, authed, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def session(sandbox):
    return authed(sandbox)


@pytest.fixture(scope="module")
def family(sandbox, session):
    """Five contacts sharing a unique last name; one deleted."""
    name = unique("Q")
    info = ingest(session, sandbox, "LastName,FirstName\n" + "".join(f"{name},F{i}\n" for i in range(5)))
    ids = [
        row[0]
        for row in rows(session.get(api(sandbox, f"/jobs/ingest/{info['id']}/successfulResults")).text)[1:]
    ]
    ingest(session, sandbox, f"Id\n{ids[4]}\n", operation="delete")
    return name, ids


def query_job(session, org, soql, **job):
    created = session.post(api(org, "/jobs/query"), json={"operation": "query", "query": soql, **job})
    assert created.status_code == 200, created.text
    return poll(session, org, "query", created.json()["id"])


def test_create_answers_job_info_and_runs_to_complete(sandbox, session, family):
    name, _ = family
    created = session.post(
        api(sandbox, "/jobs/query"),
        json={"operation": "query", "query": f"SELECT Id FROM Contact WHERE LastName = '{name}'"},
    )
    job = created.json()
    assert created.status_code == 200 and job["id"].startswith("750")
    assert (job["operation"], job["object"], job["state"], job["contentType"]) == (
        "query",
        "Contact",
        "UploadComplete",
        "CSV",
    )
    info = poll(session, sandbox, "query", job["id"])
    assert (info["state"], info["jobType"], info["numberRecordsProcessed"]) == ("JobComplete", "V2Query", 4)
    assert {"retries", "totalProcessingTime", "isPkChunkingSupported"} <= set(info)


def test_results_come_in_pages_named_by_sforce_locator(sandbox, session, family):
    name, _ = family
    info = query_job(
        session, sandbox, f"SELECT FirstName, Email FROM Contact WHERE LastName = '{name}' ORDER BY FirstName"
    )
    pages, locator = [], None
    while locator != "null" and len(pages) < 5:
        params = {"maxRecords": 3, **({"locator": locator} if locator else {})}
        page = session.get(api(sandbox, f"/jobs/query/{info['id']}/results"), params=params)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/csv")
        pages.append((int(page.headers["Sforce-NumberOfRecords"]), page.text))
        locator = page.headers["Sforce-Locator"]
    assert [count for count, _ in pages] == [3, 1]
    assert pages[0][1] == '"FirstName","Email"\n"F0",""\n"F1",""\n"F2",""\n'
    assert rows(pages[1][1]) == [["FirstName", "Email"], ["F3", ""]]
    whole = session.get(api(sandbox, f"/jobs/query/{info['id']}/results"))
    assert whole.headers["Sforce-Locator"] == "null" and whole.headers["Sforce-NumberOfRecords"] == "4"


def test_query_all_includes_deleted_records_and_delimiters_apply(sandbox, session, family):
    name, ids = family
    info = query_job(
        session,
        sandbox,
        f"SELECT Id, IsDeleted FROM Contact WHERE LastName = '{name}'",
        operation="queryAll",
        columnDelimiter="SEMICOLON",
        lineEnding="CRLF",
    )
    text = session.get(api(sandbox, f"/jobs/query/{info['id']}/results")).text
    assert text.startswith('"Id";"IsDeleted"\r\n')
    assert sorted(rows(text.replace("\r\n", "\n"), ";")[1:]) == sorted(
        [[i, "true" if i == ids[4] else "false"] for i in ids]
    )


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT COUNT() FROM Contact", "MALFORMED_QUERY"),
    ],
)
def test_bad_queries_are_refused_at_create_with_rest_codes(sandbox, session, soql, code):
    response = session.post(api(sandbox, "/jobs/query"), json={"operation": "query", "query": soql})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == code


@pytest.mark.parametrize(
    ("params", "code"), [({"locator": "!!"}, "INVALIDLOCATOR"), ({"maxRecords": "0"}, "INVALIDPARAMETER")]
)
def test_bad_result_parameters(sandbox, session, family, params, code):
    info = query_job(session, sandbox, "SELECT Id FROM Contact LIMIT 1")
    response = session.get(api(sandbox, f"/jobs/query/{info['id']}/results"), params=params)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == code


def test_abort_delete_and_versions(sandbox, session):
    info = query_job(session, sandbox, "SELECT Id FROM Contact LIMIT 1")
    refused = session.patch(api(sandbox, f"/jobs/query/{info['id']}"), json={"state": "Aborted"})
    assert (
        refused.status_code == 400
        and refused.json()[0]["message"] == "Aborting already Completed Job not allowed"
    )
    assert session.delete(api(sandbox, f"/jobs/query/{info['id']}")).status_code == 204
    assert session.get(api(sandbox, f"/jobs/query/{info['id']}")).status_code == 404
    # An ingest job is not a query job.
    job = session.post(api(sandbox, "/jobs/ingest"), json={"object": "Contact", "operation": "insert"}).json()
    assert session.get(api(sandbox, f"/jobs/query/{job['id']}")).status_code == 404
    assert session.post(f"{sandbox.base_url}/services/data/v46.0/jobs/query", json={}).status_code == 404


def test_a_queued_job_can_be_aborted_and_has_no_results(sandbox_factory):
    slow = sandbox_factory(bulk_job_latency_ms=60_000)
    session = authed(slow)
    job = session.post(
        api(slow, "/jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Contact"}
    ).json()
    early = session.get(api(slow, f"/jobs/query/{job['id']}/results"))
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    aborted = session.patch(api(slow, f"/jobs/query/{job['id']}"), json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    listed = session.get(api(slow, "/jobs/query"), params={"jobType": "V2Query"}).json()["records"]
    assert [(j["id"], j["state"]) for j in listed] == [(job["id"], "Aborted")]
