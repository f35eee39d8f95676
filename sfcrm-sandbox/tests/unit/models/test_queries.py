"""SOQL against the org's records: parent paths through the store, compound fields, the org's clock."""

from __future__ import annotations

import datetime as dt

import pytest

from sfcrm_sandbox.models.clock import Clock
from sfcrm_sandbox.models.queries import object_query
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.writes import Writer


@pytest.fixture
def store(tmp_path):
    org = OrgStore(
        tmp_path / "org.sqlite3",
        "user@example.com",
        Clock(dt.datetime(2024, 1, 31, 10, tzinfo=dt.timezone.utc)),
    )
    yield org
    org.close()


def insert(writer, sobject, **fields):
    (result,), _ = writer.save([{"attributes": {"type": sobject}, **fields}], mode="insert")
    assert result["success"], result
    return result["id"]


def run(store, soql, *, include_deleted=False):
    prepared = object_query(store, soql)
    return [prepared.nested(row, None) for row in prepared.run(store, include_deleted=include_deleted)]


def test_a_parent_in_the_recycle_bin_reads_as_no_parent(store):
    writer = Writer(store)
    account = insert(writer, "Account", Name="Acme", BillingCity="Paris")
    insert(writer, "Contact", LastName="Lovelace", AccountId=account)
    (row,) = run(store, "SELECT LastName, Account.Name, Account.BillingAddress FROM Contact")
    assert row["Account"]["Name"] == "Acme"
    assert row["Account"]["BillingAddress"]["city"] == "Paris"  # a parent's compound field too
    writer.delete([account])
    (row,) = run(store, "SELECT LastName, Account.Name FROM Contact")
    assert (row["LastName"], row["Account"]) == ("Lovelace", None)


def test_relative_dates_count_from_the_orgs_clock(store):
    writer = Writer(store)
    insert(writer, "Contact", LastName="Today")
    assert [r["LastName"] for r in run(store, "SELECT LastName FROM Contact WHERE CreatedDate = TODAY")] == [
        "Today"
    ]
    store.clock.advance(2 * 86_400)
    assert run(store, "SELECT LastName FROM Contact WHERE CreatedDate = TODAY") == []
