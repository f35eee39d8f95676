"""The sync state in an SQL database: SQLite (one machine) or PostgreSQL (distributed workers).

:class:`SyncStateStore` wraps a DB-API connection (``sqlite3``, psycopg 3 or psycopg2) and speaks
the two dialects; the tables are in :mod:`.schema`. Reading is built for millions of rows: the
narrow columns that recognise an unchanged person are streamed as Arrow tables (PostgreSQL:
``COPY ... TO STDOUT``; SQLite: one concatenated text column per row, the cheapest way through the
Python driver), and the full ``fields`` are read only for the people a run must look at closely.
Writing is row-level (``INSERT ... ON CONFLICT DO UPDATE``, merging ``fields`` key by key), in one
short transaction per batch of confirmed records, so that concurrent shards never lose each
other's updates. SQLite runs in WAL mode with a busy timeout. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from airflow_provider_sfcrm.sync.schema import SCHEMA_VERSION, migrations

DIALECTS = ("sqlite", "postgres")
#: What ``read_state`` streams: enough to tell an unchanged person without parsing ``fields``.
FAST_SCHEMA = pa.schema([("key", pa.string()), ("digest", pa.string())])
#: What ``read_fields`` streams for the people a run looks at closely.
FULL_SCHEMA = pa.schema([("key", pa.string()), ("record_id", pa.string()), ("fields", pa.string())])
# SQLite: columns joined by the unit separator, the key last (it alone may hold any character).
_SEPARATOR = "\x1f"
_FETCH_ROWS = 100_000
_SQLITE_BUSY_TIMEOUT_MS = 120_000
# PostgreSQL: one advisory lock serialises the creation and migration of the tables.
_MIGRATION_LOCK = 0x5FC4_5E0C


class SyncStateError(RuntimeError):
    """The sync state cannot be used as it is (an unknown database, a newer schema)."""


@dataclass(frozen=True)
class StateRow:
    """What a confirmed write changes in one person's state.

    :param patch: JSON object ``{field: [value, as_of epoch seconds]}`` of the fields written; merged
        into the stored ``fields`` key by key.
    :param digest: the digest of the row as now confirmed in full, or None (compare field by field).
    """

    key: str
    key_hash: int
    record_id: str | None
    patch: str
    digest: str | None
    realized: int
    members: int


@dataclass(frozen=True)
class HistoryRow:
    """One audience status confirmed written (the status history is append-only)."""

    key: str
    record_id: str | None
    field: str
    status: str
    as_of: datetime


@dataclass(frozen=True)
class PendingBatch:
    """An insert batch recorded before sending, whose outcome was never recorded."""

    batch_id: str
    run_id: str | None
    entries: list[dict[str, Any]]


@dataclass(frozen=True)
class Mark:
    """The as-of time of the newest complete snapshot of ``field`` synced in shard ``index`` of ``count``."""

    field: str
    shard_count: int
    shard_index: int
    as_of: datetime


@dataclass(frozen=True)
class LockHolder:
    """The task of one run that holds a scope's lock (:mod:`.lock`): all its map indexes share it."""

    dag_id: str
    run_id: str
    task_id: str

    def __str__(self) -> str:
        return f"DAG {self.dag_id!r}, run {self.run_id!r}, task {self.task_id!r}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def dialect_of(connection: Any) -> str:
    """``sqlite`` or ``postgres``, from the DB-API connection's driver."""
    module = type(connection).__module__
    if module.startswith("sqlite3"):
        return "sqlite"
    if module.startswith(("psycopg2", "psycopg")):
        return "postgres"
    raise SyncStateError(f"the sync state needs SQLite or PostgreSQL, not a {module} connection")


