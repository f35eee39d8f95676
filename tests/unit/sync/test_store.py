"""The state tables on SQLite and PostgreSQL: migrations, scopes, merges, history, pending inserts, marks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.sync.schema import SCHEMA_VERSION, migrations
from airflow_provider_sfcrm.sync.sharding import key_hash
from airflow_provider_sfcrm.sync.store import (
    HistoryRow,
    LockHolder,
    StateRow,
    SyncStateError,
    SyncStateStore,
)

ORG = "00D000000000001AAA"
T1 = datetime(2026, 1, 2, tzinfo=timezone.utc)


@pytest.fixture
def store(sync_state_db):
    with SyncStateStore(sync_state_db.connect()) as opened:
        assert opened.migrate() == SCHEMA_VERSION
        yield opened


def row(key: str, patch: dict, record_id: str | None = None, digest: str | None = "n0") -> StateRow:
    return StateRow(key, key_hash(key), record_id, json.dumps(patch), digest, 0, 0)


def fields(store: SyncStateStore, scope: int, key: str) -> dict:
    [table] = list(store.read_fields(scope, [pa.array([key])]))
    value = table.column("fields")[0].as_py()
    return json.loads(value)


def test_migrating_again_changes_nothing_and_a_newer_schema_is_refused(store, sync_state_db):
    assert store.migrate() == SCHEMA_VERSION
    assert sync_state_db.query("SELECT version FROM sfcrm_sync_schema") == [(SCHEMA_VERSION,)]
    connection = sync_state_db.connect()
    connection.cursor().execute(f"UPDATE sfcrm_sync_schema SET version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(SyncStateError, match="newer airflow-provider-sfcrm"):
        store.migrate()


def test_a_version_1_database_migrates_to_the_lock_table_and_keeps_its_state(sync_state_db):
    connection = sync_state_db.connect()  # a state written by the provider before the sync lock
    cursor = connection.cursor()
    [(version, statements)] = migrations(sync_state_db.kind, 0)[:1]
    assert version == 1
    for statement in ["CREATE TABLE sfcrm_sync_schema (version INTEGER NOT NULL)", *statements]:
        cursor.execute(statement)
    cursor.execute("INSERT INTO sfcrm_sync_schema (version) VALUES (1)")
    connection.commit()
    with SyncStateStore(connection) as old:
        scope = old.scope(ORG, "Contact", "Id")
        old.apply(scope, [row("k1", {"Email": ["d", 1]}, "003000000000001AAA")], run_id="r1")

    with SyncStateStore(sync_state_db.connect()) as store:
        assert store.migrate() == SCHEMA_VERSION == 2
        assert store.claim_lock(scope, LockHolder("dag", "run", "task"), -1) is None
        assert fields(store, scope, "k1") == {"Email": ["d", 1]}
    assert sync_state_db.query("SELECT version FROM sfcrm_sync_schema") == [(2,)]
    assert sync_state_db.query("SELECT dag_id, run_id, task_id, map_index FROM sfcrm_sync_locks") == [
        ("dag", "run", "task", -1)
    ]


def test_a_scope_is_one_org_object_and_identity_field(store):
    first = store.scope(ORG, "Contact", "Id")
    assert store.scope(ORG, "Contact", "Id") == first
    assert (
        len({first, store.scope("00D000000000002AAA", "Contact", "Id"), store.scope(ORG, "Lead", "Id")}) == 3
    )


def test_confirmed_writes_merge_field_by_field_and_append_the_history(store, sync_state_db):
    scope = store.scope(ORG, "Contact", "Id")
    store.apply(
        scope,
        [row("k1", {"Email": ["d1", 1], "aud__c": ["realized", 1]}, "003000000000001AAA")],
        [HistoryRow("k1", "003000000000001AAA", "aud__c", "realized", T1)],
        run_id="r1",
    )
    store.apply(
        scope,
        [row("k1", {"aud__c": ["existing", 2]})],  # no record id this time: the known one is kept
        [HistoryRow("k1", "003000000000001AAA", "aud__c", "existing", T1 + timedelta(days=1))],
        run_id="r2",
    )

    assert fields(store, scope, "k1") == {"Email": ["d1", 1], "aud__c": ["existing", 2]}
    assert sync_state_db.query("SELECT record_id, run_id FROM sfcrm_sync_state") == [
        ("003000000000001AAA", "r2")
    ]
    history = sync_state_db.query("SELECT status, run_id FROM sfcrm_sync_history ORDER BY as_of")
    assert history == [("realized", "r1"), ("existing", "r2")]


def test_a_failed_transaction_records_nothing(store, sync_state_db):
    scope = store.scope(ORG, "Contact", "Id")
    store.apply(scope, [row("k1", {"Email": ["d", 1]})], run_id="r")
    bad = StateRow("k1", key_hash("k1"), None, "not json", None, 0, 0)  # its merge fails
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error (malformed JSON)
        store.apply(
            scope, [row("k0", {"Email": ["d", 1]}), bad], [HistoryRow("k0", None, "a", "x", T1)], run_id="r"
        )
    assert sync_state_db.query("SELECT key FROM sfcrm_sync_state") == [("k1",)]
    assert sync_state_db.query("SELECT count(*) FROM sfcrm_sync_history") == [(0,)]


def test_the_state_is_read_per_shard_and_keys_may_hold_any_character(store):
    scope = store.scope(ORG, "Contact", "Ext__c")
    keys = [f"person-{i}" for i in range(30)] + ["odd\x1fkey"]
    store.apply(
        scope,
        [row(k, {"Email": ["d", 1]}, digest=None if k == "person-3" else "n1") for k in keys],
        run_id="r",
    )

    everyone = pa.concat_tables(store.read_state(scope))
    assert sorted(everyone.column("key").to_pylist()) == sorted(keys)
    assert everyone.filter(pa.compute.equal(everyone.column("key"), "person-3")).column(
        "digest"
    ).to_pylist() == [None]
    shard = pa.concat_tables(store.read_state(scope, 4, 1)).column("key").to_pylist()
    assert sorted(shard) == sorted(k for k in keys if key_hash(k) % 4 == 1)
    read = pa.concat_tables(store.read_fields(scope, [pa.array(["odd\x1fkey", "missing"])]))
    assert read.column("key").to_pylist() == ["odd\x1fkey"]


def test_pending_inserts_of_another_live_shard_are_left_alone(store):
    scope = store.scope(ORG, "Contact", "Email")
    for batch, shard in (("a", (0, 2)), ("b", (1, 2)), ("c", (0, 3))):
        store.add_pending(scope, batch, [{"k": batch}], shard=shard, run_id="r")

    assert [p.batch_id for p in store.pending(scope, 2, 0)] == ["a", "c"]  # c: an earlier layout
    store.apply(scope, [], run_id="r", done_batches=["a"])
    assert [p.batch_id for p in store.pending(scope, 2, 0)] == ["c"]
    assert store.pending(scope, 2, 1)[0].entries == [{"k": "b"}]


def test_snapshot_marks_never_move_back(store):
    scope = store.scope(ORG, "Contact", "Id")
    store.set_marks(scope, ["aud__c"], T1 + timedelta(days=1), shard=(0, 1), run_id="r2")
    store.set_marks(scope, ["aud__c"], T1, shard=(0, 1), run_id="r1")

    [mark] = store.marks(scope, ["aud__c", "other__c"])
    assert (mark.field, mark.as_of) == ("aud__c", T1 + timedelta(days=1))
