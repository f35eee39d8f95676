"""The sync state as the export operator meets it: the connection, the as-of time, the shard, lookups.

Kept apart from the operator to keep it short; the sync itself is :mod:`airflow_provider_sfcrm.sync`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmVanishedError

#: The Airflow connection types the sync state can live on.
STATE_CONN_TYPES = {"sqlite": "SQLite (one machine)", "postgres": "PostgreSQL (distributed workers)"}
# SOQL lookups by identity: values per query, and a bound on the query's length (it goes into a URL).
_LOOKUP_VALUES = 200
_LOOKUP_CHARS = 8_000


@dataclass(frozen=True)
class SyncSettings:
    """The rendered sync settings of one run of the export."""

    conn_id: str
    as_of: datetime
    full_resync: bool
    shard: tuple[int, int]
    stale_rows_path: str
    run_id: str
    max_vanished_ratio: float | None


def sync_settings(operator: Any, context: Mapping[str, Any]) -> SyncSettings:
    """The export operator's sync arguments, rendered and checked."""
    from airflow_provider_sfcrm.operators._export_support import as_bool, default_rejected_rows_path
    from airflow_provider_sfcrm.sync.vanished import checked_max_vanished_ratio

    try:
        max_vanished_ratio = checked_max_vanished_ratio(operator.max_vanished_ratio)
    except ValueError as exc:
        raise SfCrmConfigError(str(exc)) from None
    return SyncSettings(
        conn_id=str(operator.sync_state),
        as_of=resolve_as_of(operator.as_of, context),
        full_resync=as_bool(operator.full_resync, "full_resync"),
        shard=checked_shard(operator.shard_index, operator.shard_count),
        stale_rows_path=operator.stale_rows_path or default_rejected_rows_path(context, "stale"),
        run_id=run_id_of(context),
        max_vanished_ratio=max_vanished_ratio,
    )


def run_sync(
    operator: Any,
    hook: Any,
    mapping: Any,
    source: Any,
    rules_and_rejected: tuple[Any, Any],
    sync: SyncSettings,
    write: Any,
    options: dict[str, Any],
    spool: Any = None,
    choose: Any = None,
) -> Any:
    """Run the export against the sync state; the stale rows go to their own file. Returns the counts.

    With ``spool`` (a :class:`~airflow_provider_sfcrm.sync.bulk.SyncBulkSpool`), the rows to send are
    spooled as Bulk API 2.0 job data instead of being sent — or, with ``choose``, only when it says so
    once the plan is made (:class:`~airflow_provider_sfcrm.activation.bulk_spool.SpoolChoice`).
    """
    from airflow_provider_sfcrm.activation.mapping import membership_columns
    from airflow_provider_sfcrm.activation.report import StaleRowsWriter
    from airflow_provider_sfcrm.operators._export_support import atomic_output
    from airflow_provider_sfcrm.sync.export import SyncExport, is_replay
    from airflow_provider_sfcrm.sync.plan import PlanShardError
    from airflow_provider_sfcrm.sync.vanished import VanishedGuardError

    if membership_columns(mapping, source.schema) and is_replay(source.schema):
        raise SfCrmConfigError(
            "the segment is a rejected- or stale-rows file, and its boolean status columns are "
            "current memberships: syncing it would exit everyone not in it. With a sync state there is "
            "nothing to replay: run the whole segment again, and what was not confirmed is sent again"
        )
    rules, rejected = rules_and_rejected
    with open_state(sync.conn_id) as state, atomic_output(sync.stale_rows_path) as where:
        org_id = hook.org_id
        scope_id = scope_of(state, org_id, mapping)
        operator.log.info(
            "Sync state %s: scope %d (org %s, %s by %s), shard %d of %d, as of %s%s",
            sync.conn_id,
            scope_id,
            org_id,
            mapping.sobject,
            mapping.identity_field,
            sync.shard[0],
            sync.shard[1],
            sync.as_of.isoformat(),
            ", full resync" if sync.full_resync else "",
        )
        with StaleRowsWriter(where, source.schema) as stale:
            if spool is not None:
                from airflow_provider_sfcrm.sync.bulk import SyncBulkSpoolExport

                make: Any = partial(SyncBulkSpoolExport, spool=spool, choose=choose)
            else:
                make = SyncExport
            try:
                export = make(
                    source,
                    rules,
                    rejected,
                    stale,
                    state=state,
                    scope_id=scope_id,
                    write=write,
                    find_existing=soql_finder(hook, mapping.sobject, mapping.identity_field or "Id"),
                    as_of=sync.as_of,
                    full_resync=sync.full_resync,
                    shard=sync.shard,
                    run_id=sync.run_id,
                    insert_group_size=operator.batch_size * min(operator.max_workers, 25),
                    max_vanished_ratio=sync.max_vanished_ratio,
                    **options,
                )
            except ValueError as exc:
                raise SfCrmConfigError(f"sync_state: {exc}") from None
            try:
                return export.run()
            except PlanShardError as exc:
                raise SfCrmConfigError(f"segment_path: {exc}") from None
            except VanishedGuardError as exc:
                raise SfCrmVanishedError(str(exc)) from None


