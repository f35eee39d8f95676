"""The SOQL subset the sandbox answers: parse a query once, then stream an object's rows through it.

Supported: ``SELECT f1, f2 | COUNT() | aggregates FROM Obj [WHERE ...] [GROUP BY f, ...] [HAVING ...]
[ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` (aggregates: :mod:`.soql_aggregate`).
``WHERE`` takes ``AND`` / ``OR`` / ``NOT`` and parentheses, ``= != <> < > <= >=``,
``[NOT] IN (...)``, ``LIKE``, ``null``, strings, numbers, booleans, date and dateTime literals and the
relative date literals (``TODAY``, ``LAST_N_DAYS:n``, ...). A field may be a child-to-parent path
through lookups' relationship names (``Account.Name``, ``Account.Owner.Username``, up to five deep) in
SELECT, WHERE and ORDER BY; the caller says how to follow them (:class:`Relationships`).

Semantics follow Salesforce rather than SQL where they differ: text comparisons ignore case, an empty
string is null, null matches false on checkboxes, ``!=`` and ``NOT IN`` also match nulls, AND and OR
cannot be mixed without parentheses, nulls sort first ascending and last descending, and a literal of
the wrong kind for its field is refused instead of coerced. Errors carry Salesforce's error codes
(``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_QUERY_FILTER_OPERATOR``,
``NUMBER_OUTSIDE_VALID_RANGE``) and message shapes. Anything outside the subset (subqueries and
parent-to-child relationship queries, parent paths in aggregate queries, TYPEOF, ...) is refused with
``MALFORMED_QUERY`` saying the sandbox does not support it, never silently ignored.

Pure Python: no HTTP, no storage. The caller (the sandbox's query route) owns the rows.
"""

from __future__ import annotations

import calendar
import heapq
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

from sfcrm_sandbox.models.soql_aggregate import execute_aggregate
from sfcrm_sandbox.models.soql_syntax import (
    INVALID_FIELD,
    INVALID_QUERY_FILTER_OPERATOR,
    LITERAL_PERCENT,
    LITERAL_UNDERSCORE,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    BoolOp,
    Comparison,
    Condition,
    Literal,
    Not,
    Query,
    SoqlError,
    located,
    parse,
    parse_instant,
    unsupported,
)

__all__ = [
    "INVALID_FIELD",
    "INVALID_QUERY_FILTER_OPERATOR",
    "MALFORMED_QUERY",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "FieldInfo",
    "Query",
    "Relationships",
    "SoqlError",
    "execute",
    "parse",
]


@dataclass(frozen=True)
class FieldInfo:
    """What the query engine needs to know about one field of the queried object.

    :param name: canonical API name (as in describe), used as the key of rows and results.
    :param type: describe ``type`` (``id``, ``string``, ``textarea``, ``boolean``, ``double``, ``date``, ...).
    :param filterable: False for long / rich text areas: they cannot appear in WHERE.
    :param sortable: False for long / rich text areas: they cannot appear in ORDER BY.
    :param groupable: False for long text, decimals and date-times: they cannot appear in GROUP BY.
    """

    name: str
    type: str
    filterable: bool = True
    sortable: bool = True
    groupable: bool = True
    relationship: str | None = None
    reference_to: tuple[str, ...] = ()


class Relationships(Protocol):
    """How the engine follows a child-to-parent path such as ``Account.Owner.Username``."""

    def fields_of(self, sobject: str) -> Mapping[str, FieldInfo] | None:
        """The fields of ``sobject`` keyed by lower-case name (None: no such object)."""

    def record(self, record_id: str) -> tuple[str, Row] | None:
        """``(object, row)`` of the record with that Id, or None."""


@dataclass(frozen=True)
class _Path:
    """A resolved field reference: the lookups to follow (may be none) and the field at the end."""

    hops: tuple[tuple[str, str], ...]  # (reference field on the current object, relationship name)
    leaf: FieldInfo
    targets: tuple[str, ...]  # the object(s) the last hop may reach (display only)

    @property
    def key(self) -> str:
        return ".".join([*(relationship for _, relationship in self.hops), self.leaf.name])


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------

