"""The settable clock over HTTPS: writes stamp CreatedDate, LastModifiedDate and SystemModstamp from it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration._clients import http, unique


def stamps(sf, record_id, sobject="Contact"):
    return sf.query_all(
        f"SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM {sobject} WHERE Id = '{record_id}'",
        include_deleted=True,
    )["records"][0]


@pytest.fixture
def frozen(sandbox):
    yield sandbox
    sandbox.reset_clock()


def test_writes_are_stamped_by_the_orgs_clock(frozen, sf):
    state = frozen.set_clock("2024-01-31T10:00:00Z", frozen=True)
    assert state == {"now": "2024-01-31T10:00:00.000Z", "frozen": True}
    record_id = sf.Contact.create({"LastName": unique()})["id"]
    created = "2024-01-31T10:00:00.000+0000"
    assert {k: v for k, v in stamps(sf, record_id).items() if k != "attributes"} == {
        "CreatedDate": created,
        "LastModifiedDate": created,
        "SystemModstamp": created,
    }
    frozen.set_clock(advance_s=3600)
    sf.Contact.update(record_id, {"Title": "updated"})
    updated = stamps(sf, record_id)
    assert (updated["CreatedDate"], updated["SystemModstamp"]) == (created, "2024-01-31T11:00:00.000+0000")
    assert updated["LastModifiedDate"] == updated["SystemModstamp"]
    frozen.set_clock("2024-01-31T10:30:00Z")  # backwards, as a transaction that commits late
    sf.Contact.delete(record_id)
    deleted = stamps(sf, record_id)
    assert deleted["SystemModstamp"] == "2024-01-31T10:30:00.000+0000"
    # SOQL filters on the stamps as Salesforce does: half-open windows are exact to the second.
    window = (
        f"SELECT Id FROM Contact WHERE Id = '{record_id}' AND SystemModstamp >= 2024-01-31T10:30:00Z "
        "AND SystemModstamp < 2024-01-31T10:30:01Z"
    )
    assert sf.query_all(window, include_deleted=True)["totalSize"] == 1
    assert sf.query(window)["totalSize"] == 0  # query leaves deleted records out, queryAll keeps them


def test_the_clock_endpoint_reports_resets_and_refuses(frozen):
    frozen.set_clock("2024-01-31T10:00:00Z", frozen=True)
    assert frozen.reset_clock()["frozen"] is False
    assert frozen.clock()["now"] > "2025"
    session = http(frozen)
    response = session.post(f"{frozen.base_url}/__sandbox/clock", json={"now": "soon"})
    assert response.status_code == 400 and "ISO 8601" in response.json()["message"]
    response = session.post(f"{frozen.base_url}/__sandbox/clock", data=b"not json")
    assert response.status_code == 400


def test_the_clock_can_start_frozen_from_the_command_line(sandbox_factory):
    org = sandbox_factory(clock="2030-06-01T00:00:00Z", frozen_clock=True)
    assert org.clock() == {"now": "2030-06-01T00:00:00.000Z", "frozen": True}


def test_get_updated_and_deleted_count_from_the_orgs_clock(frozen, sf):
    frozen.set_clock("2024-02-01T10:00:00Z", frozen=True)
    kept = sf.Contact.create({"LastName": unique()})["id"]
    record_id = sf.Contact.create({"LastName": unique()})["id"]
    frozen.set_clock("2024-02-01T10:05:00Z")
    sf.Contact.delete(record_id)
    frozen.set_clock("2024-02-01T11:00:00Z")
    # The window ends in the org's future: what is covered ends at the org's now.
    start, end = (
        dt.datetime(2024, 2, 1, 9, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 2, 1, 12, tzinfo=dt.timezone.utc),
    )
    updated = sf.Contact.updated(start, end)
    assert kept in updated["ids"] and updated["latestDateCovered"] == "2024-02-01T11:00:00.000+0000"
    deleted = sf.Contact.deleted(start, end)
    assert {"id": record_id, "deletedDate": "2024-02-01T10:05:00.000+0000"} in deleted["deletedRecords"]