def scope_of(state: Any, org_id: str, mapping: Any) -> int:
    """The id of the scope the export syncs: (org, object, identity field)."""
    return state.scope(org_id, mapping.sobject, mapping.identity_field or "")


def open_state(conn_id: str) -> Any:
    """The :class:`~airflow_provider_sfcrm.sync.store.SyncStateStore` on Airflow connection ``conn_id``,
    its tables created or migrated."""
    from airflow.sdk import BaseHook

    from airflow_provider_sfcrm.sync.store import SyncStateError, SyncStateStore

    connection = BaseHook.get_connection(conn_id)
    if connection.conn_type not in STATE_CONN_TYPES:
        kinds = ", ".join(f"{kind} ({what})" for kind, what in STATE_CONN_TYPES.items())
        raise SfCrmConfigError(
            f"sync_state {conn_id!r} is a {connection.conn_type!r} connection; "
            f"the sync state lives on {kinds}"
        )
    try:
        store = SyncStateStore(connection.get_hook().get_conn())
        store.migrate()
    except SyncStateError as exc:
        raise SfCrmConfigError(f"sync_state {conn_id!r}: {exc}") from None
    return store


def resolve_as_of(value: Any, context: Mapping[str, Any]) -> datetime:
    """The run's as-of time: ``value`` (a datetime or ISO text), else the data interval's end, else
    the logical date; always in UTC, to the second (what the state keeps)."""
    if value in (None, ""):
        value = context.get("data_interval_end") or context.get("logical_date")
        if value is None:
            raise SfCrmConfigError(
                "as_of: this run has no data interval or logical date; give as_of (e.g. '{{ ts }}')"
            )
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SfCrmConfigError(f"as_of {value!r} is not an ISO date and time") from None
    if not isinstance(value, datetime):
        raise SfCrmConfigError(f"as_of must be a datetime or ISO text, not {value!r}")
    moment = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return moment.replace(microsecond=0)


def checked_shard(shard_index: Any, shard_count: Any) -> tuple[int, int]:
    """``(shard_index, shard_count)`` as integers (templated values arrive as text)."""
    from airflow_provider_sfcrm.sync.sharding import check_shard

    try:
        index, count = int(str(shard_index).strip()), int(str(shard_count).strip())
        check_shard(index, count)
    except ValueError as exc:
        raise SfCrmConfigError(f"shard_index {shard_index!r} / shard_count {shard_count!r}: {exc}") from None
    return index, count


def run_id_of(context: Mapping[str, Any]) -> str:
    """``<dag_id>/<run_id>/<task_id>[/<map_index>]``: the run recorded with every state row written."""
    from airflow_provider_sfcrm.operators._export_support import map_index_of, task_instance_of

    ti = task_instance_of(context)
    if ti is None:
        return f"manual/{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    parts = [str(getattr(ti, name, "")) for name in ("dag_id", "run_id", "task_id")]
    map_index = map_index_of(ti)
    if map_index >= 0:
        parts.append(str(map_index))
    return "/".join(parts)


def soql_finder(hook: Any, sobject: str, field: str):
    """``find(values) -> [(value, Id)]``: the records of ``sobject`` whose ``field`` is among ``values``."""
    from simple_salesforce import format_soql

    def find(values: Sequence[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        chunk: list[str] = []
        length = 0
        for value in [*values, None]:
            if value is not None and len(chunk) < _LOOKUP_VALUES and length + len(value) < _LOOKUP_CHARS:
                chunk.append(value)
                length += len(value) + 3
                continue
            if chunk:
                soql = format_soql(f"SELECT Id, {field} FROM {sobject} WHERE {field} IN {{}}", chunk)
                found += [(str(r[field]), str(r["Id"])) for r in hook.query_all(soql) if r.get(field)]
            chunk, length = ([value], len(value) + 3) if value is not None else ([], 0)
        return found

    return find