_TEXT, _ID, _NUMBER, _BOOLEAN, _DATE, _DATETIME = "text", "id", "number", "boolean", "date", "datetime"
_KIND_BY_TYPE = {
    "id": _ID,
    "reference": _ID,
    "int": _NUMBER,
    "long": _NUMBER,
    "double": _NUMBER,
    "currency": _NUMBER,
    "percent": _NUMBER,
    "boolean": _BOOLEAN,
    "date": _DATE,
    "datetime": _DATETIME,
}
# How Salesforce names the expected type in "value of filter criterion ..." messages.
_TYPE_WORD = {_TEXT: "string", _ID: "id", _BOOLEAN: "boolean", _DATE: "date", _DATETIME: "dateTime"}
_LITERALS_FOR = {
    _TEXT: {"string"},
    _ID: {"string"},
    _NUMBER: {"number"},
    _BOOLEAN: {"boolean"},
    _DATE: {"date", "relative"},
    _DATETIME: {"datetime", "relative"},
}
_ID_RE = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")  # used with fullmatch


def _kind_of(info: FieldInfo) -> str:
    return _KIND_BY_TYPE.get(info.type.lower(), _TEXT)


def _normalizer(kind: str) -> Callable[[Any], Any]:
    """Row value → comparable value (None for null); literals go through the same function."""
    if kind == _TEXT:
        # Salesforce stores no empty strings and compares text case-insensitively.
        return lambda v: v.casefold() if v else None
    if kind == _ID:
        # The first 15 characters identify a record; the 3-character checksum suffix is redundant.
        return lambda v: v[:15] if v else None
    if kind == _DATE:
        return lambda v: None if v is None else (v.isoformat() if isinstance(v, date) else str(v)[:10])
    if kind == _DATETIME:
        return _instant_key
    if kind == _BOOLEAN:
        # Salesforce documents that null matches false on checkbox fields (``= null`` is ``= false``).
        return bool
    return lambda v: v


def _instant_key(value: Any) -> str | None:
    """A dateTime as ``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC: such strings order exactly as the instants do.

    The form the store writes (``2024-01-31T10:00:00.000+0000``) is converted by slicing, which keeps
    scans of large tables cheap; anything else is parsed.
    """
    if value is None or value == "":
        return None
    if type(value) is str and len(value) == 28 and value[19] == "." and value.endswith("+0000"):
        return value[:23] + "000"
    if not isinstance(value, datetime):
        value = parse_instant(str(value))
    elif value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


# Relative date literals: name → function(today, n) → [first day, day after the last).
def _week_start(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)  # weeks start on Sunday (en_US locale)


def _month_range(day: date, months_ahead: int) -> tuple[date, date]:
    index = day.year * 12 + day.month - 1 + months_ahead
    year, month = divmod(index, 12)
    start = date(year, month + 1, 1)
    return start, start + timedelta(days=calendar.monthrange(year, month + 1)[1])


_RELATIVE_FIXED: dict[str, Callable[[date], tuple[date, date]]] = {
    "TODAY": lambda t: (t, t + timedelta(days=1)),
    "YESTERDAY": lambda t: (t - timedelta(days=1), t),
    "TOMORROW": lambda t: (t + timedelta(days=1), t + timedelta(days=2)),
    "THIS_WEEK": lambda t: (_week_start(t), _week_start(t) + timedelta(days=7)),
    "LAST_WEEK": lambda t: (_week_start(t) - timedelta(days=7), _week_start(t)),
    "NEXT_WEEK": lambda t: (_week_start(t) + timedelta(days=7), _week_start(t) + timedelta(days=14)),
    "THIS_MONTH": lambda t: _month_range(t, 0),
    "LAST_MONTH": lambda t: _month_range(t, -1),
    "NEXT_MONTH": lambda t: _month_range(t, 1),
    "THIS_YEAR": lambda t: (date(t.year, 1, 1), date(t.year + 1, 1, 1)),
    "LAST_YEAR": lambda t: (date(t.year - 1, 1, 1), date(t.year, 1, 1)),
    "NEXT_YEAR": lambda t: (date(t.year + 1, 1, 1), date(t.year + 2, 1, 1)),
    # The LAST_ ranges include today; the NEXT_ ranges start tomorrow (as Salesforce documents).
    "LAST_90_DAYS": lambda t: (t - timedelta(days=90), t + timedelta(days=1)),
    "NEXT_90_DAYS": lambda t: (t + timedelta(days=1), t + timedelta(days=91)),
}
_RELATIVE_WITH_N: dict[str, Callable[[date, int], tuple[date, date]]] = {
    "LAST_N_DAYS": lambda t, n: (t - timedelta(days=n), t + timedelta(days=1)),
    "NEXT_N_DAYS": lambda t, n: (t + timedelta(days=1), t + timedelta(days=n + 1)),
    "N_DAYS_AGO": lambda t, n: (t - timedelta(days=n), t - timedelta(days=n - 1)),
}


