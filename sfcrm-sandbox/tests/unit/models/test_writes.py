"""The sandbox's write path on its own (no server): indexed writes, persistence, per-record rules."""

from __future__ import annotations

import sqlite3

import pytest

from sfcrm_sandbox.models.custom_fields import custom_field_spec
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.writes import Writer
from tests.unit.models._org import grant


@pytest.fixture
def store(tmp_path):
    org = OrgStore(tmp_path / "org.sqlite3", "user@example.com")
    yield org
    org.close()


def contacts(count, **fields):
    return [{"attributes": {"type": "Contact"}, "LastName": f"L{i}", **fields} for i in range(count)]


def test_writes_never_scan_tables(store):
    writer = Writer(store)
    store.add_custom_field(
        "Contact", custom_field_spec("Key__c", {"type": "Text", "length": 20, "externalId": True})
    )
    store.add_custom_field("Contact", custom_field_spec("Mail__c", {"type": "Email", "unique": True}))
    grant(store, writer, "Contact", "Key__c")
    grant(store, writer, "Contact", "Mail__c")
    results, _ = writer.save(contacts(300), mode="insert")
    ids = [r["id"] for r in results]

    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    writer.save(
        [{"attributes": {"type": "Contact"}, "Id": i, "Title": "t"} for i in ids[:200]], mode="update"
    )
    upserts = [
        {"attributes": {"type": "Contact"}, "Key__c": f"k{i}", "LastName": "u", "Mail__c": f"m{i}@x.io"}
        for i in range(200)
    ]
    ext = store.custom_field("Contact", "Key__c")
    writer.save(upserts, mode="upsert", sobject="Contact", external_id_field=ext)
    writer.save(upserts, mode="upsert", sobject="Contact", external_id_field=ext)
    writer.delete(ids[200:])
    store.db.set_trace_callback(None)

    plans = []
    for sql in {s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))}:
        plans += [row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql)]
    scans = [p for p in plans if p.startswith("SCAN") and "INDEX" not in p]
    assert plans and scans == []


def test_ids_are_18_characters_with_checksums_and_survive_restart(tmp_path):
    first = OrgStore(tmp_path / "org.sqlite3", "user@example.com")
    results, written = Writer(first).save(contacts(3), mode="insert")
    assert written == 3
    ids = [r["id"] for r in results]
    assert all(canonical_id(i) == i and i.startswith("003") for i in ids)
    org_id = first.org_id
    first.close()
    again = OrgStore(tmp_path / "org.sqlite3", "renamed@example.com")
    assert again.org_id == org_id and again.counts["Contact"] == 3
    (result,), _ = Writer(again).save(contacts(1), mode="insert")
    assert result["id"] not in ids
    assert again.get(again.user_id)[2]["Username"] == "renamed@example.com"
    again.close()


def test_record_lock_draw_applies_per_record(store):
    draws = iter([False, True, False])
    results, written = Writer(store, lambda: next(draws)).save(contacts(3), mode="insert")
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert written == 2 and store.counts["Contact"] == 2


def test_failed_transaction_leaves_nothing_behind(store, monkeypatch):
    writer = Writer(store)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "save_counters", broken)
    with pytest.raises(sqlite3.OperationalError):
        writer.save(contacts(2), mode="insert")
    assert store.db.execute("SELECT COUNT(*) FROM record WHERE sobject = 'Contact'").fetchone()[0] == 0
    assert store.counts["Contact"] == 0