class SyncStateStore:
    """The state tables on one DB-API connection (not thread-safe: one task, one thread).

    :param connection: a ``sqlite3`` connection or a psycopg (3 or 2) connection; the store owns it
        and closes it on :meth:`close`.
    """

    def __init__(self, connection: Any):
        self.connection = connection
        self.dialect = dialect_of(connection)
        if self.dialect == "sqlite":
            connection.isolation_level = None  # transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
            connection.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")

    # -- plumbing --------------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        """``?`` placeholders as the driver wants them."""
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def _ts(self, moment: datetime) -> Any:
        moment = _utc(moment)
        return moment.isoformat(sep=" ", timespec="seconds") if self.dialect == "sqlite" else moment

    @staticmethod
    def _read_ts(value: Any) -> datetime:
        return _utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction: committed when the block ends, rolled back on error."""
        cursor = self.connection.cursor()
        if self.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")  # take the write lock now, not half-way (WAL + busy timeout)
        try:
            yield cursor
        except BaseException:
            self.connection.rollback()
            raise
        else:
            self.connection.commit()
        finally:
            cursor.close()

    def _fetch(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(statement), tuple(parameters))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if self.dialect == "postgres":
            self.connection.commit()  # end the read transaction: no idle transaction holds locks
        return rows

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()

    def __enter__(self) -> SyncStateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create the tables on first use, or bring them to :data:`SCHEMA_VERSION`; return the version."""
        with self._transaction() as cursor:
            if self.dialect == "postgres":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cursor.execute("CREATE TABLE IF NOT EXISTS sfcrm_sync_schema (version INTEGER NOT NULL)")
            cursor.execute("SELECT max(version) FROM sfcrm_sync_schema")
            current = cursor.fetchone()[0] or 0
            if current > SCHEMA_VERSION:
                raise SyncStateError(
                    f"the sync state was written by a newer airflow-provider-sfcrm (schema version "
                    f"{current}; this one reads {SCHEMA_VERSION}): upgrade the provider on every worker"
                )
            for version, statements in migrations(self.dialect, current):
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute("DELETE FROM sfcrm_sync_schema")
                cursor.execute(self._sql("INSERT INTO sfcrm_sync_schema (version) VALUES (?)"), (version,))
        return max(current, SCHEMA_VERSION)

    def scope(self, org_id: str, sobject: str, identity_field: str) -> int:
        """The id of the state of (org, object, identity field), created on first use."""
        find = (
            "SELECT scope_id FROM sfcrm_sync_scopes WHERE org_id = ? AND sobject = ? AND identity_field = ?"
        )
        key = (org_id, sobject, identity_field)
        rows = self._fetch(find, key)
        if not rows:
            with self._transaction() as cursor:
                cursor.execute(
                    self._sql(
                        "INSERT INTO sfcrm_sync_scopes (org_id, sobject, identity_field, created_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (org_id, sobject, identity_field) DO NOTHING"
                    ),
                    (*key, self._ts(datetime.now(timezone.utc))),
                )
            rows = self._fetch(find, key)
        return int(rows[0][0])

    # -- reading ---------------------------------------------------------------------------------

    def read_state(self, scope_id: int, shard_count: int = 1, shard_index: int = 0) -> Iterator[pa.Table]:
        """The people of the scope in shard ``shard_index`` of ``shard_count``, as :data:`FAST_SCHEMA`."""
        where = f"scope_id = {int(scope_id)}"
        if shard_count > 1:
            where += f" AND key_hash % {int(shard_count)} = {int(shard_index)}"
        if self.dialect == "postgres":
            yield from self._copy_out(f"SELECT key, digest FROM sfcrm_sync_state WHERE {where}", FAST_SCHEMA)
            return
        line = "ifnull(digest, '') || char(31) || key"
        yield from self._sqlite_lines(f"SELECT {line} FROM sfcrm_sync_state WHERE {where}", FAST_SCHEMA)

    def read_fields(self, scope_id: int, keys: Iterable[pa.Array]) -> Iterator[pa.Table]:
        """``key, record_id, fields`` of the people whose keys are given (chunks of keys), as tables."""
        with self._transaction() as cursor:
            if self.dialect == "sqlite":
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS sfcrm_wanted (key TEXT PRIMARY KEY)")
                cursor.execute("DELETE FROM temp.sfcrm_wanted")
                for chunk in keys:
                    cursor.executemany(
                        "INSERT OR IGNORE INTO temp.sfcrm_wanted VALUES (?)",
                        ((k,) for k in chunk.to_pylist()),
                    )
            else:
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS sfcrm_wanted (key TEXT)")
                cursor.execute("TRUNCATE sfcrm_wanted")
                for chunk in keys:
                    self._copy_in(cursor, "COPY sfcrm_wanted (key) FROM STDIN WITH (FORMAT csv)", chunk)
        join = "FROM sfcrm_sync_state s JOIN {wanted} w ON w.key = s.key WHERE s.scope_id = " + str(
            int(scope_id)
        )
        if self.dialect == "postgres":
            yield from self._copy_out(
                "SELECT s.key, s.record_id, s.fields " + join.format(wanted="sfcrm_wanted"), FULL_SCHEMA
            )
            return
        line = "ifnull(s.record_id, '') || char(31) || s.fields || char(31) || s.key "
        yield from self._sqlite_lines("SELECT " + line + join.format(wanted="temp.sfcrm_wanted"), FULL_SCHEMA)

    def _sqlite_lines(self, statement: str, schema: pa.Schema) -> Iterator[pa.Table]:
        """Stream one concatenated text column per row and split it into ``schema``'s columns in Arrow.

        The line holds the columns in ``schema``'s order except the first, ``key``, which comes last:
        the other columns never hold the separator, the key may.
        """
        order = [*schema.names[1:], schema.names[0]]
        cursor = self.connection.cursor()
        try:
            cursor.row_factory = lambda _cursor, row: row[0]
            cursor.execute(statement)
            while True:
                lines = cursor.fetchmany(_FETCH_ROWS)
                if not lines:
                    return
                parts = pc.split_pattern(pa.array(lines, pa.string()), _SEPARATOR, max_splits=len(order) - 1)
                columns = {}
                for position, name in enumerate(order):
                    values = pc.list_element(parts, position)
                    if pa.types.is_integer(schema.field(name).type):
                        values = values.cast(schema.field(name).type)
                    else:
                        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
                    columns[name] = values
                yield pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
        finally:
            cursor.close()

    def _copy_out(self, query: str, schema: pa.Schema) -> Iterator[pa.Table]:
        """PostgreSQL: ``COPY (query) TO STDOUT`` as CSV into a temporary file, read back by Arrow."""
        with tempfile.TemporaryFile() as spool:
            cursor = self.connection.cursor()
            try:
                statement = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"
                if hasattr(cursor, "copy"):  # psycopg 3
                    with cursor.copy(statement) as copy:
                        for data in copy:
                            spool.write(data)
                else:  # psycopg2
                    cursor.copy_expert(statement, spool)
            finally:
                cursor.close()
            self.connection.commit()
            if not spool.tell():
                return
            spool.seek(0)
            options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True)
            reader = pacsv.open_csv(
                spool,
                read_options=pacsv.ReadOptions(column_names=schema.names, block_size=16 << 20),
                convert_options=options,
            )
            for batch in reader:
                yield pa.Table.from_batches([batch], schema=schema)

    @staticmethod
    def _copy_in(cursor: Any, statement: str, values: pa.Array) -> None:
        buffer = io.BytesIO()
        pacsv.write_csv(
            pa.table({"key": values}), buffer, write_options=pacsv.WriteOptions(include_header=False)
        )
        data = buffer.getvalue()
        if hasattr(cursor, "copy"):  # psycopg 3
            with cursor.copy(statement) as copy:
                copy.write(data)
        else:  # psycopg2
            cursor.copy_expert(statement, io.BytesIO(data))

    def status_changes(self, scope_id: int, as_of: datetime) -> list[HistoryRow]:
        """The audience statuses confirmed written by the syncs of ``as_of`` (the status history of
        that as-of time), ordered by person and field: what a downstream task announces."""
        rows = self._fetch(
            "SELECT key, record_id, field, status, as_of FROM sfcrm_sync_history "
            "WHERE scope_id = ? AND as_of = ? ORDER BY key, field, written_at",
            (int(scope_id), self._ts(as_of)),
        )
        return [
            HistoryRow(key, record_id, field, status, self._read_ts(at))
            for key, record_id, field, status, at in rows
        ]

    def marks(self, scope_id: int, fields: Sequence[str]) -> list[Mark]:
        """The snapshot marks of ``fields`` in this scope (every shard layout)."""
        if not fields:
            return []
        holes = ", ".join("?" for _ in fields)
        rows = self._fetch(
            "SELECT field, shard_count, shard_index, as_of FROM sfcrm_sync_marks "
            f"WHERE scope_id = ? AND field IN ({holes})",
            (scope_id, *fields),
        )
        return [Mark(str(f), int(n), int(i), self._read_ts(t)) for f, n, i, t in rows]

    def pending(self, scope_id: int, shard_count: int = 1, shard_index: int = 0) -> list[PendingBatch]:
        """Insert batches of this scope whose outcome was never recorded.

        Those of this shard, and those recorded under another shard count (an earlier layout: no run
        of it is going on); never those of another shard of this layout, which may be sending them now.
        """
        rows = self._fetch(
            "SELECT batch_id, run_id, entries FROM sfcrm_sync_pending WHERE scope_id = ? "
            "AND (shard_count <> ? OR shard_index = ?) ORDER BY created_at, batch_id",
            (scope_id, shard_count, shard_index),
        )
        return [PendingBatch(str(b), r, json.loads(e)) for b, r, e in rows]

    # -- writing ---------------------------------------------------------------------------------

    def add_pending(
        self,
        scope_id: int,
        batch_id: str,
        entries: list[dict[str, Any]],
        *,
        shard: tuple[int, int],
        run_id: str,
    ) -> None:
        """Record an insert batch (committed before the batch is sent)."""
        with self._transaction() as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO sfcrm_sync_pending "
                    "(batch_id, scope_id, shard_count, shard_index, run_id, created_at, entries) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    batch_id,
                    scope_id,
                    shard[1],
                    shard[0],
                    run_id,
                    self._ts(datetime.now(timezone.utc)),
                    json.dumps(entries, separators=(",", ":")),
                ),
            )

    def apply(
        self,
        scope_id: int,
        rows: Sequence[StateRow],
        history: Sequence[HistoryRow] = (),
        *,
        run_id: str,
        done_batches: Sequence[str] = (),
    ) -> None:
        """Record confirmed writes, their statuses in the history, and forget settled insert batches.

        One transaction: a crash leaves either all of it or none of it.
        """
        now = self._ts(datetime.now(timezone.utc))
        merge = (
            "json_patch(sfcrm_sync_state.fields, excluded.fields)"
            if self.dialect == "sqlite"
            else "sfcrm_sync_state.fields || excluded.fields"
        )
        fields_value = "?" if self.dialect == "sqlite" else "CAST(? AS JSONB)"
        upsert = self._sql(
            "INSERT INTO sfcrm_sync_state "
            "(scope_id, key, digest, realized, members, key_hash, record_id, fields, updated_at, run_id) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, {fields_value}, ?, ?) "
            "ON CONFLICT (scope_id, key) DO UPDATE SET "
            "digest = excluded.digest, realized = excluded.realized, members = excluded.members, "
            "key_hash = excluded.key_hash, "
            "record_id = coalesce(excluded.record_id, sfcrm_sync_state.record_id), "
            f"fields = {merge}, updated_at = excluded.updated_at, run_id = excluded.run_id"
        )
        append = self._sql(
            "INSERT INTO sfcrm_sync_history "
            "(scope_id, key, record_id, field, status, as_of, written_at, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        with self._transaction() as cursor:
            if rows:
                cursor.executemany(
                    upsert,
                    [
                        (
                            scope_id,
                            r.key,
                            r.digest,
                            r.realized,
                            r.members,
                            r.key_hash,
                            r.record_id,
                            r.patch,
                            now,
                            run_id,
                        )
                        for r in rows
                    ],
                )
            if history:
                cursor.executemany(
                    append,
                    [
                        (scope_id, h.key, h.record_id, h.field, h.status, self._ts(h.as_of), now, run_id)
                        for h in history
                    ],
                )
            for batch_id in done_batches:
                cursor.execute(self._sql("DELETE FROM sfcrm_sync_pending WHERE batch_id = ?"), (batch_id,))

    def set_marks(
        self, scope_id: int, fields: Sequence[str], as_of: datetime, *, shard: tuple[int, int], run_id: str
    ) -> None:
        """Record that a complete snapshot of ``fields`` as of ``as_of`` was synced (never moves back)."""
        newest = "max" if self.dialect == "sqlite" else "greatest"
        statement = self._sql(
            "INSERT INTO sfcrm_sync_marks "
            "(scope_id, field, shard_count, shard_index, as_of, run_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (scope_id, field, shard_count, shard_index) DO UPDATE SET "
            f"as_of = {newest}(sfcrm_sync_marks.as_of, excluded.as_of), run_id = excluded.run_id, "
            "updated_at = excluded.updated_at"
        )
        now = self._ts(datetime.now(timezone.utc))
        with self._transaction() as cursor:
            cursor.executemany(
                statement, [(scope_id, f, shard[1], shard[0], self._ts(as_of), run_id, now) for f in fields]
            )

    # -- the scope's lock (the rules are in :mod:`.lock`) ------------------------------------------

    def claim_lock(
        self, scope_id: int, holder: LockHolder, map_index: int
    ) -> tuple[LockHolder, datetime] | None:
        """Hold the scope's lock as map index ``map_index`` of ``holder`` (held already: nothing
        changes) and return None — unless another holder has it: then that holder and since when.

        One short transaction, serialised per scope (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the
        scope's row locked), so that two runs never both find the scope free.
        """
        with self._transaction() as cursor:
            if self.dialect == "postgres":
                cursor.execute("SELECT 1 FROM sfcrm_sync_scopes WHERE scope_id = %s FOR UPDATE", (scope_id,))
            cursor.execute(
                self._sql(
                    "SELECT dag_id, run_id, task_id, min(acquired_at) FROM sfcrm_sync_locks "
                    "WHERE scope_id = ? GROUP BY dag_id, run_id, task_id ORDER BY 4"
                ),
                (scope_id,),
            )
            for dag_id, run_id, task_id, since in cursor.fetchall():
                other = LockHolder(str(dag_id), str(run_id), str(task_id))
                if other != holder:
                    return other, self._read_ts(since)
            cursor.execute(
                self._sql(
                    "INSERT INTO sfcrm_sync_locks "
                    "(scope_id, map_index, dag_id, run_id, task_id, acquired_at) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (scope_id, map_index) DO NOTHING"
                ),
                (
                    scope_id,
                    map_index,
                    holder.dag_id,
                    holder.run_id,
                    holder.task_id,
                    self._ts(datetime.now(timezone.utc)),
                ),
            )
        return None

    def drop_lock(self, scope_id: int, holder: LockHolder, map_index: int | None = None) -> int:
        """Let go of ``holder``'s hold on the scope: that of map index ``map_index``, or (None) all of
        them; how many map indexes let go."""
        statement = (
            "DELETE FROM sfcrm_sync_locks WHERE scope_id = ? AND dag_id = ? AND run_id = ? AND task_id = ?"
        )
        parameters: list[Any] = [scope_id, holder.dag_id, holder.run_id, holder.task_id]
        if map_index is not None:
            statement += " AND map_index = ?"
            parameters.append(map_index)
        with self._transaction() as cursor:
            cursor.execute(self._sql(statement), tuple(parameters))
            return max(cursor.rowcount, 0)
