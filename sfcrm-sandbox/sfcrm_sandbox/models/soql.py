"""The SOQL subset the sandbox answers: parse a query once, then stream an object's rows through it.

Supported: ``SELECT f1, f2 | COUNT() | aggregates FROM Obj [WHERE ...] [GROUP BY f, ...] [HAVING ...]
[ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` (aggregates: :mod:`.soql_aggregate`).
``WHERE`` takes ``AND`` / ``OR`` / ``NOT`` and parentheses, ``= != <> < > <= >=``,
``[NOT] IN (...)``, ``LIKE``, ``null``, strings, numbers, booleans, date and dateTime literals and the
relative date literals (``TODAY``, ``LAST_N_DAYS:n``, ...).

Semantics follow Salesforce rather than SQL where they differ: text comparisons ignore case, an empty
string is null, null matches false on checkboxes, ``!=`` and ``NOT IN`` also match nulls, AND and OR
cannot be mixed without parentheses, nulls sort first ascending and last descending, and a literal of
the wrong kind for its field is refused instead of coerced. Errors carry Salesforce's error codes
(``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_QUERY_FILTER_OPERATOR``,
``NUMBER_OUTSIDE_VALID_RANGE``) and message shapes. A child-to-parent path (``Account.Name``,
``Account.Owner.Username``) is a field like any other here: :mod:`~sfcrm_sandbox.models.soql_paths`
resolves it, lists it among the fields and puts its values in the rows. Anything outside the subset
(subqueries and parent-to-child relationship queries, TYPEOF, ...) is refused with
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
from typing import Any

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
    :param relationship: for a lookup, the name a parent path goes through (``Account`` for
        ``AccountId``; :mod:`~sfcrm_sandbox.models.soql_paths`).
    :param reference_to: for a lookup, the object(s) it may point to.
    """

    name: str
    type: str
    filterable: bool = True
    sortable: bool = True
    groupable: bool = True
    relationship: str | None = None
    reference_to: tuple[str, ...] = ()


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
    def __init__(self, query: Query, fields: Mapping[str, FieldInfo], today: date) -> None:
        self.query = query
        self.fields = fields
        self.today = today

    def resolve(self, name: str, pos: int) -> FieldInfo:
        info = self.fields.get(name.lower())
        if info is None:
            raise located(
                INVALID_FIELD,
                self.query.soql,
                pos,
                f"No such column '{name}' on entity '{self.query.sobject}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return info

    def select(self) -> list[str]:
        names: list[str] = []
        for written, pos in zip(self.query.fields, self.query.field_positions, strict=True):
            info = self.resolve(written, pos)
            if info.name in names:
                raise SoqlError(INVALID_FIELD, f"duplicate field selected: {info.name}")
            names.append(info.name)
        return names

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
        info = self.resolve(node.field, node.pos)
        if not info.filterable:
            raise SoqlError(INVALID_FIELD, f"field '{info.name}' can not be filtered in query call")
        kind = _kind_of(info)
        for literal in node.values:
            self.check_literal(info, kind, literal, node.op)
        name = info.name
        norm = _normalizer(kind)
        if node.op == "LIKE":
            regex = _like_regex(node.values[0].value)
            return lambda row: bool((v := row.get(name)) and regex.fullmatch(v))
        if node.op in ("IN", "NOTIN"):
            wanted = {self.norm_literal(lit, norm) for lit in node.values}
            if node.op == "IN":
                return lambda row: norm(row.get(name)) in wanted
            return lambda row: norm(row.get(name)) not in wanted
        literal = node.values[0]
        if literal.kind == "relative":
            return self.range_predicate(name, kind, norm, node.op, literal)
        return _compare(name, norm, node.op, self.norm_literal(literal, norm))

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

    def range_predicate(self, name: str, kind: str, norm: Callable, op: str, literal: Literal) -> Predicate:
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
        return lambda row: test(norm(row.get(name)))

    def order_key(self) -> Callable[[Row], tuple]:
        columns = []
        for item in self.query.order_by:
            info = self.resolve(item.field, item.pos)
            if not info.sortable:
                raise SoqlError(INVALID_FIELD, f"field '{info.name}' can not be sorted in a query call")
            nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
            columns.append((info.name, _normalizer(_kind_of(info)), item.descending, 0 if nulls_first else 2))
        if len(columns) == 1:  # the common case, without the per-row loop
            name, norm, descending, null_rank = columns[0]

            def single(row: Row) -> tuple:
                v = norm(row.get(name))
                return (null_rank, 0) if v is None else (1, _Desc(v) if descending else v)

            return single

        def key(row: Row) -> tuple:
            parts = []
            for name, norm, descending, null_rank in columns:
                v = norm(row.get(name))
                parts.append((null_rank, 0) if v is None else (1, _Desc(v) if descending else v))
            return tuple(parts)

        return key


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) and second(row)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) or second(row)


def _compare(name: str, norm: Callable[[Any], Any], op: str, wanted: Any) -> Predicate:
    if wanted is None:
        if op == "=":
            return lambda row: norm(row.get(name)) is None
        if op == "!=":
            return lambda row: norm(row.get(name)) is not None
        return lambda row: False  # ordering against null matches nothing
    if op == "=":
        return lambda row: norm(row.get(name)) == wanted
    if op == "!=":
        # Unlike SQL, SOQL's != also matches records whose field is null (widely reported behaviour;
        # Salesforce's docs do not spell it out). NOT IN follows the same rule here [UNVERIFIED].
        return lambda row: norm(row.get(name)) != wanted
    if op == "<":
        return lambda row: (v := norm(row.get(name))) is not None and v < wanted
    if op == "<=":
        return lambda row: (v := norm(row.get(name))) is not None and v <= wanted
    if op == ">":
        return lambda row: (v := norm(row.get(name))) is not None and v > wanted
    return lambda row: (v := norm(row.get(name))) is not None and v >= wanted


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


def execute(
    query: Query,
    rows: Iterable[Row],
    fields: Mapping[str, FieldInfo],
    today: date | None = None,
) -> list[dict[str, Any]] | int:
    """Run ``query`` over ``rows`` (dicts keyed by canonical API names), streaming them once.

    :param query: from :func:`parse`.
    :param rows: the object's records; iterated lazily, never copied.
    :param fields: the object's visible fields keyed by lower-case API name.
    :param today: the day relative date literals count from (default: today in UTC).
    :return: the selected fields of the matching rows (canonical names, in SELECT order), the
        ``AggregateResult`` rows of an aggregate query, or the number of matching rows for
        ``SELECT COUNT()``.
    """
    if today is None:
        today = datetime.now(timezone.utc).date()
    elif isinstance(today, datetime):
        today = today.date()
    compiler = _Compiler(query, fields, today)
    predicate = compiler.predicate(query.where) if query.where is not None else None
    if query.is_aggregate:
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
    return [{name: row.get(name) for name in selected} for row in ordered]
