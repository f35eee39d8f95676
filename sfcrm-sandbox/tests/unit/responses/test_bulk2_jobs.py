"""Bulk API 2.0 job lists: 1,000 jobs a page, ``nextRecordsUrl`` with a locator, filters."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.bulk_classic import ClassicJob
from sfcrm_sandbox.models.bulk_csv import CsvFormat
from sfcrm_sandbox.models.bulk_ingest import IngestJob
from sfcrm_sandbox.models.bulk_rows import Target
from sfcrm_sandbox.responses.bulk2_ingest import IngestResponses
from sfcrm_sandbox.responses.bulk2_jobs import LIST_PAGE, decode_locator, encode_locator
from sfcrm_sandbox.responses.call import Call
from tests.unit.models._bulk import bulk_org


@pytest.fixture
def org(tmp_path):
    yield from bulk_org(tmp_path)


def add_jobs(org, count):
    for _ in range(count):
        stamp = org.stamp("62.0")
        org.add(IngestJob(stamp, Target("Contact", "insert"), None, CsvFormat(), org.files(stamp.id)))


def listing(responses, **query):
    reply = responses.list_jobs(Call("GET", query=query, version="62.0"))
    assert reply.status == 200
    return reply.body


def test_lists_page_1000_jobs_with_a_next_records_url(org):
    add_jobs(org, LIST_PAGE + 1)
    responses = IngestResponses(org)
    first = listing(responses)
    assert (first["done"], len(first["records"])) == (False, LIST_PAGE)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/jobs/ingest?queryLocator=")
    locator = first["nextRecordsUrl"].split("queryLocator=")[1]
    last = listing(responses, queryLocator=locator)
    assert (last["done"], last["nextRecordsUrl"], len(last["records"])) == (True, None, 1)
    ids = [r["id"] for r in first["records"] + last["records"]]
    assert len(set(ids)) == LIST_PAGE + 1


def test_filters_and_bulk_1_jobs(org):
    add_jobs(org, 2)
    stamp = org.stamp("59.0")
    org.add(
        ClassicJob(
            stamp,
            "insert",
            "Contact",
            Target("Contact", "insert"),
            "JSON",
            True,
            None,
            None,
            org.files(stamp.id),
        )
    )
    responses = IngestResponses(org)
    assert {r["jobType"] for r in listing(responses)["records"]} == {"V2Ingest", "Classic"}
    assert [r["id"] for r in listing(responses, jobType="Classic")["records"]] == [stamp.id]
    assert [r["jobType"] for r in listing(responses, concurrencyMode="serial")["records"]] == ["Classic"]
    assert listing(responses, isPkChunkingEnabled="true")["records"] == []
    refused = responses.list_jobs(Call("GET", query={"queryLocator": "!!"}, version="62.0"))
    assert refused.status == 400


def test_locators_round_trip():
    assert [decode_locator(encode_locator(n)) for n in (0, 7, 123_456)] == [0, 7, 123_456]
    assert decode_locator("not base64!") is None