# --------------------------------------------------------------------------------------------------
# Compilation: the WHERE tree becomes one Python predicate, ORDER BY one key function
# --------------------------------------------------------------------------------------------------

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


class _Compiler:
    def __init__(
        self,
        query: Query,
        fields: Mapping[str, FieldInfo],
        today: date,
        relationships: Relationships | None = None,
    ) -> None:
        self.query = query
        self.fields = fields
        self.today = today
        self.relationships = relationships

    def resolve(self, name: str, pos: int) -> FieldInfo:
        return self.path(name, pos).leaf

    def path(self, name: str, pos: int) -> _Path:
        """Resolve ``Field`` or ``Relationship.[...].Field`` against the object's fields."""
        *relationship_names, field_name = name.split(".")
        fields, entity = self.fields, self.query.sobject
        hops: list[tuple[str, str]] = []
        targets: tuple[str, ...] = (entity,)
        for relationship in relationship_names:
            lookup = next(
                (
                    info
                    for info in fields.values()
                    if info.relationship and info.relationship.lower() == relationship.lower()
                ),
                None,
            )
            parent_fields = self._fields_of(lookup.reference_to) if lookup else None
            if lookup is None or parent_fields is None:
                raise located(
                    INVALID_FIELD,
                    self.query.soql,
                    pos,
                    f"Didn't understand relationship '{relationship}' in field path. If you are attempting "
                    "to use a custom relationship, be sure to append the '__r' after the custom "
                    "relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.",
                )
            hops.append((lookup.name, lookup.relationship or relationship))
            fields, entity, targets = parent_fields, lookup.reference_to[0], lookup.reference_to
        info = fields.get(field_name.lower())
        if info is None:
            raise located(
                INVALID_FIELD,
                self.query.soql,
                pos,
                f"No such column '{field_name}' on entity '{entity}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return _Path(tuple(hops), info, targets)

    def _fields_of(self, targets: tuple[str, ...]) -> Mapping[str, FieldInfo] | None:
        """The fields a path may read behind a lookup: for a lookup to several objects, those all share."""
        if self.relationships is None or not targets:
            return None
        described = [self.relationships.fields_of(target) for target in targets]
        if any(fields is None for fields in described):
            return None
        first = described[0]
        assert first is not None
        return {lower: info for lower, info in first.items() if all(lower in other for other in described)}

    def getter(self, path: _Path) -> Callable[[Row], Any]:
        """Row → the value the path reads (null when a lookup on the way is empty)."""
        name = path.leaf.name
        if not path.hops:
            return lambda row: row.get(name)
        relationships = self.relationships
        assert relationships is not None
        references = [reference for reference, _ in path.hops]

        def get(row: Row) -> Any:
            for reference in references:
                found = relationships.record(row.get(reference)) if row.get(reference) else None
                if found is None:
                    return None
                row = found[1]
            return row.get(name)

        return get

    def select(self) -> list[_Path]:
        paths: list[_Path] = []
        for written, pos in zip(self.query.fields, self.query.field_positions, strict=True):
            path = self.path(written, pos)
            if any(p.key.lower() == path.key.lower() for p in paths):
                raise SoqlError(INVALID_FIELD, f"duplicate field selected: {path.key}")
            paths.append(path)
        return paths

    def predicate(self, node: Condition) -> Predicate:
        if isinstance(node, Not):
            inner = self.predicate(node.operand)
            return lambda row: not inner(row)
        if isinstance(node, BoolOp):
            # Fold into nested two-way closures: cheaper per row than all()/any() over a generator.
            combined = self.predicate(node.operands[0])
            for operand in node.operands[1:]:
                combined = (
                    _both(combined, self.predicate(operand))
                    if node.op == "AND"
                    else _either(combined, self.predicate(operand))
                )
            return combined
        return self.comparison(node)

    def comparison(self, node: Comparison) -> Predicate:
        path = self.path(node.field, node.pos)
        info = path.leaf
        if not info.filterable:
            raise SoqlError(INVALID_FIELD, f"field '{info.name}' can not be filtered in query call")
        kind = _kind_of(info)
        for literal in node.values:
            self.check_literal(info, kind, literal, node.op)
        get = self.getter(path)
        norm = _normalizer(kind)
        if node.op == "LIKE":
            regex = _like_regex(node.values[0].value)
            return lambda row: bool((v := get(row)) and regex.fullmatch(v))
        if node.op in ("IN", "NOTIN"):
            wanted = {self.norm_literal(lit, norm) for lit in node.values}
            if node.op == "IN":
                return lambda row: norm(get(row)) in wanted
            return lambda row: norm(get(row)) not in wanted
        literal = node.values[0]
        if literal.kind == "relative":
            return self.range_predicate(get, kind, norm, node.op, literal)
        return _compare(get, norm, node.op, self.norm_literal(literal, norm))

    def check_literal(self, info: FieldInfo, kind: str, literal: Literal, op: str) -> None:
        if literal.kind == "null":
            if op == "LIKE":
                raise SoqlError(MALFORMED_QUERY, f"invalid LIKE pattern for field '{info.name}': null")
            return
        if literal.kind not in _LITERALS_FOR[kind]:
            word = _TYPE_WORD.get(kind, "double")
            quoted = (
                "should be enclosed in quotes" if kind in (_TEXT, _ID) else "should not be enclosed in quotes"
            )
            raise SoqlError(
                INVALID_FIELD,
                f"value of filter criterion for field '{info.name}' must be of type {word} and {quoted}",
            )
        if kind == _ID:
            if op == "LIKE":
                raise SoqlError(INVALID_QUERY_FILTER_OPERATOR, "invalid operator on id field")
            if literal.value and not _ID_RE.fullmatch(literal.value):
                raise SoqlError(INVALID_QUERY_FILTER_OPERATOR, f"invalid ID field: {literal.value}")
        if literal.kind == "relative" and op in ("IN", "NOTIN"):
            raise unsupported(self.query.soql, literal.pos, "relative date literals inside IN (...)")

    def norm_literal(self, literal: Literal, norm: Callable[[Any], Any]) -> Any:
        if literal.kind in ("string", "null"):
            return norm(literal.value)
        if literal.kind == "date":
            return literal.value.isoformat()
        if literal.kind == "datetime":
            return _instant_key(literal.value)
        return literal.value  # number, boolean

    def range_predicate(
        self, get: Callable[[Row], Any], kind: str, norm: Callable, op: str, literal: Literal
    ) -> Predicate:
        word, amount = literal.value
        start, end = (
            _RELATIVE_FIXED[word](self.today)
            if amount is None
            else _RELATIVE_WITH_N[word](self.today, amount)
        )
        if kind == _DATE:
            low: Any = start.isoformat()
            high: Any = end.isoformat()
        else:
            low = f"{start.isoformat()}T00:00:00.000000"
            high = f"{end.isoformat()}T00:00:00.000000"
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: v is not None and low <= v < high,
            "!=": lambda v: v is None or not (low <= v < high),
            "<": lambda v: v is not None and v < low,
            "<=": lambda v: v is not None and v < high,
            ">": lambda v: v is not None and v >= high,
            ">=": lambda v: v is not None and v >= low,
        }
        test = tests[op]
        return lambda row: test(norm(get(row)))

    def order_key(self) -> Callable[[Row], tuple]:
        columns = []
        for item in self.query.order_by:
            path = self.path(item.field, item.pos)
            info = path.leaf
            if not info.sortable:
                raise SoqlError(INVALID_FIELD, f"field '{info.name}' can not be sorted in a query call")
            nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
            columns.append(
                (self.getter(path), _normalizer(_kind_of(info)), item.descending, 0 if nulls_first else 2)
            )
        if len(columns) == 1:  # the common case, without the per-row loop
            get, norm, descending, null_rank = columns[0]

            def single(row: Row) -> tuple:
                v = norm(get(row))
                return (null_rank, 0) if v is None else (1, _Desc(v) if descending else v)

            return single

        def key(row: Row) -> tuple:
            parts = []
            for get, norm, descending, null_rank in columns:
                v = norm(get(row))
                parts.append((null_rank, 0) if v is None else (1, _Desc(v) if descending else v))
            return tuple(parts)

        return key


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) and second(row)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) or second(row)


