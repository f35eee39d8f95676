"""One run at a time per sync scope: a lock (a lease) held in the sync-state database itself.

Two runs of one scope that overlap (a backfill, a cleared old run, a manual trigger during the
scheduled run, a Bulk run deferred while the next one starts) would plan against the same state
before either records: an insert sent twice, statuses computed from a state the other run is changing.
So a run that writes takes the scope's lock before it plans, and lets go once its outcome is recorded.

- **Holder**: the task of one run, ``(dag_id, run_id, task_id)``; all its map indexes (shards of one
  segment, each owning disjoint people) hold the lock together, one row each, and a retry or a
  resumption of the same task instance finds it its own. The scope is free when no row is left.
- **Another holder** that is alive refuses the newcomer (:class:`SyncScopeBusy`); one that is no
  longer alive (its task instance ended: failed, killed, marked failed, removed) would otherwise
  block the scope forever, so the newcomer takes the lock over and says whose it took. Whether a
  holder is alive is asked of ``is_alive`` — the orchestrator knows, this module does not; when the
  question cannot be answered, the holder counts as alive (refusing is safe, taking over is not).

The database serialises the claims (:meth:`~.store.SyncStateStore.claim_lock`), so two newcomers
never both take a free or abandoned scope. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from airflow_provider_sfcrm.sync.store import LockHolder, SyncStateStore

#: ``is_alive(holder) -> bool``: whether the holder's task instance may still write (raising means
#: "cannot tell": the holder counts as alive).
HolderAliveFn = Callable[[LockHolder], bool]

# Claims after a take-over: another newcomer may take the abandoned lock first; then it is alive.
_CLAIMS = 3


class SyncScopeBusy(RuntimeError):
    """Another run's task holds the scope's lock and is alive (or its liveness could not be told)."""

    def __init__(self, scope_id: int, holder: LockHolder, since: datetime, *, lookup_error: str | None):
        self.scope_id = scope_id
        self.holder = holder
        self.since = since
        self.lookup_error = lookup_error
        super().__init__(f"scope {scope_id} is held by {holder} since {since.isoformat()}")


def acquire_lock(
    state: SyncStateStore,
    scope_id: int,
    holder: LockHolder,
    map_index: int,
    *,
    is_alive: HolderAliveFn,
    log: Callable[..., object],
) -> None:
    """Hold the scope's lock as map index ``map_index`` of ``holder``, taking it over from a holder
    that is no longer alive; raise :class:`SyncScopeBusy` when another holder is alive."""
    for _ in range(_CLAIMS):
        taken = state.claim_lock(scope_id, holder, map_index)
        if taken is None:
            log("Sync lock of scope %d held by %s (map index %d)", scope_id, holder, map_index)
            return
        other, since = taken
        try:
            alive, lookup_error = bool(is_alive(other)), None
        except Exception as exc:  # cannot tell: refusing is safe, taking over is not
            alive, lookup_error = True, f"{type(exc).__name__}: {exc}"
        if alive:
            raise SyncScopeBusy(scope_id, other, since, lookup_error=lookup_error)
        state.drop_lock(scope_id, other)
        log(
            "Took over the sync lock of scope %d from %s (held since %s): that task instance is no "
            "longer alive",
            scope_id,
            other,
            since.isoformat(),
        )
    raise SyncScopeBusy(scope_id, other, since, lookup_error=None)


def release_lock(
    state: SyncStateStore, scope_id: int, holder: LockHolder, map_index: int, *, log: Callable[..., object]
) -> None:
    """Let go of map index ``map_index``'s hold on the scope's lock (the scope is free once no map
    index of ``holder`` holds it). Nothing happens when it holds nothing (released already)."""
    if state.drop_lock(scope_id, holder, map_index):
        log("Sync lock of scope %d released by %s (map index %d)", scope_id, holder, map_index)
