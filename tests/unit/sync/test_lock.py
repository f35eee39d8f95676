"""The sync scope's lock on SQLite and PostgreSQL: re-entry, shared map indexes, refusal, take-over,
a failed liveness lookup, release, and claims racing from several connections."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_sfcrm.sync.lock import SyncScopeBusy, acquire_lock, release_lock
from airflow_provider_sfcrm.sync.schema import SCHEMA_VERSION
from airflow_provider_sfcrm.sync.store import LockHolder, SyncStateStore

ORG = "00D000000000001AAA"
SCHEDULED = LockHolder("sync_contacts", "scheduled__2026-01-03T00:00:00+00:00", "export")
BACKFILL = LockHolder("sync_contacts", "backfill__2026-01-02T00:00:00+00:00", "export")


class Liveness:
    """The seam the operator fills with Airflow's task instance states: answers, and who was asked."""

    def __init__(self, answer: bool | Exception):
        self.answer, self.asked = answer, []

    def __call__(self, holder: LockHolder) -> bool:
        self.asked.append(holder)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def store(sync_state_db):
    with SyncStateStore(sync_state_db.connect()) as opened:
        assert opened.migrate() == SCHEMA_VERSION
        yield opened


def acquire(store, holder: LockHolder, map_index: int = -1, alive: Liveness | None = None, scope=None):
    logged: list[str] = []
    acquire_lock(
        store,
        scope if scope is not None else store.scope(ORG, "Contact", "Ext_Id__c"),
        holder,
        map_index,
        is_alive=alive or Liveness(AssertionError("the holder's liveness was asked")),
        log=lambda message, *args: logged.append(message % args),
    )
    return logged


def release(store, holder: LockHolder, map_index: int = -1) -> None:
    release_lock(store, store.scope(ORG, "Contact", "Ext_Id__c"), holder, map_index, log=lambda *a: None)


def holders(sync_state_db) -> list[tuple]:
    return sorted(
        sync_state_db.query("SELECT dag_id, run_id, task_id, map_index FROM sfcrm_sync_locks"), key=str
    )


def test_the_holder_re_enters_and_its_map_indexes_hold_the_lock_together(store, sync_state_db):
    acquire(store, SCHEDULED, 0)
    acquire(store, SCHEDULED, 0)  # a retry or a resumption of the same task instance
    acquire(store, SCHEDULED, 1)  # another shard of the same mapped task

    assert holders(sync_state_db) == [(*vars(SCHEDULED).values(), 0), (*vars(SCHEDULED).values(), 1)]


@pytest.mark.parametrize(
    "newcomer",
    [
        BACKFILL,  # another run of the DAG
        LockHolder(SCHEDULED.dag_id, SCHEDULED.run_id, "export_again"),  # another task of the same run
        LockHolder("another_dag", SCHEDULED.run_id, SCHEDULED.task_id),
    ],
    ids=["another run", "another task", "another DAG"],
)
def test_another_holder_is_refused_while_the_holder_is_alive(store, sync_state_db, newcomer):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    acquire(store, SCHEDULED, 0)
    alive = Liveness(True)

    with pytest.raises(SyncScopeBusy) as refused:
        acquire(store, newcomer, 0, alive)

    assert refused.value.holder == SCHEDULED and alive.asked == [SCHEDULED]
    assert before <= refused.value.since <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert refused.value.lookup_error is None
    assert "sync_contacts" in str(refused.value) and SCHEDULED.run_id in str(refused.value)
    assert holders(sync_state_db) == [(*vars(SCHEDULED).values(), 0)]  # nothing of the newcomer


def test_a_holder_no_longer_alive_is_taken_over_and_named_in_the_log(store, sync_state_db):
    acquire(store, SCHEDULED, 0)
    acquire(store, SCHEDULED, 1)  # both shards killed, say: nobody will release

    logged = acquire(store, BACKFILL, -1, Liveness(False))

    assert holders(sync_state_db) == [(*vars(BACKFILL).values(), -1)]
    assert any(
        line.startswith("Took over the sync lock") and SCHEDULED.run_id in line and "no longer alive" in line
        for line in logged
    )


def test_a_failed_liveness_lookup_counts_as_alive(store, sync_state_db):
    acquire(store, SCHEDULED)

    with pytest.raises(SyncScopeBusy) as refused:
        acquire(store, BACKFILL, -1, Liveness(ConnectionError("API server unreachable")))

    assert refused.value.lookup_error == "ConnectionError: API server unreachable"
    assert holders(sync_state_db) == [(*vars(SCHEDULED).values(), -1)]


def test_the_scope_is_free_once_every_map_index_released(store, sync_state_db):
    acquire(store, SCHEDULED, 0)
    acquire(store, SCHEDULED, 1)
    release(store, SCHEDULED, 0)
    with pytest.raises(SyncScopeBusy):  # shard 1 still runs
        acquire(store, BACKFILL, -1, Liveness(True))

    release(store, SCHEDULED, 1)
    release(store, SCHEDULED, 1)  # again: nothing happens
    acquire(store, BACKFILL)  # free: nobody's liveness is asked

    assert holders(sync_state_db) == [(*vars(BACKFILL).values(), -1)]


def test_scopes_are_locked_apart(store, sync_state_db):
    acquire(store, SCHEDULED)
    acquire(store, BACKFILL, scope=store.scope(ORG, "Lead", "Email"))

    assert len(holders(sync_state_db)) == 2


def test_of_runs_claiming_a_free_scope_at_once_exactly_one_holds_it(sync_state_db):
    with SyncStateStore(sync_state_db.connect()) as first:
        first.migrate()
        scope = first.scope(ORG, "Contact", "Ext_Id__c")
    runs = [LockHolder("sync_contacts", f"manual__{n}", "export") for n in range(6)]
    start, won, refused = threading.Barrier(len(runs)), [], []

    def claim(holder: LockHolder) -> None:
        with SyncStateStore(sync_state_db.connect()) as store:
            start.wait()
            try:
                acquire(store, holder, -1, Liveness(True), scope=scope)
                won.append(holder)
            except SyncScopeBusy as busy:
                refused.append(busy.holder)

    threads = [threading.Thread(target=claim, args=(holder,)) for holder in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1 and refused == [won[0]] * (len(runs) - 1)
    assert holders(sync_state_db) == [(*vars(won[0]).values(), -1)]