def _compare(get: Callable[[Row], Any], norm: Callable[[Any], Any], op: str, wanted: Any) -> Predicate:
    if wanted is None:
        if op == "=":
            return lambda row: norm(get(row)) is None
        if op == "!=":
            return lambda row: norm(get(row)) is not None
        return lambda row: False  # ordering against null matches nothing
    if op == "=":
        return lambda row: norm(get(row)) == wanted
    if op == "!=":
        # Unlike SQL, SOQL's != also matches records whose field is null (widely reported behaviour;
        # Salesforce's docs do not spell it out). NOT IN follows the same rule here [UNVERIFIED].
        return lambda row: norm(get(row)) != wanted
    if op == "<":
        return lambda row: (v := norm(get(row))) is not None and v < wanted
    if op == "<=":
        return lambda row: (v := norm(get(row))) is not None and v <= wanted
    if op == ">":
        return lambda row: (v := norm(get(row))) is not None and v > wanted
    return lambda row: (v := norm(get(row))) is not None and v >= wanted


def _like_regex(pattern: str) -> re.Pattern[str]:
    """``%`` is any run of characters, ``_`` one character, ``\\%`` / ``\\_`` themselves; case-insensitive."""
    special = {"%": ".*", "_": ".", LITERAL_PERCENT: "%", LITERAL_UNDERSCORE: "_"}
    return re.compile("".join(special.get(ch) or re.escape(ch) for ch in pattern), re.IGNORECASE | re.DOTALL)


