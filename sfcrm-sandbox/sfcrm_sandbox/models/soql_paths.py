"""Parent paths in SOQL: ``SELECT Name, Account.Ext_Id__c FROM Contact WHERE Account.Industry = …``.

A path goes through lookups by their relationship names (``AccountId`` → ``Account``, up to five
of them) to a field of the last parent (``docs/salesforce-facts.md``, "SOQL"). The engine of
:mod:`.soql` sees a path as one more field, named by its canonical spelling; this module resolves
paths against what the user can see, puts the parents' values into each row as it streams by (each
parent read once), and nests them the way the REST API answers them: ``"Account": {"attributes":
{…}, "Ext_Id__c": "A-1"}``, or ``"Account": null`` when the lookup is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.soql_syntax import (
    INVALID_FIELD,
    BoolOp,
    Comparison,
    Condition,
    Not,
    Query,
    located,
)

if TYPE_CHECKING:
    from sfcrm_sandbox.models.soql import FieldInfo
    from sfcrm_sandbox.models.store import OrgStore


@dataclass(frozen=True)
class Relation:
    """One relationship of a path, from the queried object or from the relation ``parent``.

    :param prefix: the canonical path to this parent (``Account``, ``Account.Owner``).
    :param parent: the prefix of the record that holds the lookup ("" for the queried object).
    :param lookup: the lookup field (``AccountId``).
    :param target: the parent's object.
    """

    prefix: str
    parent: str
    lookup: str
    target: str


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


def resolve_paths(
    store: OrgStore, sobject: str, query: Query, info: type[FieldInfo]
) -> tuple[dict[str, FieldInfo], dict[str, Relation]]:
    """The parent paths ``query`` uses: ``{lower-case path: FieldInfo named by its canonical
    spelling}`` and the relations they go through, by canonical prefix (parents before children).
    Raises :class:`SoqlError` as Salesforce does for an unknown relationship or field."""
    fields: dict[str, FieldInfo] = {}
    relations: dict[str, Relation] = {}
    for written, pos in _names(query):
        if "." not in written or written.lower() in fields:
            continue
        *steps, field_name = written.split(".")
        current, prefix = sobject, ""
        for step in steps:
            lookup = next(
                (
                    spec
                    for spec, _ in store.visible_fields(current).values()
                    if (spec.relationship_name or "").lower() == step.lower()
                ),
                None,
            )
            target = store.object_spec(lookup.reference_to[0]) if lookup else None
            if lookup is None or target is None:
                raise located(
                    INVALID_FIELD,
                    query.soql,
                    pos,
                    f"Didn't understand relationship '{step}' in field path. If you are attempting to use "
                    "a custom relationship, be sure to append the '__r' after the custom relationship name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            child = prefix
            prefix = f"{prefix}.{lookup.relationship_name}" if prefix else str(lookup.relationship_name)
            relations.setdefault(prefix, Relation(prefix, child, lookup.name, target.name))
            current = target.name
        entry = store.visible_fields(current).get(field_name.lower())
        if entry is None:
            raise located(
                INVALID_FIELD,
                query.soql,
                pos,
                f"No such column '{field_name}' on entity '{current}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        spec = entry[0]
        fields[written.lower()] = info(
            f"{prefix}.{spec.name}", spec.type, spec.filterable, spec.sortable, spec.groupable
        )
    ordered = dict(sorted(relations.items(), key=lambda item: item[0].count(".")))
    return fields, ordered


def with_parents(
    store: OrgStore,
    rows: Iterable[dict[str, Any]],
    relations: dict[str, Relation],
    fields: Iterable[FieldInfo],
) -> Iterator[dict[str, Any]]:
    """``rows`` with the values of the parent ``fields`` (``Account.Name``) and each parent's Id
    (``Account.Id``) added; an empty lookup, or one to a deleted record, gives nulls."""
    wanted: dict[str, list[str]] = {prefix: ["Id"] for prefix in relations}
    for info in fields:
        prefix, _, name = info.name.rpartition(".")
        if name != "Id":
            wanted[prefix].append(name)
    cache: dict[str, dict[str, Any] | None] = {}

    def parent(record_id: Any, target: str) -> dict[str, Any] | None:
        if not isinstance(record_id, str):
            return None
        if record_id not in cache:
            found = store.get(record_id)
            cache[record_id] = found[2] if found and found[0] == target and not found[1] else None
        return cache[record_id]

    for row in rows:
        records: dict[str, dict[str, Any] | None] = {"": row}
        for prefix, relation in relations.items():
            holder = records[relation.parent]
            record = parent(holder.get(relation.lookup), relation.target) if holder else None
            records[prefix] = record
            for name in wanted[prefix]:
                row[f"{prefix}.{name}"] = record.get(name) if record else None
        yield row


def nest_parents(
    row: dict[str, Any], relations: dict[str, Relation], url: Any, hidden: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A result row with its flat parent values nested as the REST API answers them.

    :param url: ``url(object, Id)`` → a record url, or None to leave urls out.
    :param hidden: parent Ids selected only to build urls (not shown).
    """
    if not relations:
        return row
    out: dict[str, Any] = {}
    for key, value in row.items():
        if "." not in key:
            out[key] = value
            continue
        steps = key.split(".")
        node: dict[str, Any] | None = out
        for depth in range(1, len(steps)):
            prefix = ".".join(steps[:depth])
            name = steps[depth - 1]
            assert node is not None
            if name not in node:
                node[name] = _parent_record(row, prefix, relations[prefix].target, url)
            node = node[name]
            if node is None:
                break
        if node is not None and key not in hidden:
            node[steps[-1]] = value
    return out


def _parent_record(row: dict[str, Any], prefix: str, target: str, url: Any) -> dict[str, Any] | None:
    marker = f"{prefix}."
    if f"{prefix}.Id" in row:
        record_id = row[f"{prefix}.Id"]
        present = record_id is not None
    else:  # no Id selected: a parent is there when any of its values is
        record_id = None
        present = any(v is not None for k, v in row.items() if k.startswith(marker))
    if not present:
        return None
    attributes: dict[str, Any] = {"type": target}
    if url is not None and record_id is not None:
        attributes["url"] = url(target, record_id)
    return {"attributes": attributes}
