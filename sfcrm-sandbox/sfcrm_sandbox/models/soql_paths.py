"""Parent paths in SOQL: ``SELECT Name, Account.Ext_Id__c FROM Contact WHERE Account.Industry = …``.

A path goes through lookups by their relationship names (``AccountId`` → ``Account``, up to five
of them) to a field of the last parent (``docs/salesforce-facts.md``, "SOQL"); a lookup that may point
to several objects (``CampaignMember.LeadOrContactId``) reaches the fields they all have. The engine
of :mod:`.soql` sees a path as one more field, named by its canonical spelling; this module resolves
paths against what the user can see, puts the parents' values into each row as it streams by, and
nests them the way the REST API answers them: ``"Account": {"attributes": {…}, "Ext_Id__c": "A-1"}``,
or ``"Account": null`` when the lookup is empty. Any API's query reads them (REST nests them; Bulk
CSV writes ``Account.Ext_Id__c`` columns), in SELECT, WHERE, GROUP BY, HAVING and ORDER BY alike.

Pure: the org is reached through :class:`Relationships` (``queries.StoreRelationships`` reads the
store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sfcrm_sandbox.models.ids import object_of_id
from sfcrm_sandbox.models.soql import FieldInfo
from sfcrm_sandbox.models.soql_syntax import (
    INVALID_FIELD,
    BoolOp,
    Comparison,
    Condition,
    Not,
    Query,
    located,
)

Row = dict[str, Any]


class Relationships(Protocol):
    """How paths reach the org: the fields of an object, and the records lookups point to."""

    def fields_of(self, sobject: str) -> Mapping[str, FieldInfo] | None:
        """The fields of ``sobject`` the user can see, keyed by lower-case name (None: no such object)."""

    def record(self, record_id: str) -> tuple[str, Row] | None:
        """``(object, row)`` of the live record with that Id; None when there is none (or it is deleted)."""


@dataclass(frozen=True)
class Relation:
    """One relationship of a path, from the queried object or from the relation ``parent``.

    :param prefix: the canonical path to this parent (``Account``, ``Account.Owner``).
    :param parent: the prefix of the record that holds the lookup ("" for the queried object).
    :param lookup: the lookup field (``AccountId``).
    :param targets: the object(s) the lookup may point to.
    """

    prefix: str
    parent: str
    lookup: str
    targets: tuple[str, ...]


def _names(query: Query) -> Iterator[tuple[str, int]]:
    """Every field name the query writes, with its position."""
    yield from zip(query.fields, query.field_positions, strict=True)
    yield from query.group_by
    for aggregate in query.aggregates:
        yield aggregate.field, aggregate.pos
    for item in query.order_by:
        yield item.field, item.pos
    for condition in (query.where, query.having):
        yield from _condition_names(condition)


def _condition_names(node: Condition | None) -> Iterator[tuple[str, int]]:
    if isinstance(node, Comparison):
        yield node.field, node.pos
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            yield from _condition_names(operand)
    elif isinstance(node, Not):
        yield from _condition_names(node.operand)


def _shared_fields(relationships: Relationships, targets: tuple[str, ...]) -> dict[str, FieldInfo] | None:
    """The fields a path may read behind a lookup: for a lookup to several objects, those all have."""
    described = [relationships.fields_of(target) for target in targets]
    if not described or any(fields is None for fields in described):
        return None
    first, *others = described
    assert first is not None
    return {lower: info for lower, info in first.items() if all(lower in other for other in others if other)}


def resolve_paths(
    query: Query, sobject: str, fields: Mapping[str, FieldInfo], relationships: Relationships
) -> tuple[dict[str, FieldInfo], dict[str, Relation]]:
    """The parent paths ``query`` uses: ``{lower-case path: FieldInfo named by its canonical
    spelling}`` and the relations they go through, by canonical prefix (parents before children).

    :param fields: the fields of ``sobject`` (the queried object), keyed by lower-case name.
    :raises SoqlError: as Salesforce answers an unknown relationship or field.
    """
    paths: dict[str, FieldInfo] = {}
    relations: dict[str, Relation] = {}
    for written, pos in _names(query):
        if "." not in written or written.lower() in paths:
            continue
        *steps, field_name = written.split(".")
        current, entity, prefix = fields, sobject, ""
        for step in steps:
            lookup = next(
                (
                    info
                    for info in current.values()
                    if info.relationship and info.relationship.lower() == step.lower()
                ),
                None,
            )
            parent_fields = _shared_fields(relationships, lookup.reference_to) if lookup else None
            if lookup is None or lookup.relationship is None or parent_fields is None:
                raise located(
                    INVALID_FIELD,
                    query.soql,
                    pos,
                    f"Didn't understand relationship '{step}' in field path. If you are attempting to use "
                    "a custom relationship, be sure to append the '__r' after the custom relationship name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            child = prefix
            prefix = f"{prefix}.{lookup.relationship}" if prefix else lookup.relationship
            relations.setdefault(prefix, Relation(prefix, child, lookup.name, lookup.reference_to))
            current, entity = parent_fields, lookup.reference_to[0]
        info = current.get(field_name.lower())
        if info is None:
            raise located(
                INVALID_FIELD,
                query.soql,
                pos,
                f"No such column '{field_name}' on entity '{entity}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        paths[written.lower()] = replace(
            info, name=f"{prefix}.{info.name}", relationship=None, reference_to=()
        )
    ordered = dict(sorted(relations.items(), key=lambda item: item[0].count(".")))
    return paths, ordered


def select_parent_ids(query: Query, relations: Mapping[str, Relation]) -> tuple[Query, dict[str, FieldInfo]]:
    """``query`` also selecting every parent's Id (``Account.Id``) it does not select itself, so that
    REST can put each parent's url in its attributes; returns the query and the added fields (to be
    left out of the answer: :func:`nest_parents`'s ``hidden``)."""
    if not relations or query.is_aggregate or query.is_count:
        return query, {}
    selected = {name.lower() for name in query.fields}
    added = {
        f"{prefix}.Id".lower(): FieldInfo(f"{prefix}.Id", "id")
        for prefix in relations
        if f"{prefix}.Id".lower() not in selected
    }
    names = tuple(info.name for info in added.values())
    extended = replace(
        query, fields=(*query.fields, *names), field_positions=(*query.field_positions, *[0] * len(names))
    )
    return extended, added


