"""The export operator's side of the sync scope's lock: who holds it, how Airflow's answer about a
holder's task instances is read, and the refusal's message."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_sfcrm.exceptions import SfCrmError, SfCrmSyncBusyError
from airflow_provider_sfcrm.operators._sync_lock import (
    ALIVE_STATES,
    HeldSyncLock,
    busy_message,
    holder_alive,
    lock_holder,
)
from airflow_provider_sfcrm.sync.lock import SyncScopeBusy
from airflow_provider_sfcrm.sync.store import LockHolder

HOLDER = LockHolder("sync_contacts", "scheduled__2026-01-08", "export")


def asking(answer: dict) -> tuple[dict, list]:
    """A context whose task instance answers ``get_task_states`` with ``answer``; and the questions."""
    asked: list = []

    def get_task_states(**question):
        asked.append(question)
        return answer

    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, get_task_states=get_task_states)
    return {"ti": ti}, asked


@pytest.mark.parametrize(
    ("states", "alive"),
    [
        ({"export": "running"}, True),
        ({"export": TaskInstanceState.DEFERRED}, True),  # the Task SDK may hand enums
        ({"export": "up_for_retry"}, True),
        ({"export_0": "success", "export_1": "running"}, True),  # mapped: any map index alive
        ({"export_0": "success", "export_1": "failed"}, False),
        ({"export": "upstream_failed"}, False),
        ({"export": None}, False),  # cleared, not scheduled again yet
        ({}, False),  # the run was deleted
    ],
)
def test_the_holder_is_alive_while_any_of_its_task_instances_may_write(states, alive):
    context, asked = asking({HOLDER.run_id: states} if states else {})

    assert holder_alive(context, lambda *a: None)(HOLDER) is alive
    assert asked == [{"dag_id": "sync_contacts", "task_ids": ["export"], "run_ids": [HOLDER.run_id]}]


def test_the_alive_states_are_those_airflow_may_still_run():
    assert ALIVE_STATES == {
        "queued",
        "scheduled",
        "running",
        "deferred",
        "up_for_retry",
        "up_for_reschedule",
        "restarting",
    }
    assert ALIVE_STATES <= {state.value for state in TaskInstanceState}


def test_without_a_task_instance_the_holder_s_liveness_cannot_be_told():
    with pytest.raises(LookupError, match="outside Airflow"):
        holder_alive({}, lambda *a: None)(HOLDER)


@pytest.mark.parametrize(("map_index", "expected"), [(-1, -1), (3, 3), (None, -1)])
def test_the_holder_is_the_task_of_the_run_whatever_its_map_index(map_index, expected):
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=map_index)

    assert lock_holder(SimpleNamespace(task_id="t"), {"ti": ti}) == (LockHolder("d", "r", "t"), expected)
    assert lock_holder(SimpleNamespace(task_id="t"), {})[0].task_id == "t"


@pytest.mark.parametrize("lookup_error", [None, "ConnectionError: API server unreachable"])
def test_the_refusal_names_the_holder_and_what_to_do(lookup_error):
    since = datetime(2026, 1, 8, 0, 1, 2, tzinfo=timezone.utc)
    busy = SyncScopeBusy(7, HOLDER, since, lookup_error=lookup_error)
    mapping = SimpleNamespace(sobject="Contact", identity_field="Ext_Id__c")

    message = busy_message(busy, "00D000000000001AAA", mapping)

    assert "scope 7: Contact by Ext_Id__c in org 00D000000000001AAA" in message
    assert f"{HOLDER} holds it since 2026-01-08 00:01:02 UTC" in message
    assert str(HOLDER) == "DAG 'sync_contacts', run 'scheduled__2026-01-08', task 'export'"
    assert "sent, spooled and recorded nothing" in message
    assert "max_active_runs=1" in message and "--max-active-runs 1" in message and "retried" in message
    assert ("could not be looked up" in message) is bool(lookup_error)
    if lookup_error:
        assert lookup_error in message


def test_the_busy_error_is_retried():
    from airflow.sdk.exceptions import AirflowFailException

    error = SfCrmSyncBusyError("busy", holder=("d", "r", "t"), since="2026-01-08T00:01:02+00:00")
    assert isinstance(error, SfCrmError) and not isinstance(error, AirflowFailException)
    assert error.holder == ("d", "r", "t")


def test_a_release_that_fails_is_logged_not_raised():
    warned: list[str] = []
    log = SimpleNamespace(info=lambda *a: None, warning=lambda message, *args: warned.append(message % args))

    HeldSyncLock("no_such_connection", 7, HOLDER, -1).release(log)

    assert len(warned) == 1 and warned[0].startswith("Could not release the sync lock of scope 7")


class _Lock:
    released = 0

    def release(self, log):
        self.released += 1


@pytest.mark.parametrize(
    ("raised", "spool_left", "released"),
    [
        (None, False, 1),  # the export ended: REST, or Bulk concluded at once
        (RuntimeError("REST run failed"), False, 1),  # recorded as it went: nothing left to guard
        (RuntimeError("Bulk run failed"), True, 0),  # its spool (and maybe jobs) await its retry
        ("deferred", True, 0),  # released by execute_bulk_complete once the jobs are recorded
        (RuntimeError("Bulk run failed"), None, 0),  # whether a spool is left cannot be told: kept
    ],
)
def test_the_lock_is_released_unless_planned_work_awaits(monkeypatch, raised, spool_left, released):
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_provider_sfcrm.operators import _sync_lock

    lock = _Lock()
    monkeypatch.setattr(_sync_lock, "hold_sync_lock", lambda *a: lock)
    if raised == "deferred":
        raised = TaskDeferred(trigger=None, method_name="execute_bulk_complete")
    operator = SimpleNamespace(log=None)

    def keep_on_error() -> bool:
        if spool_left is None:
            raise ValueError("manifest.json is not JSON")
        return spool_left

    with contextlib.suppress(type(raised) if raised else ()):
        with _sync_lock.sync_scope_locked(operator, {}, None, None, object(), keep_on_error=keep_on_error):
            if raised:
                raise raised

    assert lock.released == released


def test_a_dry_run_takes_no_lock(monkeypatch):
    from airflow_provider_sfcrm.operators import _sync_lock

    monkeypatch.setattr(_sync_lock, "hold_sync_lock", lambda *a: pytest.fail("a lock was taken"))
    with _sync_lock.sync_scope_locked(None, {}, None, None, None, keep_on_error=lambda: False):
        pass
