"""Lookups set through the parent's external id: ``{"Account": {"Ext_Id__c": "A-1"}}`` on a Contact
sets ``AccountId`` to the Account whose ``Ext_Id__c`` is ``A-1`` (``docs/salesforce-facts.md``,
"Foreign keys by external id").

The key is the lookup's relationship name (``AccountId`` → ``Account``); its value an object of one
field that identifies the parent — an external id, or an indexed ``idLookup`` standard field such as
a Contact's ``Email`` — (and, for lookups to several objects, ``attributes.type``). Parents
are looked up among the records saved before the request — a parent created by the same request is
not found — case-insensitively, as external ids match. A key matching no record fails the record
with ``INVALID_FIELD`` "Foreign key external ID: … not found for field … in entity …", one matching
several with ``DUPLICATE_EXTERNAL_ID``. REST, sObject Collections, upserts and Bulk (``Account.Ext_Id__c``
columns) all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfcrm_sandbox.models.duplicates import MATCH_FIELDS
from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.keys import key_value
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import error
from sfcrm_sandbox.models.write_plan import Plan


@dataclass(frozen=True)
class _Reference:
    """One foreign-key reference of one record: the relationship key it came as, the lookup it sets,
    the parent object and its external-id field, and the key value (None clears the lookup)."""

    key: str
    lookup: FieldSpec
    target: str
    external_id: FieldSpec
    value: Any


def _identifies(sobject: str, spec: FieldSpec) -> bool:
    """A field that may name a parent: an external id, or an indexed standard field Salesforce marks
    ``idLookup`` (Contact/Lead ``Email``, User ``Username``); never ``Id`` (that is the lookup itself)."""
    indexed = spec.unique or spec.name in MATCH_FIELDS.get(sobject, ())
    return spec.external_id or (spec.id_lookup and spec.name != "Id" and indexed)


class ForeignKeys:
    """Turns foreign-key references into lookup Ids, for a whole request at once.

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def resolve(self, plans: list[Plan], records: list[Any]) -> list[Any]:
        """``records`` with each reference replaced by its lookup field and the parent's Id; a
        reference that names no single parent fails its plan."""
        found: dict[tuple[str, int], list[_Reference]] = {}
        for position, (plan, record) in enumerate(zip(plans, records, strict=True)):
            if plan.ok and plan.sobject and isinstance(record, dict):
                references = self._references(plan, record)
                if references:
                    found[(plan.sobject, position)] = references
        if not found:
            return records
        parents = self._parents([ref for refs in found.values() for ref in refs])
        resolved = list(records)
        for (_, position), references in found.items():
            plan, record = plans[position], dict(records[position])
            for ref in references:
                del record[ref.key]
                if ref.value is None:
                    record[ref.lookup.name] = None
                    continue
                ids = parents.get((ref.target, ref.external_id.name, key_value(ref.value)), [])
                if not ids:
                    plan.fail(
                        error(
                            "INVALID_FIELD",
                            f"Foreign key external ID: {ref.value} not found for field "
                            f"{ref.external_id.name} in entity {ref.target}",
                        )
                    )
                elif len(ids) > 1:
                    # UNVERIFIED wording for a foreign key (an upsert key says the same, observed).
                    plan.fail(
                        error(
                            "DUPLICATE_EXTERNAL_ID",
                            f"{ref.external_id.label}: more than one record found for external id field: "
                            f"[{', '.join(ids)}]",
                        )
                    )
                else:
                    record[ref.lookup.name] = ids[0]
            resolved[position] = record
        return resolved

    def _parents(self, references: list[_Reference]) -> dict[tuple[str, str, str], list[str]]:
        """``{(object, external-id field, key): [Ids]}`` for every key referenced, one look-up each."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for ref in references:
            if ref.value is not None:
                wanted.setdefault((ref.target, ref.external_id.name), set()).add(key_value(ref.value))
        parents: dict[tuple[str, str, str], list[str]] = {}
        for (target, field), keys in wanted.items():
            for key, ids in self.store.find_keys(target, field.lower(), sorted(keys)).items():
                parents[(target, field, key)] = ids
        return parents

    def _references(self, plan: Plan, record: dict[str, Any]) -> list[_Reference]:
        assert plan.sobject is not None
        visible = self.store.visible_fields(plan.sobject)
        lookups = {
            spec.relationship_name.lower(): spec
            for spec, _ in visible.values()
            if spec.relationship_name is not None
        }
        references = []
        for key, value in record.items():
            if not isinstance(value, dict) or key.lower() == "attributes":
                continue
            lookup = lookups.get(key.lower())
            if lookup is None:
                if key.lower() not in visible:
                    plan.fail(
                        error("INVALID_FIELD", f"No such column '{key}' on sobject of type {plan.sobject}")
                    )
                    return []
                continue  # an object for a plain field: the value check refuses it

            if any(k.lower() == lookup.name.lower() for k in record):
                plan.fail(
                    error(
                        "INVALID_FIELD",
                        f"Cannot specify both an external ID reference {lookup.relationship_name} "
                        f"and a salesforce id, {lookup.name}",
                    )
                )
                return []
            reference = self._reference(plan, key, lookup, value)
            if reference is None:
                return []
            references.append(reference)
        return references

    def _reference(self, plan: Plan, key: str, lookup: FieldSpec, body: dict[str, Any]) -> _Reference | None:
        attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
        named = attributes.get("type")
        target = next(
            (t for t in lookup.reference_to if named is None or t.lower() == str(named).lower()), None
        )
        fields = [k for k in body if k != "attributes"]
        target_spec = self.store.object_spec(target) if target else None
        if target_spec is None or len(fields) != 1 or (named is None and len(lookup.reference_to) > 1):
            # UNVERIFIED wording: a reference names one external-id field of one parent object.
            plan.fail(
                error(
                    "INVALID_FIELD",
                    f"The foreign key {key} must name one external ID field of "
                    f"{' or '.join(lookup.reference_to)} (and its attributes.type when it may be several)",
                )
            )
            return None
        entry = self.store.visible_fields(target_spec.name).get(fields[0].lower())
        if entry is None or not _identifies(target_spec.name, entry[0]):
            # UNVERIFIED wording.
            plan.fail(
                error("INVALID_FIELD", f"{fields[0]} is not an external ID field of {target_spec.name}")
            )
            return None
        value = body[fields[0]]
        return _Reference(key, lookup, target_spec.name, entry[0], None if value in (None, "") else value)
