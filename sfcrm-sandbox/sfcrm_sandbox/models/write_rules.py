"""The rules the org applies to each record of a write before committing any: fields and values,
required fields, duplicates within the request, unique and external-id values, lookups, and the
setup objects' own rules (``docs/salesforce-facts.md``, "Writes")."""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.duplicates import MATCH_FIELDS
from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.keys import COMPOSITE_FIELD, COMPOSITE_KEYS, key_value
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import ValueRejected, coerce, error
from sfcrm_sandbox.models.write_plan import Plan, RequestRejected


class WriteRules:
    """Checks planned records against the org; a failed check records its error on the plan.

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def validate_values(
        self, plan: Plan, record: dict[str, Any], ext: FieldSpec | None, *, json_body: bool = True
    ) -> None:
        """Check and convert ``record``'s values into ``plan.values``, or record the first error.

        :param json_body: the records came as a REST API JSON body: a value of the wrong kind makes
            the whole request unreadable (:class:`RequestRejected` ``JSON_PARSER_ERROR``), where
            the Bulk APIs fail the one record.
        """
        assert plan.sobject is not None
        insert = plan.action == "insert"
        if not insert and plan.sobject == "Lead" and plan.existing and plan.existing.get("IsConverted"):
            plan.fail(error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"))
            return
        visible = self.store.visible_fields(plan.sobject)
        chosen: dict[str, tuple[FieldSpec, Any]] = {}
        read_only: list[str] = []
        for key, raw in record.items():
            lower = key.lower()
            if lower in ("attributes", "id"):
                continue
            entry = visible.get(lower)
            if entry is None:
                plan.fail(error("INVALID_FIELD", f"No such column '{key}' on sobject of type {plan.sobject}"))
                return
            field_spec, editable = entry
            allowed = field_spec.createable if insert else field_spec.updateable
            if not (editable and allowed) and not (
                ext is not None and field_spec.name == ext.name and editable
            ):
                read_only.append(field_spec.name)
                continue
            chosen[field_spec.name] = (field_spec, raw)
        if read_only:
            plan.fail(
                error(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {', '.join(read_only)}. "
                    "Please check the security settings "
                    "of this field and verify that it is read/write for your profile or permission set.",
                    read_only,
                )
            )
            return
        values: dict[str, Any] = {}
        for name, (field_spec, raw) in chosen.items():
            try:
                values[name] = coerce(field_spec, raw)
            except ValueRejected as rejected:
                if json_body and rejected.json_message:
                    raise RequestRejected(400, "JSON_PARSER_ERROR", rejected.json_message) from None
                plan.fail(rejected.error)
                return
        if insert:
            missing = [f.name for f in self.store.required_fields(plan.sobject) if values.get(f.name) is None]
        else:
            missing = [name for name, (f, _) in chosen.items() if f.required and values[name] is None]
        if missing:
            plan.fail(
                error(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            )
            return
        plan.values = values

    def check_duplicates_in_request(self, plans: list[Plan], mode: str, ext: FieldSpec | None) -> None:
        if mode == "upsert":
            assert ext is not None
            by_key: dict[str, list[Plan]] = {}
            for plan in plans:
                if plan.ok:
                    by_key.setdefault(key_value(plan.values[ext.name]), []).append(plan)
            for group in by_key.values():
                if len(group) > 1:
                    # UNVERIFIED exact text; every record sharing the key fails, none is written.
                    for plan in group:
                        plan.fail(
                            error(
                                "DUPLICATE_EXTERNAL_ID",
                                f"Duplicate external id specified: {group[0].values[ext.name]}",
                                [ext.name],
                            )
                        )
        elif mode == "update":
            seen: set[str] = set()
            for plan in plans:
                if not plan.ok or plan.record_id is None:
                    continue
                if plan.record_id in seen:
                    # UNVERIFIED: Apex says "Duplicate id in list"; the sandbox writes the first
                    # occurrence and fails the later ones with that message.
                    plan.fail(error("DUPLICATE_VALUE", f"Duplicate id in list: {plan.record_id}"))
                seen.add(plan.record_id)

    def indexed_fields(self, sobject: str) -> list[FieldSpec]:
        """Fields whose values are indexed: unique ones, external ids, and what duplicate rules match on."""
        matched = MATCH_FIELDS.get(sobject, ())
        return [f for f in self.store.all_fields(sobject) if f.unique or f.external_id or f.name in matched]

    @staticmethod
    def composite(sobject: str, data: dict[str, Any]) -> str | None:
        names = COMPOSITE_KEYS.get(sobject)
        if not names or any(data.get(n) is None for n in names):
            return None
        return key_value("|".join(str(data[n]) for n in names))

    def check_unique(self, plans: list[Plan]) -> None:
        """DUPLICATE_VALUE for unique fields (and composite keys) against the org and the request."""
        claims: dict[tuple[str, str, str], Plan] = {}
        by_object: dict[str, list[Plan]] = {}
        for plan in plans:
            if plan.ok and plan.sobject:
                by_object.setdefault(plan.sobject, []).append(plan)
        for sobject, group in by_object.items():
            unique_fields = [f for f in self.indexed_fields(sobject) if f.unique]
            checks: list[tuple[Plan, str, str, str]] = []  # plan, index field, value, label
            for plan in group:
                for f in unique_fields:
                    if plan.values.get(f.name) is not None:
                        checks.append((plan, f.name.lower(), key_value(plan.values[f.name]), f.name))
                # Composite keys are claimed on insert only, where a record is just its values.
                composite = self.composite(sobject, plan.values) if plan.action == "insert" else None
                if composite is not None:
                    checks.append((plan, COMPOSITE_FIELD, composite, "<unknown>"))
            for index_field in {c[1] for c in checks}:
                values = [c[2] for c in checks if c[1] == index_field]
                found = self.store.find_keys(sobject, index_field, values)
                for plan, field_name, value, label in (c for c in checks if c[1] == index_field):
                    owners = [i for i in found.get(value, []) if i != plan.record_id]
                    claim_key = (sobject, field_name, value)
                    claimant = claims.get(claim_key)
                    if not owners and claimant is not None and claimant is not plan:
                        # An earlier record of this request takes the value (no Id yet when inserted).
                        owners = [claimant.record_id or "<unknown>"]
                    if owners:
                        plan.fail(
                            error(
                                "DUPLICATE_VALUE",
                                f"duplicate value found: {label} duplicates value "
                                f"on record with id: {owners[0]}",
                                [] if label == "<unknown>" else [label],
                            )
                        )
                    else:
                        claims[claim_key] = plan

    def reference_fields(self, sobject: str) -> frozenset[str]:
        """The lookups of ``sobject`` (standard fields only: the Tooling API here creates no lookups)."""
        return frozenset(f.name for f in self.store.spec(sobject).fields if f.type == "reference")

    def check_references(self, plans: list[Plan]) -> None:
        refs = {
            value
            for plan in plans
            if plan.ok and plan.sobject
            for name in self.reference_fields(plan.sobject).intersection(plan.values)
            if (value := plan.values[name]) is not None
        }
        if not refs:
            return
        found = self.store.get_many(sorted(refs))
        for plan in plans:
            if not plan.ok or not plan.sobject:
                continue
            for name in self.reference_fields(plan.sobject).intersection(plan.values):
                value = plan.values[name]
                if value is None:
                    continue
                target = found.get(value)
                if target is None:
                    # UNVERIFIED: a lookup to an Id of no record.
                    plan.fail(error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]))
                elif target[1]:
                    plan.fail(error("ENTITY_IS_DELETED", "entity is deleted", [name]))
