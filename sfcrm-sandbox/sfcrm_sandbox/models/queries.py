"""SOQL against the org's records: which object a query reads, the fields the user can see, the rows.

:mod:`.soql` parses and evaluates; this module feeds it the org (streamed from SQLite, unset fields
read as null, compound address fields built from their components, parents' fields joined in by
:mod:`.soql_paths`), and dates relative literals from the org's clock. The REST ``query`` resources
and the Bulk APIs' query jobs both run queries here, so a query means the same thing whichever API
asks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sfcrm_sandbox.models.compound import compound_fields, with_compound_values
from sfcrm_sandbox.models.soql import FieldInfo, Query, SoqlError, execute, parse
from sfcrm_sandbox.models.soql_paths import (
    Relation,
    nest_parents,
    resolve_paths,
    select_parent_ids,
    with_parents,
)
from sfcrm_sandbox.models.store import OrgStore


def unknown_object(name: str) -> SoqlError:
    return SoqlError(
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a "
        "custom object, be sure to append the '__c' after the entity name.",
    )


@dataclass(frozen=True)
class ObjectQuery:
    """A parsed query of one of the org's objects, checked against the fields the user can see.

    :param query: the parsed query; when ``hidden_id``, ``Id`` was appended to its fields.
    :param sobject: the object's canonical name.
    :param fields: the object's visible fields, keyed by lower-case name.
    :param hidden_id: ``Id`` was not selected but was added (see :func:`with_id`).
    :param relations: the parent relationships the query's paths go through, by canonical prefix.
    :param hidden_parents: parent Ids (``Account.Id``) added to the selection to build urls.
    """

    query: Query
    sobject: str
    fields: dict[str, FieldInfo]
    hidden_id: bool
    relations: dict[str, Relation] = field(default_factory=dict)
    hidden_parents: frozenset[str] = frozenset()

    def run(self, store: OrgStore, *, include_deleted: bool) -> list[dict[str, Any]] | int:
        """The selected fields of the matching rows (or the count); raises :class:`SoqlError`."""
        # The engine reads fields with .get(): a field the stored record leaves unset reads as null.
        # Synchronous on the event loop: the row stream cannot interleave with a write.
        rows: Iterable[dict[str, Any]] = store.stream(self.sobject, include_deleted=include_deleted)
        compound = compound_fields(store.visible_fields(self.sobject), self.query.fields)
        if compound:
            rows = with_compound_values(rows, compound)
        if self.relations:
            paths = [info for info in self.fields.values() if "." in info.name]
            rows = with_parents(rows, self.relations, paths, StoreRelationships(store))
        return execute(self.query, rows, self.fields, today=store.clock.today())

    def nested(self, row: dict[str, Any], url: Any) -> dict[str, Any]:
        """A result row with its parents' values nested (:func:`nest_parents`)."""
        return nest_parents(row, self.relations, url, self.hidden_parents)

    def check(self) -> None:
        """Resolve every field and literal now (a bad query fails before any row is read)."""
        execute(self.query, (), self.fields)

    @property
    def selected(self) -> list[str]:
        """The selected fields' canonical names, in SELECT order (without a hidden ``Id`` or parent Ids)."""
        names = [self.fields[name.lower()].name for name in self.query.fields if name.lower() in self.fields]
        names = [name for name in names if name not in self.hidden_parents]
        return names[:-1] if self.hidden_id else names


def field_infos(store: OrgStore, sobject: str) -> dict[str, FieldInfo]:
    """What the SOQL engine needs of the fields of ``sobject`` the integration user can see."""
    return {
        lower: FieldInfo(
            f.name,
            f.type,
            f.filterable,
            f.sortable,
            f.groupable,
            relationship=f.relationship_name,
            reference_to=f.reference_to,
        )
        for lower, (f, _) in store.visible_fields(sobject).items()
    }


class StoreRelationships:
    """Parent paths (``Account.Name``) through the org's records, as the user sees them
    (:class:`~sfcrm_sandbox.models.soql_paths.Relationships`).

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store
        # One query reads the same parents again and again (every contact of one account); a new
        # instance per query, so it never serves a parent as it was before a later write, and a
        # bounded cache, so a query over a million children with distinct parents stays small.
        self.record = lru_cache(maxsize=20_000)(self._record)
        self._compound = lru_cache(maxsize=None)(self._compound_fields)

    def fields_of(self, sobject: str) -> dict[str, FieldInfo] | None:
        spec = self.store.object_spec(sobject)
        return None if spec is None or not spec.queryable else field_infos(self.store, spec.name)

    def _record(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        found = self.store.get(record_id)
        if found is None or found[1]:
            return None  # no such record, or in the recycle bin: no parent
        sobject, _, row = found
        compound = self._compound(sobject)
        return sobject, next(with_compound_values([row], compound)) if compound else row

    def _compound_fields(self, sobject: str) -> dict[str, dict[str, str]]:
        """Every compound field of ``sobject`` (a path may select ``Account.BillingAddress``)."""
        visible = self.store.visible_fields(sobject)
        return compound_fields(visible, visible)


def with_id(parsed: Query) -> tuple[Query, bool]:
    """``parsed`` selecting ``Id`` too, and whether it had to be added (REST puts every record's url
    in its attributes, ``Id`` selected or not: the caller takes it out of each row again)."""
    if parsed.is_count or parsed.is_aggregate or "id" in {name.lower() for name in parsed.fields}:
        return parsed, False
    return replace(parsed, fields=(*parsed.fields, "Id"), field_positions=(*parsed.field_positions, 0)), True


def object_query(store: OrgStore, soql: str, *, select_id: bool = True) -> ObjectQuery:
    """Parse ``soql`` against the org; raises :class:`SoqlError` with Salesforce's code.

    :param select_id: select ``Id`` quietly when the query does not (for record urls).
    """
    parsed = parse(soql)
    spec = store.object_spec(parsed.sobject)
    if spec is None:
        raise unknown_object(parsed.sobject)
    if not spec.queryable:
        # UNVERIFIED code and wording: platform events are published, never queried.
        raise SoqlError("INVALID_TYPE_FOR_OPERATION", f"entity type {spec.name} does not support query")
    fields = field_infos(store, spec.name)
    paths, relations = resolve_paths(parsed, spec.name, fields, StoreRelationships(store))
    fields.update(paths)
    hidden_id = False
    hidden_parents: frozenset[str] = frozenset()
    if select_id:
        parsed, parent_ids = select_parent_ids(parsed, relations)
        fields.update(parent_ids)
        hidden_parents = frozenset(info.name for info in parent_ids.values())
        parsed, hidden_id = with_id(parsed)
    return ObjectQuery(parsed, spec.name, fields, hidden_id, relations, hidden_parents)