class _Desc:
    """Reverses the order of a sort-key component (for DESC columns mixed with ASC ones)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------


def _projector(paths: list[_Path], relationships: Relationships | None) -> Callable[[Row], dict[str, Any]]:
    """Row → the selected values; a parent path nests its values under the relationship name."""
    names = [path.leaf.name for path in paths]
    if not any(path.hops for path in paths):
        return lambda row: {name: row.get(name) for name in names}
    assert relationships is not None

    def project(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path in paths:
            node, current = out, row
            for reference, relationship in path.hops:
                parent_id = current.get(reference)
                found = relationships.record(parent_id) if parent_id else None
                if found is None:
                    node.setdefault(relationship, None)  # no parent: the relationship reads as null
                    break
                sobject, current = found
                if node.get(relationship) is None:
                    node[relationship] = {"attributes": {"type": sobject, "id": parent_id}}
                node = node[relationship]
            else:
                node[path.leaf.name] = current.get(path.leaf.name)
        return out

    return project


def _refuse_paths_in_aggregates(query: Query) -> None:
    """Grouping and aggregating read the object's own fields only here: a parent path is refused."""
    named = [
        *zip(query.fields, query.field_positions, strict=True),
        *((a.field, a.pos) for a in query.aggregates),
        *query.group_by,
        *((item.field, item.pos) for item in query.order_by),
    ]
    for name, pos in named:
        if "." in name:
            raise unsupported(query.soql, pos, "relationship paths in aggregate queries")


def execute(
    query: Query,
    rows: Iterable[Row],
    fields: Mapping[str, FieldInfo],
    today: date | None = None,
    relationships: Relationships | None = None,
) -> list[dict[str, Any]] | int:
    """Run ``query`` over ``rows`` (dicts keyed by canonical API names), streaming them once.

    :param query: from :func:`parse`.
    :param rows: the object's records; iterated lazily, never copied.
    :param fields: the object's visible fields keyed by lower-case API name.
    :param today: the day relative date literals count from (default: today in UTC).
    :param relationships: follows parent paths (``Account.Name``); without it such paths are unknown.
    :return: the selected fields of the matching rows (canonical names, in SELECT order), the
        ``AggregateResult`` rows of an aggregate query, or the number of matching rows for
        ``SELECT COUNT()``. A parent path's values are nested under the relationship name, as
        ``{"attributes": {"type": <object>, "id": <Id>}, <field>: <value>}``, or null when the lookup
        is empty.
    """
    if today is None:
        today = datetime.now(timezone.utc).date()
    elif isinstance(today, datetime):
        today = today.date()
    compiler = _Compiler(query, fields, today, relationships)
    predicate = compiler.predicate(query.where) if query.where is not None else None
    if query.is_aggregate:
        _refuse_paths_in_aggregates(query)
        matching: Iterable[Row] = rows if predicate is None else filter(predicate, rows)
        return execute_aggregate(
            query,
            matching,
            fields,
            lambda q, f: _Compiler(q, f, today),
            lambda info: _normalizer(_kind_of(info)),
        )
    # Every field is resolved before the first row is read, so a bad query fails fast and whole.
    selected = [] if query.is_count else compiler.select()
    key = compiler.order_key() if query.order_by else None
    matches: Iterable[Row] = rows if predicate is None else filter(predicate, rows)
    offset = query.offset or 0
    limit = query.limit

    if query.is_count:
        total = sum(1 for _ in matches)
        total = max(0, total - offset)
        return total if limit is None else min(total, limit)

    if key is not None:
        if limit is not None:
            # Only the first offset+limit matches are ever needed: a bounded heap, not a full sort.
            ordered: Iterable[Row] = heapq.nsmallest(offset + limit, matches, key=key)[offset:]
        else:
            ordered = sorted(matches, key=key)[offset:]
    else:
        ordered = itertools.islice(matches, offset, None if limit is None else offset + limit)
    project = _projector(selected, relationships)
    return [project(row) for row in ordered]
