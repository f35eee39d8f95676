"""The org's persistent state in ``<data-dir>/org.sqlite3``: records, custom fields, field-level security.

Records are JSON documents keyed by Id (canonical field names, stored value forms of
:mod:`.values`). Values of unique and external-id fields (and composite keys such as a
permission set's grant on one field) are indexed in ``keyval`` so writes never scan. One
SQLite connection serves the whole process; the web app calls it from the event loop only, and a
lock guards it anyway.
"""

from __future__ import annotations

import json
import random
import sqlite3
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sfcrm_sandbox.models.clock import Clock
from sfcrm_sandbox.models.custom_fields import field_spec_from_json, field_spec_to_json
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.ids import KEY_PREFIXES, case_suffix
from sfcrm_sandbox.models.keys import key_value
from sfcrm_sandbox.models.objects import CUSTOMIZABLE, OBJECTS, OBJECTS_BY_LOWER
from sfcrm_sandbox.models.seed import seed_org

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SCHEMA = """
CREATE TABLE IF NOT EXISTS record (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    sobject TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_by_object ON record (sobject, seq);
CREATE TABLE IF NOT EXISTS keyval (
    sobject TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keyval_lookup ON keyval (sobject, field, value);
CREATE INDEX IF NOT EXISTS keyval_by_id ON keyval (id);
CREATE TABLE IF NOT EXISTS custom_field (
    id TEXT PRIMARY KEY, sobject TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
    created TEXT NOT NULL, UNIQUE (sobject, name COLLATE NOCASE)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OrgStore:
    """Persistent org: schema registry (standard + custom fields), FLS and records.

    :param path: the SQLite file.
    :param username: the integration user's username (kept in sync with ``--username``).
    :param clock: the org's clock, which stamps every write (default: the wall clock).
    """

    def __init__(self, path: Path, username: str, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self.path = path
        self.clock = clock or Clock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # A local test org: durability across power loss is not worth fsyncs on every batch.
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(_SCHEMA)
        self._custom: dict[str, dict[str, FieldSpec]] = {name: {} for name in OBJECTS}
        self._counters: dict[str, int] = {}
        for row in self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'counter:%'"):
            self._counters[row[0].split(":", 1)[1]] = int(row[1])
        for sobject, spec_json in self.db.execute("SELECT sobject, spec FROM custom_field"):
            spec = field_spec_from_json(json.loads(spec_json))
            self._custom[sobject][spec.name.lower()] = spec
        self._depth = 0
        self.counts: dict[str, int] = {}
        self._count_records()
        self._seed(username)
        self.schema_changed = float(self.meta("schema_changed") or 0)
        # Per-object {lower name: (spec, editable)}; rebuilt when fields or grants change.
        self._visible: dict[str, dict[str, tuple[FieldSpec, bool]]] = {}
        self._grants: dict[tuple[str, str], tuple[bool, bool]] | None = None
        self.refresh_grants()

    # --- locking / transactions ----------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back when it raises.

        A savepoint, so transactions nest: one opened inside :meth:`all_or_nothing` commits only with it.
        """
        self._depth += 1
        name = f"write{self._depth}"
        self.db.execute(f"SAVEPOINT {name}")
        try:
            yield self.db
            self.db.execute(f"RELEASE {name}")
        except BaseException:
            self.db.execute(f"ROLLBACK TO {name}")
            self.db.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Writes made in the block commit together, or not at all when it raises (Composite, Tree).

        On rollback the in-memory views of the data (record counts, field-level security) are read
        again from the database.
        """
        with self._lock:
            try:
                with self.transaction():
                    yield
            except BaseException:
                self._count_records()
                self.refresh_grants()
                raise

    def _count_records(self) -> None:
        self.counts = dict.fromkeys(OBJECTS, 0)
        for sobject, count in self.db.execute(
            "SELECT sobject, COUNT(*) FROM record WHERE deleted = 0 GROUP BY sobject"
        ):
            self.counts[sobject] = count

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- ids ----------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A fresh 18-character Id with ``prefix`` and a correct checksum (counter persisted on commit)."""
        if prefix not in self._counters:
            # Start every org somewhere different so Ids of two sandboxes never collide.
            self._counters[prefix] = random.randrange(62**5, 62**7)
        self._counters[prefix] += 1
        number, digits = self._counters[prefix], []
        for _ in range(9):
            number, rest = divmod(number, 62)
            digits.append(_BASE62[rest])
        id15 = prefix + "ak" + "0" + "".join(reversed(digits))
        return id15 + case_suffix(id15)

    def save_counters(self) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [(f"counter:{prefix}", str(value)) for prefix, value in self._counters.items()],
        )

    # --- seed ---------------------------------------------------------------------------------

    def _seed(self, username: str) -> None:
        with self._lock:
            if self.meta("org_id") is None:
                seed_org(self, username)
            self.org_id = self.meta("org_id")
            self.user_id = self.meta("user_id")
            self.router_user_id = self.meta("router_user_id")
            self.profile_id = self.meta("profile_id")
            self.permission_set_id = self.meta("permission_set_id")
            user = self.get(self.user_id)
            if user and user[2].get("Username") != username:
                # Same data dir, new --username: the integration user follows the command line.
                user[2]["Username"] = username
                self.db.execute(
                    "UPDATE record SET data = ? WHERE id = ?", (json.dumps(user[2]), self.user_id)
                )
                self.db.execute(
                    "UPDATE keyval SET value = ? WHERE sobject = 'User' AND field = 'username' AND id = ?",
                    (key_value(username), self.user_id),
                )

    # --- schema and field-level security ------------------------------------------------------

    @staticmethod
    def object_spec(name: str) -> ObjectSpec | None:
        return OBJECTS_BY_LOWER.get(name.lower())

    def all_fields(self, sobject: str) -> list[FieldSpec]:
        """Standard then custom fields of ``sobject``, whatever the user may see."""
        return [*OBJECTS[sobject].fields, *self._custom[sobject].values()]

    def custom_field(self, sobject: str, name: str) -> FieldSpec | None:
        return self._custom[sobject].get(name.lower())

    def visible_fields(self, sobject: str) -> dict[str, tuple[FieldSpec, bool]]:
        """``{lower-case name: (spec, editable by the user)}`` of the fields the integration user can read.

        Standard fields are readable and editable by default (a typical integration profile); custom
        fields only once a FieldPermissions grant on one of the user's permission sets says so.
        """
        cached = self._visible.get(sobject)
        if cached is not None:
            return cached
        visible = {spec.name.lower(): (spec, True) for spec in OBJECTS[sobject].fields}
        for lower, spec in self._custom[sobject].items():
            read, edit = (self._grants or {}).get((sobject.lower(), lower), (False, False))
            if read:
                visible[lower] = (spec, edit)
        self._visible[sobject] = visible
        return visible

    def user_permission_set_ids(self) -> set[str]:
        return {
            data["PermissionSetId"]
            for _, _, data in self.scan("PermissionSetAssignment")
            if data.get("AssigneeId") == self.user_id
        }

    def refresh_grants(self) -> None:
        """Rebuild the integration user's FLS map (after any FieldPermissions / assignment write)."""
        sets = self.user_permission_set_ids()
        grants: dict[tuple[str, str], tuple[bool, bool]] = {}
        for _, _, data in self.scan("FieldPermissions"):
            if data.get("ParentId") not in sets or "." not in (data.get("Field") or ""):
                continue
            sobject, field_name = data["Field"].split(".", 1)
            key = (sobject.lower(), field_name.lower())
            read, edit = grants.get(key, (False, False))
            grants[key] = (
                read or bool(data.get("PermissionsRead")),
                edit or bool(data.get("PermissionsEdit")),
            )
        if self._grants is not None and grants != self._grants:
            self.touch_schema()
        self._grants = grants
        self._visible.clear()

    def touch_schema(self) -> None:
        """Note that describe results changed (for ``If-Modified-Since``); whole seconds, like HTTP dates."""
        self.schema_changed = float(int(time.time()))
        self._set_meta("schema_changed", str(self.schema_changed))

    def add_custom_field(self, sobject: str, spec: FieldSpec) -> str:
        """Persist a new custom field; returns its ``00N`` Id (caller checked the name is free)."""
        with self._lock:
            field_id = self.new_id(KEY_PREFIXES["CustomField"])
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO custom_field (id, sobject, name, spec, created) VALUES (?, ?, ?, ?, ?)",
                    (field_id, sobject, spec.name, json.dumps(field_spec_to_json(spec)), self.clock.stamp()),
                )
                self.save_counters()
            self._custom[sobject][spec.name.lower()] = spec
            self._visible.clear()
            self.touch_schema()
            return field_id

    def custom_field_rows(self) -> list[dict[str, Any]]:
        """Tooling ``CustomField`` records (for ``tooling/query``)."""
        rows = []
        for field_id, sobject, name, created in self.db.execute(
            "SELECT id, sobject, name, created FROM custom_field ORDER BY rowid"
        ):
            rows.append(
                {
                    "Id": field_id,
                    "DeveloperName": name[:-3],
                    "TableEnumOrId": sobject,
                    "FullName": f"{sobject}.{name}",
                    "NamespacePrefix": None,
                    "ManageableState": "unmanaged",
                    "CreatedDate": created,
                    "CreatedById": self.user_id,
                    "LastModifiedDate": created,
                    "LastModifiedById": self.user_id,
                }
            )
        return rows

    @staticmethod
    def customizable(sobject: str) -> bool:
        return sobject in CUSTOMIZABLE

    # --- records ------------------------------------------------------------------------------

    def get(self, record_id: str) -> tuple[str, bool, dict[str, Any]] | None:
        """``(sobject, deleted, data)`` of one record, or None."""
        row = self.db.execute(
            "SELECT sobject, deleted, data FROM record WHERE id = ?", (record_id,)
        ).fetchone()
        return (row[0], bool(row[1]), json.loads(row[2])) if row else None

    def get_many(self, ids: list[str]) -> dict[str, tuple[str, bool, dict[str, Any]]]:
        found: dict[str, tuple[str, bool, dict[str, Any]]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for record_id, sobject, deleted, data in self.db.execute(
                f"SELECT id, sobject, deleted, data FROM record WHERE id IN ({marks})", chunk
            ):
                found[record_id] = (sobject, bool(deleted), json.loads(data))
        return found

    def find_keys(self, sobject: str, field: str, values: list[str]) -> dict[str, list[str]]:
        """``{indexed value: [ids]}`` of live records whose ``field`` (lower-case) holds one of ``values``."""
        found: dict[str, list[str]] = {}
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for value, record_id in self.db.execute(
                f"SELECT value, id FROM keyval WHERE sobject = ? AND field = ? AND value IN ({marks})",
                [sobject, field, *chunk],
            ):
                found.setdefault(value, []).append(record_id)
        return found

    def scan(
        self, sobject: str, *, include_deleted: bool = False
    ) -> Iterator[tuple[str, bool, dict[str, Any]]]:
        """All records of ``sobject`` in creation order (materialised, so writes may follow)."""
        sql = "SELECT id, deleted, data FROM record WHERE sobject = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        rows = self.db.execute(sql + " ORDER BY seq", (sobject,)).fetchall()
        for record_id, deleted, data in rows:
            yield record_id, bool(deleted), json.loads(data)

    def stream(self, sobject: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Records of ``sobject`` in creation order, read lazily (the caller must not write meanwhile)."""
        sql = "SELECT data FROM record WHERE sobject = ?" + ("" if include_deleted else " AND deleted = 0")
        for (data,) in self.db.execute(sql + " ORDER BY seq", (sobject,)):
            yield json.loads(data)

    def reset(self) -> None:
        """Empty business data (schema, custom fields, users and permissions stay)."""
        data_objects = [name for name, spec in OBJECTS.items() if spec.data]
        marks = ",".join("?" * len(data_objects))
        with self._lock, self.transaction() as db:
            db.execute(f"DELETE FROM keyval WHERE sobject IN ({marks})", data_objects)
            db.execute(f"DELETE FROM record WHERE sobject IN ({marks})", data_objects)
            for name in data_objects:
                self.counts[name] = 0

    def close(self) -> None:
        with self._lock:
            self.db.close()
