"""Record writes with Salesforce's semantics: insert, update by Id, upsert on an external id, delete.

One call = one transaction of up to 200 records (sObject Collections, or one record for the
single-record endpoints). Every record gets a result in request order; failures carry
Salesforce's status codes and messages (``docs/salesforce-facts.md``, "Writes"), and
``allOrNone`` commits nothing when any record fails. The checks themselves are
:mod:`.write_rules`; this module plans, commits and answers. Reads of existing records and key
lookups are batched and indexed: a write never scans a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfcrm_sandbox.models.custom_objects import auto_number
from sfcrm_sandbox.models.derived import derive
from sfcrm_sandbox.models.duplicates import public_error
from sfcrm_sandbox.models.events import publish_result_id
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.foreign_keys import ForeignKeys
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.keys import COMPOSITE_FIELD, key_value
from sfcrm_sandbox.models.setup_rules import SetupRules
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import error
from sfcrm_sandbox.models.write_plan import Plan, RequestRejected
from sfcrm_sandbox.models.write_rules import WriteRules

ROLLED_BACK = error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
_AUDIT = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
# Writes to these change the integration user's field-level security (store.refresh_grants).
_GRANT_OBJECTS = ("FieldPermissions", "ObjectPermissions", "PermissionSetAssignment")


@dataclass(frozen=True)
class _Shape:
    key_prefix: str
    owned: bool
    insert_defaults: dict[str, Any]
    insert_audit: dict[str, Any]
    update_audit: dict[str, Any]
    indexed: list[FieldSpec]
    # A custom object's name field (the org names records that come without a name).
    name_field: FieldSpec | None


def unsupported_operation(sobject: str, operation: str) -> dict[str, Any]:
    """A platform event is published (inserted) only. UNVERIFIED code and wording."""
    return error("INVALID_TYPE_FOR_OPERATION", f"entity type {sobject} does not support {operation}")


def _malformed_id(value: Any) -> dict[str, Any]:
    return error("MALFORMED_ID", f"malformed id {value}", ["Id"])


def _wrong_type_id(spec: ObjectSpec, value: str) -> dict[str, Any]:
    id_label = next(f.label for f in spec.fields if f.name == "Id")
    return error("MALFORMED_ID", f"{id_label}: id value of incorrect type: {value}", ["Id"])


class Writer:
    """Applies writes to an :class:`OrgStore`.

    :param store: the org.
    :param lock_draw: called once per record about to be written; True makes that record fail with
        ``UNABLE_TO_LOCK_ROW`` (fault injection).
    """

    def __init__(self, store: OrgStore, lock_draw: Callable[[], bool] | None = None) -> None:
        self.store = store
        self.rules = WriteRules(store)
        self.foreign_keys = ForeignKeys(store)
        self.setup_rules = SetupRules(store)
        self.lock_draw = lock_draw or (lambda: False)

    # --- public operations --------------------------------------------------------------------

    def save(
        self,
        records: list[Any],
        *,
        mode: str,
        all_or_none: bool = False,
        auto_assign: bool = True,
        sobject: str | None = None,
        external_id_field: FieldSpec | None = None,
        json_body: bool = True,
        allow_duplicates: bool = False,
        details: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Insert (``mode="insert"``), update by Id (``"update"``) or upsert (``"upsert"``) records.

        :param json_body: the records are a REST API request's JSON (``False`` for Bulk rows): a
            value of the wrong kind then rejects the whole request with ``JSON_PARSER_ERROR``.
        :param allow_duplicates: save records active duplicate rules match (``allowSave=true``).
        :param details: keep the details single-record REST answers add to an error
            (``duplicateResult``).

        Returns one result dict per record, in order, and the number of records written.
        """
        with self.store.lock:
            plans = [self._parse(record, mode, sobject, external_id_field) for record in records]
            records = self.foreign_keys.resolve(plans, records)
            self._resolve_existing(plans, mode, sobject, external_id_field)
            for plan, record in zip(plans, records, strict=True):
                if plan.ok:
                    self.rules.validate_values(plan, record, external_id_field, json_body=json_body)
            self.rules.check_duplicates_in_request(plans, mode, external_id_field)
            self.rules.check_unique(plans)
            self.rules.check_references(plans)
            self.setup_rules.check(plans)
            if not allow_duplicates:
                self.store.duplicate_rules.check(self.store, plans)
            return self._finish(
                plans, mode, all_or_none, lambda ok: self._commit(ok, auto_assign), details=details
            )

    def delete(
        self, ids: list[Any], *, all_or_none: bool = False, sobject: str | None = None, hard: bool = False
    ) -> tuple[list[dict[str, Any]], int]:
        """Delete records by Id (they stay as ``IsDeleted = true``, visible to queryAll).

        :param sobject: the object every Id must be of (a Bulk job's object); None takes any object.
        :param hard: erase the records instead (Bulk ``hardDelete``: no recycle bin, gone from queryAll).
        """
        with self.store.lock:
            # Each Id checked and normalised once; None marks one that names no record of a known object.
            wanted = [
                record_id if (record_id := canonical_id(raw)) and self.store.object_of_id(record_id) else None
                for raw in ids
            ]
            existing = self.store.get_many([record_id for record_id in wanted if record_id])
            plans: list[Plan] = []
            seen: set[str] = set()
            for raw, record_id in zip(ids, wanted, strict=True):
                plan = Plan(action="delete")
                plans.append(plan)
                if record_id is None:
                    plan.fail(error("MALFORMED_ID", f"malformed id {raw}"))
                    continue
                if sobject is not None and self.store.object_of_id(record_id) != sobject:
                    plan.fail(_wrong_type_id(self.store.spec(sobject), raw))
                    continue
                target = self.store.spec(str(self.store.object_of_id(record_id)))
                if target.event:
                    plan.fail(unsupported_operation(target.name, "delete"))
                    continue
                plan.record_id = record_id
                found = existing.get(record_id)
                if record_id in seen:
                    # UNVERIFIED: Salesforce's code for one Id listed twice; the first occurrence wins.
                    plan.fail(error("DUPLICATE_VALUE", f"Duplicate id in list: {record_id}"))
                    continue
                seen.add(record_id)
                if found is None or found[1]:
                    # UNVERIFIED for never-existing Ids; Salesforce reports recycled ones this way.
                    plan.fail(error("ENTITY_IS_DELETED", "entity is deleted"))
                    continue
                if not self.store.object_access(found[0]).delete:
                    plan.fail(
                        error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
                    )
                    continue
                plan.sobject, plan.existing, plan.shown_id = found[0], found[2], record_id
            return self._finish(plans, "delete", all_or_none, lambda ok: self._commit_deletes(ok, hard))

    def _finish(
        self,
        plans: list[Plan],
        mode: str,
        all_or_none: bool,
        commit: Callable[[list[Plan]], int],
        *,
        details: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Draw record locks, publish the valid platform events, commit the valid records (none when
        ``all_or_none`` and any failed), answer."""
        events = [plan for plan in plans if plan.ok and self._is_event(plan)]
        for plan in plans:
            if plan.ok and not self._is_event(plan) and self.lock_draw():
                plan.fail(
                    error(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records: "
                        + (plan.record_id or ""),
                    )
                )
        rolled_back = all_or_none and any(not plan.ok for plan in plans)
        # Events publish at once, outside the transaction: allOrNone does not hold them back
        # (it only affects events that publish after commit, which the sandbox does not model).
        for plan in events:
            self._publish(plan)
        records = [plan for plan in plans if plan.ok and plan.enqueued is None]
        written = 0 if rolled_back else commit(records)
        return [self._result(plan, mode, rolled_back, details) for plan in plans], written + len(events)

    def _is_event(self, plan: Plan) -> bool:
        return plan.sobject is not None and self.store.spec(plan.sobject).event

    def _publish(self, plan: Plan) -> None:
        assert plan.sobject is not None
        fields = self.store.schema.custom_fields(plan.sobject).values()
        message = {field.name: plan.values.get(field.name) for field in fields}
        plan.enqueued = self.store.events.publish(plan.sobject, message, self.store.user_id)
        plan.record_id = publish_result_id(self.store.spec(plan.sobject))

    # --- parsing ------------------------------------------------------------------------------

    def _parse(self, record: Any, mode: str, sobject: str | None, ext: FieldSpec | None) -> Plan:
        plan = Plan(action="update" if mode == "update" else "insert")
        if not isinstance(record, dict):
            raise RequestRejected(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        attributes = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
        type_name = attributes.get("type") or sobject
        id_key = next((k for k in record if k.lower() == "id"), None)
        raw_id = record.get(id_key) if id_key else None
        if mode == "update":
            if raw_id in (None, ""):
                plan.fail(error("MISSING_ARGUMENT", "Id not specified in an update call"))
                return plan
            if canonical_id(raw_id) is None:
                plan.fail(_malformed_id(raw_id))
                return plan
            if not type_name:
                type_name = self.store.object_of_id(raw_id)
        if not type_name:
            raise RequestRejected(400, "INVALID_TYPE", "Must send a concrete entity type.")
        spec = self.store.object_spec(str(type_name))
        if spec is None:
            raise RequestRejected(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        plan.sobject = spec.name
        if sobject and spec.name != sobject:
            # UNVERIFIED wording: upsert records must all be of the URL's object.
            plan.fail(error("INVALID_TYPE", f"Record type {type_name} does not match {sobject}"))
            return plan
        if spec.event and mode != "insert":
            plan.fail(unsupported_operation(spec.name, mode))
            return plan
        if mode == "update":
            if self.store.object_of_id(raw_id) != spec.name:
                plan.fail(_wrong_type_id(spec, raw_id))
                return plan
            plan.record_id = canonical_id(raw_id)
        elif raw_id not in (None, ""):
            if mode == "upsert":
                # UNVERIFIED wording: upsert on an external id does not take record Ids.
                plan.fail(
                    error(
                        "INVALID_FIELD_FOR_INSERT_UPDATE", "Id not allowed when upserting on an external id"
                    )
                )
            else:
                plan.fail(
                    error("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
                )
            return plan
        if mode == "upsert":
            assert ext is not None
            key_name = next((k for k in record if k.lower() == ext.name.lower()), None)
            value = record.get(key_name) if key_name else None
            if value in (None, ""):
                # UNVERIFIED: a record without a key value cannot be matched.
                plan.fail(error("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name]))
                return plan
            plan.values[ext.name] = value
        access = self.store.object_access(spec.name)
        if (plan.action == "insert" and not access.create) or (plan.action == "update" and not access.edit):
            # UNVERIFIED for a custom object the user may read but not create or edit.
            plan.fail(error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"))
        return plan

    def _resolve_existing(
        self, plans: list[Plan], mode: str, sobject: str | None, ext: FieldSpec | None
    ) -> None:
        if mode == "update":
            existing = self.store.get_many([p.record_id for p in plans if p.ok and p.record_id])
            for plan in plans:
                if not plan.ok:
                    continue
                found = existing.get(plan.record_id)
                if found is None:
                    # UNVERIFIED: a well-formed Id of no record in this org.
                    plan.fail(error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
                elif found[1]:
                    plan.fail(error("ENTITY_IS_DELETED", "entity is deleted"))
                else:
                    plan.existing = found[2]
                    plan.shown_id = plan.record_id
        elif mode == "upsert":
            assert ext is not None and sobject is not None
            keys = [key_value(p.values[ext.name]) for p in plans if p.ok]
            matches = self.store.find_keys(sobject, ext.name.lower(), keys)
            existing = self.store.get_many([i for ids in matches.values() for i in ids])
            for plan in plans:
                if not plan.ok:
                    continue
                ids = matches.get(key_value(plan.values[ext.name]), [])
                if len(ids) > 1:
                    # UNVERIFIED wording (single-record upsert answers HTTP 300 instead).
                    plan.fail(
                        error(
                            "DUPLICATE_EXTERNAL_ID",
                            f"more than one record found for external id field: {ids}",
                        )
                    )
                elif ids:
                    plan.action, plan.record_id = "update", ids[0]
                    plan.existing = existing[ids[0]][2]
                    plan.shown_id = ids[0]

    # --- results and commit -------------------------------------------------------------------

    @staticmethod
    def _result(plan: Plan, mode: str, rolled_back: bool, details: bool) -> dict[str, Any]:
        if plan.enqueued is not None:
            # Recent API versions report the asynchronous publish in errors, with the message's UUID.
            enqueued = error("OPERATION_ENQUEUED", plan.enqueued)
            return {"id": plan.record_id, "success": True, "errors": [enqueued]}
        if plan.ok and not rolled_back:
            result: dict[str, Any] = {"id": plan.record_id, "success": True, "errors": []}
            if mode == "upsert":
                result["created"] = plan.action == "insert"
            return result
        errors = plan.errors if details else [public_error(err) for err in plan.errors]
        result = {"success": False, "errors": errors if not plan.ok else [dict(ROLLED_BACK)]}
        if plan.ok and plan.shown_id:
            result = {"id": plan.shown_id, **result}
        return result

    def _commit(self, plans: list[Plan], auto_assign: bool) -> int:
        if not plans:
            return 0
        store = self.store
        now = self.store.clock.stamp()
        inserts: list[tuple[str, str, str]] = []
        updates: list[tuple[str, str]] = []
        key_deletes: list[tuple[str, str]] = []
        key_inserts: list[tuple[str, str, str, str]] = []
        touched_setup = False
        shapes: dict[str, _Shape] = {}
        for plan in plans:
            assert plan.sobject is not None
            shape = shapes.get(plan.sobject)
            if shape is None:
                shape = shapes[plan.sobject] = self._shape(plan.sobject, now)
            if plan.action == "insert":
                plan.record_id = store.new_id(shape.key_prefix)
                data: dict[str, Any] = {**shape.insert_defaults, **plan.values, "Id": plan.record_id}
                if shape.owned and data.get("OwnerId") is None:
                    data["OwnerId"] = store.user_id
                data.update(shape.insert_audit)
                old: dict[str, Any] = {}
            else:
                old = plan.existing or {}
                data = {**old, **plan.values, **shape.update_audit}
            if plan.sobject == "Lead" and auto_assign:
                # Sforce-Auto-Assign TRUE (the default): the org's assignment rule routes the lead.
                data["OwnerId"] = store.router_user_id
            derive(plan.sobject, data, plan.values)
            if shape.name_field is not None and plan.action == "insert":
                data["Name"] = self._custom_name(plan.sobject, shape.name_field, data)
            record_id = plan.record_id
            assert record_id is not None
            for f in shape.indexed:
                if plan.action == "update" and old.get(f.name) == data.get(f.name):
                    continue
                if plan.action == "update" and old.get(f.name) is not None:
                    key_deletes.append((record_id, f.name.lower()))
                if data.get(f.name) is not None:
                    key_inserts.append((plan.sobject, f.name.lower(), key_value(data[f.name]), record_id))
            composite = self.rules.composite(plan.sobject, data)
            if composite is not None and plan.action == "insert":
                key_inserts.append((plan.sobject, COMPOSITE_FIELD, composite, record_id))
            encoded = json.dumps(data, separators=(",", ":"))
            if plan.action == "insert":
                inserts.append((record_id, plan.sobject, encoded))
            else:
                updates.append((encoded, record_id))
            touched_setup |= plan.sobject in _GRANT_OBJECTS
        with store.transaction() as db:
            if inserts:
                db.executemany("INSERT INTO record (id, sobject, deleted, data) VALUES (?, ?, 0, ?)", inserts)
            if updates:
                db.executemany("UPDATE record SET data = ? WHERE id = ?", updates)
            if key_deletes:
                db.executemany("DELETE FROM keyval WHERE id = ? AND field = ?", key_deletes)
            if key_inserts:
                db.executemany(
                    "INSERT INTO keyval (sobject, field, value, id) VALUES (?, ?, ?, ?)", key_inserts
                )
            if inserts:
                store.save_counters()
        for _, sobject, _ in inserts:
            store.counts[sobject] += 1
        if touched_setup:
            store.refresh_grants()
        return len(plans)

    def _shape(self, sobject: str, now: str) -> _Shape:
        """What every record of ``sobject`` written in this transaction gets (computed once per object)."""
        spec = self.store.spec(sobject)
        defaults: dict[str, Any] = {}
        for f in self.store.all_fields(sobject):
            if f.type == "boolean":
                # A checkbox is never null: its default (a custom one's defaultValue), else false.
                defaults[f.name] = bool(f.default)
            elif f.defaulted_on_create and f.default is not None:
                defaults[f.name] = f.default
        audit = {
            k: (now if k.endswith("Date") or k == "SystemModstamp" else self.store.user_id)
            for k in _AUDIT
            if spec.has_field(k)
        }
        return _Shape(
            key_prefix=spec.key_prefix,
            owned=spec.has_field("OwnerId"),
            insert_defaults=defaults,
            insert_audit=audit,
            update_audit={k: v for k, v in audit.items() if k not in ("CreatedDate", "CreatedById")},
            indexed=self.rules.indexed_fields(sobject),
            name_field=next((f for f in spec.fields if f.name_field), None) if spec.custom else None,
        )

    def _custom_name(self, sobject: str, name_field: FieldSpec, data: dict[str, Any]) -> Any:
        """An auto-number's next value; a text name left empty becomes the record's Id (observed)."""
        if name_field.auto_number and name_field.display_format:
            return auto_number(name_field.display_format, self.store.next_number(f"auto:{sobject}"))
        return data.get("Name") or data["Id"]

    def _commit_deletes(self, plans: list[Plan], hard: bool) -> int:
        if not plans:
            return 0
        now = self.store.clock.stamp()
        rows = []
        for plan in plans:
            data = dict(plan.existing or {})
            data["IsDeleted"] = True
            for name in ("LastModifiedDate", "SystemModstamp"):
                if name in data:
                    data[name] = now
            rows.append((json.dumps(data, separators=(",", ":")), plan.record_id))
        with self.store.transaction() as db:
            if hard:
                db.executemany("DELETE FROM record WHERE id = ?", [(plan.record_id,) for plan in plans])
            else:
                db.executemany("UPDATE record SET deleted = 1, data = ? WHERE id = ?", rows)
            db.executemany("DELETE FROM keyval WHERE id = ?", [(plan.record_id,) for plan in plans])
        for plan in plans:
            assert plan.sobject is not None
            self.store.counts[plan.sobject] -= 1
        if any(plan.sobject in _GRANT_OBJECTS for plan in plans):
            self.store.refresh_grants()
        return len(plans)

    def convert_lead(self, record_id: str) -> bool:
        """Mark a Lead converted (the sandbox's stand-in for ``convertLead``); False when not a live Lead."""
        with self.store.lock:
            found = self.store.get(record_id)
            if found is None or found[0] != "Lead" or found[1]:
                return False
            data = found[2]
            now = self.store.clock.stamp()
            data.update(
                {
                    "IsConverted": True,
                    "ConvertedDate": now[:10],
                    "Status": "Closed - Converted",
                    "LastModifiedDate": now,
                    "SystemModstamp": now,
                }
            )
            self.store.db.execute("UPDATE record SET data = ? WHERE id = ?", (json.dumps(data), record_id))
            return True
