"""The sync scope's lock as the export operator meets it: who holds it, whether a holder is alive
(asked of Airflow through the Task SDK), and the refusal. The rules are in
:mod:`airflow_provider_sfcrm.sync.lock`.

A run that writes (not a dry run) takes the lock before it reads the segment
(:func:`sync_scope_locked`). REST releases it when the export ends, whether it succeeded or failed
(every confirmed write is recorded as it comes, unsettled inserts are journaled); a Bulk run keeps it
across the deferral and releases it once its jobs' results are recorded (``execute_bulk_complete``),
and keeps it when it fails with a complete spool (its jobs may still be running, and the spool was
planned on the state as it was: its retry re-enters, and once its task instance has ended a
newcomer takes it over).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfcrm.exceptions import SfCrmSyncBusyError
from airflow_provider_sfcrm.sync.store import LockHolder

#: The task instance states of a holder that may still write (any map index in one of them).
ALIVE_STATES = frozenset(
    {"queued", "scheduled", "running", "deferred", "up_for_retry", "up_for_reschedule", "restarting"}
)
# Without a task instance (the operator run by hand, outside Airflow): every such run of the task is
# the same holder, as a retry is; Airflow cannot be asked whether another holder is alive.
_OUTSIDE_AIRFLOW = ("(no DAG)", "(outside Airflow)")


@dataclass(frozen=True)
class HeldSyncLock:
    """The lock this task's map index holds on a scope of the state on connection ``conn_id``."""

    conn_id: str
    scope_id: int
    holder: LockHolder
    map_index: int

    def release(self, log: Any) -> None:
        """Let go; a failure is logged, not raised: it must not hide the run's own outcome or error,
        and a lock left behind is taken over once this task instance has ended."""
        from airflow_provider_sfcrm.operators._sync_support import open_state
        from airflow_provider_sfcrm.sync.lock import release_lock

        try:
            with open_state(self.conn_id) as state:
                release_lock(state, self.scope_id, self.holder, self.map_index, log=log.info)
        except Exception as exc:
            log.warning(
                "Could not release the sync lock of scope %d (%s); the next run takes it over once this "
                "task instance has ended",
                self.scope_id,
                type(exc).__name__,
            )


def lock_holder(operator: Any, context: Mapping[str, Any]) -> tuple[LockHolder, int]:
    """``(holder, map_index)`` of this task instance: the task of this run, and its map index (-1)."""
    from airflow_provider_sfcrm.operators._export_support import map_index_of, task_instance_of

    ti = task_instance_of(context)
    if ti is None:
        return LockHolder(*_OUTSIDE_AIRFLOW, str(operator.task_id)), -1
    return LockHolder(str(ti.dag_id), str(ti.run_id), str(ti.task_id)), map_index_of(ti)


@contextlib.contextmanager
def sync_scope_locked(
    operator: Any,
    context: Mapping[str, Any],
    hook: Any,
    mapping: Any,
    sync: Any,
    *,
    keep_on_error: Callable[[], bool],
) -> Iterator[None]:
    """Hold the scope's lock around a run of the export (``sync`` None: no lock, as for a dry run).

    Released when the block ends or fails — but kept when the task defers (``execute_bulk_complete``
    releases it once the jobs are recorded) and when it fails while ``keep_on_error()`` says that
    planned work is left for its retry (a complete Bulk spool: its jobs may be running, and its
    plan was made on the state as it was).
    """
    if sync is None:
        yield
        return
    from airflow.sdk.exceptions import TaskDeferred

    lock = hold_sync_lock(operator, context, hook, mapping, sync)
    try:
        yield
    except TaskDeferred:
        raise
    except BaseException:
        try:
            keep = keep_on_error()
        except Exception:  # cannot tell whether work is left: keeping the lock is the safe side
            keep = True
        if not keep:
            lock.release(operator.log)
        raise
    lock.release(operator.log)


def hold_sync_lock(
    operator: Any, context: Mapping[str, Any], hook: Any, mapping: Any, sync: Any
) -> HeldSyncLock:
    """Take the lock of the scope the export syncs (before anything is read, planned or sent), or
    raise :class:`~airflow_provider_sfcrm.exceptions.SfCrmSyncBusyError`."""
    from airflow_provider_sfcrm.operators._sync_support import open_state, scope_of
    from airflow_provider_sfcrm.sync.lock import SyncScopeBusy, acquire_lock

    holder, map_index = lock_holder(operator, context)
    with open_state(sync.conn_id) as state:
        org_id = hook.org_id
        scope_id = scope_of(state, org_id, mapping)
        try:
            acquire_lock(
                state,
                scope_id,
                holder,
                map_index,
                is_alive=holder_alive(context, operator.log.info),
                log=operator.log.info,
            )
        except SyncScopeBusy as busy:
            raise SfCrmSyncBusyError(
                busy_message(busy, org_id, mapping),
                holder=(busy.holder.dag_id, busy.holder.run_id, busy.holder.task_id),
                since=busy.since.isoformat(),
            ) from None
    return HeldSyncLock(sync.conn_id, scope_id, holder, map_index)


def release_sync_lock(state: Any, scope_id: int, operator: Any, context: Mapping[str, Any]) -> None:
    """Let go of this task instance's hold on ``scope_id`` (a Bulk run, once its jobs are recorded)."""
    from airflow_provider_sfcrm.sync.lock import release_lock

    holder, map_index = lock_holder(operator, context)
    release_lock(state, scope_id, holder, map_index, log=operator.log.info)


def holder_alive(context: Mapping[str, Any], log: Callable[..., object]) -> Callable[[LockHolder], bool]:
    """``is_alive(holder)``: whether any task instance of the holder (any map index) is in one of
    :data:`ALIVE_STATES`, asked through the Task SDK (``RuntimeTaskInstance.get_task_states``, which
    answers ``{run_id: {task_id or f"{task_id}_{map_index}": state}}``). Raises when it cannot ask."""
    from airflow_provider_sfcrm.operators._export_support import task_instance_of

    ti = task_instance_of(context)

    def is_alive(holder: LockHolder) -> bool:
        if ti is None or not hasattr(ti, "get_task_states"):
            raise LookupError("no task instance to ask Airflow through (the task runs outside Airflow)")
        states = ti.get_task_states(dag_id=holder.dag_id, task_ids=[holder.task_id], run_ids=[holder.run_id])
        found = {
            name: str(getattr(state, "value", state))
            for name, state in (states.get(holder.run_id) or {}).items()
        }
        log("Task instance states of the sync lock's holder %s: %s", holder, found or "none found")
        return any(state in ALIVE_STATES for state in found.values())

    return is_alive


def busy_message(busy: Any, org_id: str, mapping: Any) -> str:
    """The refusal: who holds the scope since when, that nothing was done, and what to do."""
    unknown = (
        f" (whether it is still alive could not be looked up — {busy.lookup_error} — so it counts as alive)"
        if busy.lookup_error
        else ""
    )
    return (
        f"another run is syncing this scope of the sync state (scope {busy.scope_id}: {mapping.sobject} "
        f"by {mapping.identity_field or 'Id'} in org {org_id}): {busy.holder} holds it since "
        f"{busy.since:%Y-%m-%d %H:%M:%S} UTC{unknown}. This run sent, spooled and recorded nothing: two "
        "runs of one sync must not overlap (both would plan against the same state). Run one at a time: "
        "max_active_runs=1 on the DAG, --max-active-runs 1 on backfills (a backfill ignores the DAG's "
        "max_active_runs), one task per scope in a DAG — or wait: this error is retried, and a later try "
        "runs once the holder is done (a holder whose task instance has ended is taken over)"
    )