def with_parents(
    rows: Iterable[Row],
    relations: Mapping[str, Relation],
    fields: Iterable[FieldInfo],
    relationships: Relationships,
) -> Iterator[Row]:
    """``rows`` with the values of the parent ``fields`` (``Account.Name``) and each parent's Id
    (``Account.Id``) added; an empty lookup, or one to a deleted record, gives nulls."""
    wanted: dict[str, list[str]] = {prefix: ["Id"] for prefix in relations}
    for info in fields:
        prefix, _, name = info.name.rpartition(".")
        if name != "Id":
            wanted[prefix].append(name)
    for row in rows:
        records: dict[str, Row | None] = {"": row}
        for prefix, relation in relations.items():
            holder = records[relation.parent]
            parent_id = holder.get(relation.lookup) if holder else None
            found = relationships.record(parent_id) if isinstance(parent_id, str) and parent_id else None
            record = found[1] if found is not None and found[0] in relation.targets else None
            records[prefix] = record
            for name in wanted[prefix]:
                row[f"{prefix}.{name}"] = record.get(name) if record else None
        yield row


def nest_parents(
    row: Row,
    relations: Mapping[str, Relation],
    url: Callable[[str, str], str] | None,
    hidden: Iterable[str] = (),
) -> Row:
    """A result row with its flat parent values nested as the REST API answers them.

    :param url: ``url(object, Id)`` → a record url, or None to leave urls out.
    :param hidden: parent Ids selected only to build urls (not shown).
    """
    if not relations:
        return row
    hidden = frozenset(hidden)
    out: Row = {}
    for key, value in row.items():
        if "." not in key:
            out[key] = value
            continue
        steps = key.split(".")
        node: Row | None = out
        for depth in range(1, len(steps)):
            prefix = ".".join(steps[:depth])
            name = steps[depth - 1]
            assert node is not None
            if name not in node:
                node[name] = _parent_record(row, prefix, relations[prefix].targets, url)
            node = node[name]
            if node is None:
                break
        if node is not None and key not in hidden:
            node[steps[-1]] = value
    return out


def _parent_record(
    row: Row, prefix: str, targets: tuple[str, ...], url: Callable[[str, str], str] | None
) -> Row | None:
    marker = f"{prefix}."
    if f"{prefix}.Id" in row:
        record_id = row[f"{prefix}.Id"]
        present = record_id is not None
    else:  # no Id selected: a parent is there when any of its values is
        record_id = None
        present = any(v is not None for k, v in row.items() if k.startswith(marker))
    if not present:
        return None
    # A lookup to several objects: its Id's key prefix says which one this parent is.
    kind = targets[0] if len(targets) == 1 or record_id is None else (object_of_id(record_id) or targets[0])
    attributes: Row = {"type": kind}
    if url is not None and record_id is not None:
        attributes["url"] = url(kind, record_id)
    return {"attributes": attributes}
