"""Aggregate SOQL: ``COUNT(field)``, ``COUNT_DISTINCT``, ``SUM``, ``AVG``, ``MIN``, ``MAX``, GROUP BY, HAVING.

Salesforce answers an aggregate query with ``AggregateResult`` rows (``docs/salesforce-facts.md``,
"SOQL"): one per group (one in all without GROUP BY), holding the grouped fields under their names
(a parent's field under its own name: ``Account.Name`` as ``Name``) and each aggregate under its
alias, or ``expr0``, ``expr1``, ... numbered over the aggregates written without one. Aggregates skip
nulls; ``COUNT`` of nothing is 0, the others null. A field selected outside an aggregate must be
grouped; ``SUM`` and ``AVG`` take numbers; long text areas cannot be aggregated and only groupable
fields can be grouped. HAVING and ORDER BY may use aggregates; LIMIT and OFFSET count groups. An
aggregate query has no further pages.

Grouping and HAVING/ORDER BY reuse the engine of :mod:`.soql`: every group becomes a row of
synthetic columns (one per grouped field and per aggregate) that the ordinary compiler filters
and sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.soql_syntax import (
    INVALID_FIELD,
    MALFORMED_QUERY,
    BoolOp,
    Comparison,
    Condition,
    Not,
    Query,
    SoqlError,
    located,
)

if TYPE_CHECKING:
    from sfcrm_sandbox.models.soql import FieldInfo

MAX_GROUPS = 2000
_NUMERIC = ("int", "long", "double", "currency", "percent")
_RESULT_TYPE = {"COUNT": "int", "COUNT_DISTINCT": "int", "SUM": "double", "AVG": "double"}


def _check_function(query: Query, function: str, info: FieldInfo, pos: int) -> None:
    if not info.filterable or (function in ("SUM", "AVG") and info.type.lower() not in _NUMERIC):
        raise located(
            INVALID_FIELD,
            query.soql,
            pos,
            f"field {info.name} does not support aggregate operator {function}",
        )


def _compute(function: str, values: list[Any], norm: Callable[[Any], Any], numeric: bool) -> Any:
    present = [v for v in values if v is not None and v != ""]
    if function == "COUNT":
        return len(present)
    if function == "COUNT_DISTINCT":
        return len({norm(v) for v in present})
    if not present:
        return None
    if function == "SUM":
        return sum(present)
    if function == "AVG":
        return sum(present) / len(present)
    if function == "MIN":
        return min(present, key=norm) if not numeric else min(present)
    return max(present, key=norm) if not numeric else max(present)


def execute_aggregate(
    query: Query,
    rows: Iterable[Mapping[str, Any]],
    fields: Mapping[str, FieldInfo],
    compiler_of: Callable[[Query, Mapping[str, FieldInfo]], Any],
    normalizer: Callable[[FieldInfo], Callable[[Any], Any]],
) -> list[dict[str, Any]]:
    """The ``AggregateResult`` rows of ``query`` over ``rows`` (already filtered by WHERE).

    :param compiler_of: builds the engine's compiler for a query and its fields.
    :param normalizer: the comparable form of a field's values (groups ignore the case of text).
    """
    compiler = compiler_of(query, fields)
    grouped = [compiler.resolve(name, pos) for name, pos in query.group_by]
    for info, (_, pos) in zip(grouped, query.group_by, strict=True):
        if not info.groupable:
            raise located(
                INVALID_FIELD, query.soql, pos, f"field '{info.name}' can not be grouped in a query call"
            )
    grouped_names = {info.name for info in grouped}
    for name, pos in zip(query.fields, query.field_positions, strict=True):
        info = compiler.resolve(name, pos)
        if info.name not in grouped_names:
            raise located(
                MALFORMED_QUERY, query.soql, pos, f"Field must be grouped or aggregated: {info.name}"
            )

    # Every aggregate anything asks for, once: (function, canonical field) → synthetic column.
    columns: dict[tuple[str, str], tuple[str, FieldInfo]] = {}

    def column(function: str, name: str, pos: int) -> str:
        info = compiler.resolve(name, pos)
        _check_function(query, function, info, pos)
        key = (function, info.name)
        if key not in columns:
            columns[key] = (f"__agg{len(columns)}", info)
        return columns[key][0]

    outputs: list[tuple[str, str]] = []  # (output name, synthetic column or field name), in SELECT order
    unnamed = 0
    items: list[tuple[int, Any]] = [(a.index, a) for a in query.aggregates]
    position = {index for index, _ in items}
    plain = iter(zip(query.fields, query.field_positions, strict=True))
    for index in range(len(query.fields) + len(query.aggregates)):
        if index in position:
            aggregate = next(a for i, a in items if i == index)
            synthetic = column(aggregate.function, aggregate.field, aggregate.pos)
            if aggregate.alias:
                name = aggregate.alias
            else:
                name, unnamed = f"expr{unnamed}", unnamed + 1
            outputs.append((name, synthetic))
        else:
            field_name, pos = next(plain)
            source = compiler.resolve(field_name, pos).name
            # A grouped parent field (Account.Name) comes back under its own name (Name), unnested.
            outputs.append((source.rpartition(".")[2], source))

    having = _rewrite(query.having, column) if query.having is not None else None
    order_by = tuple(
        replace(item, field=column(item.function, item.field, item.pos), function=None)
        if item.function
        else item
        for item in query.order_by
    )

    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    norms = [normalizer(info) for info in grouped]
    for row in rows:
        key = tuple(norm(row.get(info.name)) for norm, info in zip(norms, grouped, strict=True))
        groups.setdefault(key, []).append(row)
    if not grouped:
        groups = {(): list(groups.get((), []))}

    synthetic_rows = []
    for members in groups.values():
        out: dict[str, Any] = {info.name: members[0].get(info.name) for info in grouped}
        for (function, _), (synthetic, info) in columns.items():
            numeric = info.type.lower() in _NUMERIC
            out[synthetic] = _compute(
                function, [m.get(info.name) for m in members], normalizer(info), numeric
            )
        synthetic_rows.append(out)

    synthetic_fields = dict(fields)
    for (function, _), (synthetic, info) in columns.items():
        result_type = _RESULT_TYPE.get(function, info.type)
        synthetic_fields[synthetic.lower()] = replace(
            info, name=synthetic, type=result_type, filterable=True, sortable=True
        )
    synthetic_query = replace(
        query, where=having, order_by=order_by, aggregates=(), group_by=(), having=None, fields=()
    )
    engine = compiler_of(synthetic_query, synthetic_fields)
    if having is not None:
        predicate = engine.predicate(having)
        synthetic_rows = [r for r in synthetic_rows if predicate(r)]
    if order_by:
        synthetic_rows.sort(key=engine.order_key())
    offset = query.offset or 0
    end = None if query.limit is None else offset + query.limit
    synthetic_rows = synthetic_rows[offset:end]
    if len(synthetic_rows) > MAX_GROUPS:
        # UNVERIFIED error code; the message is Salesforce's documented rule.
        raise SoqlError(
            MALFORMED_QUERY,
            "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a "
            "single batch",
        )
    return [{name: row.get(source) for name, source in outputs} for row in synthetic_rows]


def _rewrite(node: Condition, column: Callable[[str, str, int], str]) -> Condition:
    """HAVING with each ``FUNCTION(field)`` replaced by its synthetic column."""
    if isinstance(node, Not):
        return Not(_rewrite(node.operand, column))
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_rewrite(o, column) for o in node.operands))
    assert isinstance(node, Comparison)
    if node.function:
        return replace(node, field=column(node.function, node.field, node.pos), function=None)
    return node
