"""The sync state's tables, per SQL dialect, and their migrations by version.

Every table is prefixed ``sfcrm_sync_`` so that the state can share a database with other data.
``sfcrm_sync_schema`` holds the version; :func:`migrations` lists the statements that bring a
database from one version to the next. The layout (also described in the README):

``sfcrm_sync_scopes``
    one row per (Salesforce org id, object, identity field): the state of another org, or of the
    same org refreshed as a sandbox (a new org id), is never shared.
``sfcrm_sync_state``
    one row per person of a scope: ``key`` (the identity's comparison key), ``key_hash`` (its shard
    hash), ``record_id`` (the Salesforce Id), ``fields`` (JSON: for each field written, the value
    — an audience's status, or the digest of an attribute — and the as-of time, in epoch seconds,
    of the data that produced it), and three columns that let an unchanged person be recognised
    without parsing ``fields``: ``digest`` (of the row last confirmed in full), ``realized`` (1
    while a status is ``realized``) and ``members`` (how many audiences the person is a member of).
``sfcrm_sync_history``
    append-only: one row per audience status confirmed written (person, field, status, as-of,
    written at, run).
``sfcrm_sync_marks``
    per scope, field and shard: the as-of time of the newest complete membership snapshot synced,
    which older runs (backfills) never overwrite.
``sfcrm_sync_pending``
    insert batches recorded before they are sent and not yet confirmed: a retry reconciles them
    with Salesforce before sending anything again.
``sfcrm_sync_locks`` (version 2)
    the lock of a scope (:mod:`.lock`): one row per map index of the task holding it — its DAG,
    run and task, and since when. No rows: nobody holds the scope.
"""

from __future__ import annotations

#: The schema version this code reads and writes.
SCHEMA_VERSION = 2

_TYPES = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT",
        "json": "TEXT",
        "rowid": " WITHOUT ROWID",
    },
    "postgres": {"id": "BIGSERIAL PRIMARY KEY", "ts": "TIMESTAMPTZ", "json": "JSONB", "rowid": ""},
}

_VERSION_1 = (
    """CREATE TABLE sfcrm_sync_scopes (
        scope_id {id},
        org_id TEXT NOT NULL,
        sobject TEXT NOT NULL,
        identity_field TEXT NOT NULL,
        created_at {ts} NOT NULL,
        UNIQUE (org_id, sobject, identity_field)
    )""",
    """CREATE TABLE sfcrm_sync_state (
        scope_id BIGINT NOT NULL,
        key TEXT NOT NULL,
        digest TEXT,
        realized SMALLINT NOT NULL DEFAULT 0,
        members SMALLINT NOT NULL DEFAULT 0,
        key_hash BIGINT NOT NULL,
        record_id TEXT,
        fields {json} NOT NULL,
        updated_at {ts} NOT NULL,
        run_id TEXT,
        PRIMARY KEY (scope_id, key)
    ){rowid}""",
    """CREATE TABLE sfcrm_sync_history (
        scope_id BIGINT NOT NULL,
        key TEXT NOT NULL,
        record_id TEXT,
        field TEXT NOT NULL,
        status TEXT NOT NULL,
        as_of {ts} NOT NULL,
        written_at {ts} NOT NULL,
        run_id TEXT
    )""",
    "CREATE INDEX sfcrm_sync_history_person ON sfcrm_sync_history (scope_id, key, field, as_of)",
    "CREATE INDEX sfcrm_sync_history_record ON sfcrm_sync_history (record_id)",
    """CREATE TABLE sfcrm_sync_marks (
        scope_id BIGINT NOT NULL,
        field TEXT NOT NULL,
        shard_count INTEGER NOT NULL,
        shard_index INTEGER NOT NULL,
        as_of {ts} NOT NULL,
        run_id TEXT,
        updated_at {ts} NOT NULL,
        PRIMARY KEY (scope_id, field, shard_count, shard_index)
    )""",
    """CREATE TABLE sfcrm_sync_pending (
        batch_id TEXT PRIMARY KEY,
        scope_id BIGINT NOT NULL,
        shard_count INTEGER NOT NULL,
        shard_index INTEGER NOT NULL,
        run_id TEXT,
        created_at {ts} NOT NULL,
        entries TEXT NOT NULL
    )""",
)

# One run at a time per scope: all map indexes of the holding task share the lock, each with a row.
_VERSION_2 = (
    """CREATE TABLE sfcrm_sync_locks (
        scope_id BIGINT NOT NULL,
        map_index INTEGER NOT NULL,
        dag_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        acquired_at {ts} NOT NULL,
        PRIMARY KEY (scope_id, map_index)
    )""",
)

_MIGRATIONS: dict[int, tuple[str, ...]] = {1: _VERSION_1, 2: _VERSION_2}


def migrations(dialect: str, from_version: int) -> list[tuple[int, list[str]]]:
    """``[(version, statements)]`` that bring a database at ``from_version`` to :data:`SCHEMA_VERSION`."""
    types = _TYPES[dialect]
    return [
        (version, [statement.format(**types) for statement in _MIGRATIONS[version]])
        for version in range(from_version + 1, SCHEMA_VERSION + 1)
    ]
