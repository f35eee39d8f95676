"""The org's persistent state in ``<data-dir>/org.sqlite3``: records, custom objects and fields,
and the grants that say what the integration user sees of them.

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

from sfcrm_sandbox.models.access import Access, FieldGrants, ObjectAccess, ObjectGrants
from sfcrm_sandbox.models.clock import Clock
from sfcrm_sandbox.models.custom_fields import field_spec_from_json, field_spec_to_json
from sfcrm_sandbox.models.custom_objects import custom_key_prefix, custom_object_spec
from sfcrm_sandbox.models.duplicates import MATCH_FIELDS, DuplicateRules
from sfcrm_sandbox.models.events import EventBus, EventDefinition, EventDefinitionError, event_objects
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.ids import KEY_PREFIXES, case_suffix
from sfcrm_sandbox.models.keys import key_value
from sfcrm_sandbox.models.schema import Schema
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
CREATE TABLE IF NOT EXISTS custom_object (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, prefix TEXT NOT NULL,
    metadata TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OrgStore:
    """Persistent org: its schema (:class:`Schema`), what the user may see of it (:class:`Access`)
    and its records.

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
        self.schema = Schema()
        self.access = Access(self.schema)
        self.events = EventBus(self.clock)
        self.duplicate_rules = DuplicateRules()
        self._custom_object_ids: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        for row in self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'counter:%'"):
            self._counters[row[0].split(":", 1)[1]] = int(row[1])
        for object_id, name, prefix, metadata in self.db.execute(
            "SELECT id, name, prefix, metadata FROM custom_object ORDER BY rowid"
        ):
            self.schema.add_object(custom_object_spec(name, json.loads(metadata), prefix))
            self._custom_object_ids[name] = object_id
        # Fields of platform events wait for their event's definition (from the command line).
        self._event_fields: dict[str, list[FieldSpec]] = {}
        for sobject, spec_json in self.db.execute("SELECT sobject, spec FROM custom_field ORDER BY rowid"):
            field = field_spec_from_json(json.loads(spec_json))
            if sobject in self.schema.objects:
                self.schema.add_field(sobject, field)
            else:
                self._event_fields.setdefault(sobject, []).append(field)
        self._depth = 0
        self.counts: dict[str, int] = {}
        self._count_records()
        self._seed(username)
        self._index_match_fields()
        self.schema_changed = float(self.meta("schema_changed") or 0)
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
        self.counts = {name: 0 for name, spec in self.schema.objects.items() if not spec.event}
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

    def next_number(self, key: str) -> int:
        """The next of a persisted sequence (an auto-number), from 1 (persisted on commit)."""
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]

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

    def _index_match_fields(self) -> None:
        """Index the values duplicate rules match on in a data directory written before they were
        (once; the write path keeps the index after that)."""
        if self.meta("match_index") is not None:
            return
        with self._lock, self.transaction() as db:
            for sobject, names in MATCH_FIELDS.items():
                for record_id, _, data in self.scan(sobject):
                    for name in names:
                        if (
                            data.get(name) is not None
                            and not db.execute(
                                "SELECT 1 FROM keyval WHERE id = ? AND field = ?", (record_id, name.lower())
                            ).fetchone()
                        ):
                            db.execute(
                                "INSERT INTO keyval (sobject, field, value, id) VALUES (?, ?, ?, ?)",
                                (sobject, name.lower(), key_value(data[name]), record_id),
                            )
            self._set_meta("match_index", "1")

    # --- schema and what the user sees of it -------------------------------------------------

    def object_spec(self, name: str) -> ObjectSpec | None:
        """The object ``name`` (any case) when the integration user can see it, else None."""
        spec = self.schema.find(name)
        return spec if spec is not None and self.access.object_access(spec.name).read else None

    def find_object(self, name: str) -> ObjectSpec | None:
        """The object ``name`` (any case), whoever may see it (setup: grants, new fields)."""
        return self.schema.find(name)

    def spec(self, sobject: str) -> ObjectSpec:
        """The object of canonical name ``sobject``."""
        return self.schema.spec(sobject)

    def object_of_id(self, record_id: str) -> str | None:
        """The object a record Id's key prefix names, or None."""
        return self.schema.object_of_id(record_id)

    def object_access(self, sobject: str) -> ObjectAccess:
        return self.access.object_access(sobject)

    def all_fields(self, sobject: str) -> list[FieldSpec]:
        """Standard then custom fields of ``sobject``, whatever the user may see."""
        return self.schema.all_fields(sobject)

    def custom_field(self, sobject: str, name: str) -> FieldSpec | None:
        return self.schema.custom_field(sobject, name)

    def required_fields(self, sobject: str) -> tuple[FieldSpec, ...]:
        return self.schema.required_fields(sobject)

    def customizable(self, sobject: str) -> bool:
        return self.schema.customizable(sobject)

    def visible_fields(self, sobject: str) -> dict[str, tuple[FieldSpec, bool]]:
        """``{lower-case name: (spec, editable by the user)}`` of the fields the integration user can
        read (:meth:`Access.visible_fields`)."""
        return self.access.visible_fields(sobject)

    def user_permission_set_ids(self) -> set[str]:
        return {
            data["PermissionSetId"]
            for _, _, data in self.scan("PermissionSetAssignment")
            if data.get("AssigneeId") == self.user_id
        }

    def refresh_grants(self) -> None:
        """Read the integration user's field and object grants again (after any FieldPermissions,
        ObjectPermissions or PermissionSetAssignment write)."""
        sets = self.user_permission_set_ids()
        fields: FieldGrants = {}
        for _, _, data in self.scan("FieldPermissions"):
            if data.get("ParentId") not in sets or "." not in (data.get("Field") or ""):
                continue
            sobject, field_name = data["Field"].split(".", 1)
            key = (sobject.lower(), field_name.lower())
            read, edit = fields.get(key, (False, False))
            fields[key] = (
                read or bool(data.get("PermissionsRead")),
                edit or bool(data.get("PermissionsEdit")),
            )
        objects: ObjectGrants = {}
        for _, _, data in self.scan("ObjectPermissions"):
            if data.get("ParentId") not in sets or not data.get("SobjectType"):
                continue
            granted = ObjectAccess(
                *(bool(data.get(f"Permissions{name}")) for name in ("Read", "Create", "Edit", "Delete"))
            )
            key = data["SobjectType"].lower()
            objects[key] = objects.get(key, ObjectAccess()).merged(granted)
        if self.access.load(fields, objects):
            self.touch_schema()

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
            self.schema.add_field(sobject, spec)
            self.access.forget()
            self.touch_schema()
            return field_id

    def add_custom_object(self, name: str, metadata: dict[str, Any]) -> str:
        """Persist a new custom object (raises MetadataError); returns its ``01I`` Id (the caller
        checked the name is free)."""
        with self._lock:
            taken = self.schema.prefixes_in_use
            position = len(self._custom_object_ids)
            while custom_key_prefix(position) in taken:
                position += 1
            spec = custom_object_spec(name, metadata, custom_key_prefix(position))
            object_id = self.new_id(KEY_PREFIXES["CustomObject"])
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO custom_object (id, name, prefix, metadata, created) VALUES (?, ?, ?, ?, ?)",
                    (object_id, name, spec.key_prefix, json.dumps(metadata), self.clock.stamp()),
                )
                self.save_counters()
            self.schema.add_object(spec)
            self._custom_object_ids[name] = object_id
            self.counts[name] = 0
            self.access.forget()
            self.touch_schema()
            return object_id

    def define_events(self, definitions: list[EventDefinition]) -> None:
        """Define this run's platform events (they come from the command line, not the database);
        raises :class:`EventDefinitionError`."""
        with self._lock:
            for spec, fields in event_objects(definitions):
                if self.schema.find(spec.name) is not None:
                    raise EventDefinitionError(f"platform event {spec.name} is already defined")
                self.schema.add_object(spec)
                for field in [*fields, *self._event_fields.pop(spec.name, [])]:
                    self.schema.add_field(spec.name, field)
            self.access.forget()
            self.touch_schema()

    def custom_object_id(self, sobject: str) -> str | None:
        """The ``01I`` Id of custom object ``sobject``, None for the other objects."""
        return self._custom_object_ids.get(sobject)

    def custom_object_metadata(self, sobject: str) -> dict[str, Any]:
        """The ``Metadata`` custom object ``sobject`` was created with."""
        row = self.db.execute("SELECT metadata FROM custom_object WHERE name = ?", (sobject,)).fetchone()
        return json.loads(row[0])

    def custom_object_rows(self) -> list[dict[str, Any]]:
        """Tooling ``CustomObject`` records (for ``tooling/query``)."""
        rows = []
        for object_id, name, metadata, created in self.db.execute(
            "SELECT id, name, metadata, created FROM custom_object ORDER BY rowid"
        ):
            described = json.loads(metadata)
            rows.append(
                {
                    "Id": object_id,
                    "DeveloperName": name[:-3],
                    "FullName": name,
                    "NamespacePrefix": None,
                    "ManageableState": "unmanaged",
                    "SharingModel": described.get("sharingModel"),
                    "Description": described.get("description"),
                    **self._audit(created),
                }
            )
        return rows

    def custom_field_rows(self) -> list[dict[str, Any]]:
        """Tooling ``CustomField`` records (for ``tooling/query``); ``TableEnumOrId`` is a standard
        object's name, or a custom object's ``01I`` Id."""
        rows = []
        for field_id, sobject, name, created in self.db.execute(
            "SELECT id, sobject, name, created FROM custom_field ORDER BY rowid"
        ):
            rows.append(
                {
                    "Id": field_id,
                    "DeveloperName": name[:-3],
                    "TableEnumOrId": self._custom_object_ids.get(sobject, sobject),
                    "FullName": f"{sobject}.{name}",
                    "NamespacePrefix": None,
                    "ManageableState": "unmanaged",
                    **self._audit(created),
                }
            )
        return rows

    def _audit(self, created: str) -> dict[str, Any]:
        return {
            "CreatedDate": created,
            "CreatedById": self.user_id,
            "LastModifiedDate": created,
            "LastModifiedById": self.user_id,
        }

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
        data_objects = [name for name, spec in self.schema.objects.items() if spec.data and not spec.event]
        marks = ",".join("?" * len(data_objects))
        with self._lock, self.transaction() as db:
            db.execute(f"DELETE FROM keyval WHERE sobject IN ({marks})", data_objects)
            db.execute(f"DELETE FROM record WHERE sobject IN ({marks})", data_objects)
            for name in data_objects:
                self.counts[name] = 0
        self.events.clear()

    def close(self) -> None:
        with self._lock:
            self.db.close()
