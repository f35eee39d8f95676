"""``row_filter``: a boolean expression over a segment's columns, parsed safely and evaluated with pyarrow.

The grammar is a small subset of SQL's ``WHERE``::

    expr       := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | predicate
    predicate  := operand ( compare operand
                          | "IS" ["NOT"] "NULL"
                          | ["NOT"] "IN" "(" literal ("," literal)* ")" )?
                | "(" expr ")"
    compare    := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    operand    := column | literal
    column     := name | "quoted name"          (a column of the segment)
    literal    := 'text' ('' inside) | number | TRUE | FALSE | NULL

Keywords are case-insensitive. The text is tokenized and parsed here into a tree of plain data
(:class:`Compare`, :class:`InList`, :class:`IsNull`, :class:`Logical`, :class:`Not`); nothing of it is
ever executed, interpolated into SQL or handed to ``eval``: anything outside the grammar (function
calls, ``;``, subqueries, arithmetic, unknown words) is refused with its position.
:func:`compile_filter` then checks the tree against the segment's schema (unknown columns, a
comparison of text with a number) and :meth:`RowFilter.mask` evaluates it on a chunk with
``pyarrow.compute`` under SQL's three-valued logic: a row is kept only where the expression is
true; where it is false or unknown (a null compared) the row is filtered out.

Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Longest expression accepted: a filter is a setting, not a data file.
MAX_LENGTH = 10_000
#: Deepest nesting of parentheses and NOTs (keeps the recursive parser far from Python's limit).
MAX_DEPTH = 50

_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE"}
_COMPARISONS = {"=": "equal", "!=": "not_equal", "<>": "not_equal", "<": "less", "<=": "less_equal",
                ">": "greater", ">=": "greater_equal"}  # fmt: skip
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_0-9])
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


class RowFilterError(ValueError):
    """The expression cannot be used: the message names the position (0-based) or the column."""


# -- the tree ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, float, bool or None
    position: int


@dataclass(frozen=True)
class Compare:
    op: str  # a key of _COMPARISONS
    left: Column | Literal
    right: Column | Literal


@dataclass(frozen=True)
class InList:
    operand: Column | Literal
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    operand: Column | Literal
    negated: bool


@dataclass(frozen=True)
class Logical:
    op: str  # "AND" | "OR"
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Compare | InList | IsNull | Logical | Not | Column | Literal


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, punct, end
    text: str
    position: int
    value: Any = None


def tokenize(text: str) -> list[_Token]:
    """The tokens of ``text``; raises :class:`RowFilterError` at the first character outside the grammar."""
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise RowFilterError(f"row_filter: unexpected character {text[at]!r} at position {at}")
        kind, raw = match.lastgroup or "", match.group()
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", raw, at, value))
        elif kind == "string":
            tokens.append(_Token("string", raw, at, raw[1:-1].replace("''", "'")))
        elif kind == "quoted":
            tokens.append(_Token("name", raw, at, raw[1:-1].replace('""', '"')))
        elif kind == "name":
            upper = raw.upper()
            tokens.append(
                _Token("keyword", upper, at) if upper in _KEYWORDS else _Token("name", raw, at, raw)
            )
        elif kind in ("op", "punct"):
            tokens.append(_Token(kind, raw, at))
        at = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def _fail(self, expected: str, token: _Token | None = None) -> RowFilterError:
        token = token or self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return RowFilterError(f"row_filter: expected {expected} at position {token.position}, found {found}")

    def _take(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.at += 1
            return token
        return None

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RowFilterError(
                f"row_filter: nested deeper than {MAX_DEPTH} levels at position {self.token.position}"
            )

    def parse(self) -> Node:
        node = self._or()
        if self.token.kind != "end":
            if self.token.kind == "punct" and self.token.text == "(":
                raise RowFilterError(
                    f"row_filter: function calls are not allowed (position {self.token.position})"
                )
            raise self._fail("AND, OR or the end of the expression")
        return node

    def _or(self) -> Node:
        parts = [self._and()]
        while self._take("keyword", "OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Logical("OR", tuple(parts))

    def _and(self) -> Node:
        parts = [self._not()]
        while self._take("keyword", "AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else Logical("AND", tuple(parts))

    def _not(self) -> Node:
        if self._take("keyword", "NOT"):
            self._nested()
            node = Not(self._not())
            self.depth -= 1
            return node
        return self._predicate()

    def _predicate(self) -> Node:
        if self._take("punct", "("):
            self._nested()
            node = self._or()
            if not self._take("punct", ")"):
                raise self._fail("')'")
            self.depth -= 1
            return node
        left = self._operand()
        token = self.token
        if token.kind == "op":
            self.at += 1
            return Compare(token.text, left, self._operand())
        if self._take("keyword", "IS"):
            negated = self._take("keyword", "NOT") is not None
            if not self._take("keyword", "NULL"):
                raise self._fail("NULL")
            return IsNull(left, negated)
        negated = False
        if token.kind == "keyword" and token.text == "NOT":
            following = self.tokens[self.at + 1]
            if following.kind == "keyword" and following.text == "IN":
                self.at += 1
                negated = True
            else:
                raise self._fail("IN after NOT", following)
        if self._take("keyword", "IN"):
            return InList(left, self._list(), negated)
        return left  # a lone operand: a boolean column or literal

    def _list(self) -> tuple[Literal, ...]:
        if not self._take("punct", "("):
            raise self._fail("'(' after IN")
        values = [self._literal("a literal (subqueries are not allowed)")]
        while self._take("punct", ","):
            values.append(self._literal("a literal"))
        if not self._take("punct", ")"):
            raise self._fail("',' or ')'")
        return tuple(values)

    def _operand(self) -> Column | Literal:
        token = self.token
        if token.kind == "name":
            self.at += 1
            if self.token.kind == "punct" and self.token.text == "(":
                raise RowFilterError(
                    f"row_filter: function calls are not allowed: {token.text}( at position {token.position}"
                )
            return Column(token.value, token.position)
        return self._literal("a column or a literal")

    def _literal(self, expected: str) -> Literal:
        token = self.token
        if token.kind in ("number", "string"):
            self.at += 1
            return Literal(token.value, token.position)
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE", "NULL"):
            self.at += 1
            return Literal({"TRUE": True, "FALSE": False, "NULL": None}[token.text], token.position)
        raise self._fail(expected)


def parse_filter(text: str) -> Node:
    """The tree of ``text``; raises :class:`RowFilterError` naming the position of what is wrong."""
    if not isinstance(text, str):
        raise RowFilterError(f"row_filter must be text, not {type(text).__name__}")
    if not text.strip():
        raise RowFilterError("row_filter is empty: give an expression, or None to send every row")
    if len(text) > MAX_LENGTH:
        raise RowFilterError(f"row_filter is longer than {MAX_LENGTH:,} characters")
    return _Parser(text).parse()


def columns_of(node: Node) -> list[str]:
    """The columns ``node`` reads, in order of first appearance."""
    found: list[str] = []

    def walk(item: Node) -> None:
        if isinstance(item, Column):
            if item.name not in found:
                found.append(item.name)
        elif isinstance(item, Compare):
            walk(item.left)
            walk(item.right)
        elif isinstance(item, (InList, IsNull)):
            walk(item.operand)
        elif isinstance(item, Logical):
            for part in item.parts:
                walk(part)
        elif isinstance(item, Not):
            walk(item.part)

    walk(node)
    return found


# -- checking against the schema and evaluating ------------------------------------------------------


def _kind(data_type: pa.DataType) -> str | None:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ):
        return "text"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "number"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_null(data_type):
        return "null"
    return None


def _literal_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "text"


@dataclass(frozen=True)
class RowFilter:
    """A parsed, checked ``row_filter``: :meth:`mask` says which rows of a chunk are kept."""

    text: str
    tree: Node
    columns: tuple[str, ...]
    types: dict[str, pa.DataType]

    def mask(self, table: pa.Table) -> np.ndarray:
        """A boolean array: True for the rows of ``table`` the expression selects (true, not unknown)."""
        result = _evaluate(self.tree, table, self.types)
        if isinstance(result, pa.Scalar):
            return np.full(table.num_rows, bool(result.as_py()) if result.is_valid else False)
        return pc.fill_null(result, False).to_numpy(zero_copy_only=False).astype(bool)

    def kept(self, table: pa.Table) -> np.ndarray:
        """Positions of the rows kept."""
        return np.flatnonzero(self.mask(table))


def compile_filter(text: str, schema: pa.Schema) -> RowFilter:
    """Parse ``text`` and check it against ``schema``; raises :class:`RowFilterError`."""
    tree = parse_filter(text)
    types = {}
    for name in columns_of(tree):
        if name not in schema.names:
            raise RowFilterError(f"row_filter: the segment has no column {name!r}; it has {schema.names}")
        types[name] = schema.field(name).type
    _check(tree, types)
    return RowFilter(text, tree, tuple(types), types)


def _operand_kind(item: Column | Literal, types: dict[str, pa.DataType]) -> str:
    if isinstance(item, Column):
        kind = _kind(types[item.name])
        if kind is None:
            raise RowFilterError(
                f"row_filter: column {item.name!r} is of type {types[item.name]}, "
                "which a filter cannot compare"
            )
        return kind
    return _literal_kind(item.value)


def _compatible(left: str, right: str, literal: Literal | None) -> bool:
    if "null" in (left, right) or left == right:
        return True
    if {left, right} <= {"date", "timestamp"}:
        return True
    # A date or time column compared with an ISO text literal.
    temporal = left if left in ("date", "timestamp") else right if right in ("date", "timestamp") else None
    return temporal is not None and "text" in (left, right) and literal is not None


def _where(item: Column | Literal) -> str:
    return f"column {item.name!r}" if isinstance(item, Column) else f"literal at position {item.position}"


def _check(node: Node, types: dict[str, pa.DataType]) -> None:
    """Refuse operands of types a comparison cannot join, and a non-boolean operand used as a condition."""
    if isinstance(node, Logical):
        for part in node.parts:
            _check(part, types)
    elif isinstance(node, Not):
        _check(node.part, types)
    elif isinstance(node, (Column, Literal)):  # a condition standing alone: only a boolean can
        kind = _operand_kind(node, types)
        if kind not in ("boolean", "null"):
            raise RowFilterError(
                f"row_filter: {_where(node)} stands alone where a condition is expected "
                "(compare it: =, <>, <, IN, IS NULL ...)"
            )
    elif isinstance(node, IsNull):
        _operand_kind(node.operand, types)
    elif isinstance(node, Compare):
        _check_pair(node.left, node.right, types)
    elif isinstance(node, InList):
        for value in node.values:
            _check_pair(node.operand, value, types)


def _check_pair(left: Column | Literal, right: Column | Literal, types: dict[str, pa.DataType]) -> None:
    a, b = _operand_kind(left, types), _operand_kind(right, types)
    literal = right if isinstance(right, Literal) else left if isinstance(left, Literal) else None
    if not _compatible(a, b, literal):
        raise RowFilterError(
            f"row_filter: {_where(left)} ({a}) cannot be compared with {_where(right)} ({b})"
        )
    if (
        literal is not None
        and literal.value is not None
        and (a in ("date", "timestamp") or b in ("date", "timestamp"))
    ):
        if isinstance(literal.value, str):
            _temporal(literal, "timestamp" if "timestamp" in (a, b) else "date")


def _temporal(literal: Literal, kind: str) -> Any:
    try:
        moment = dt.datetime.fromisoformat(str(literal.value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise RowFilterError(
            f"row_filter: {literal.value!r} at position {literal.position} "
            "is not an ISO date or date and time"
        ) from None
    if kind == "date":
        return moment.date()
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _values(
    item: Column | Literal, other: Column | Literal, table: pa.Table, types: dict[str, pa.DataType]
) -> Any:
    """``item`` as an array (a column) or a scalar of the type it is compared with."""
    if isinstance(item, Column):
        column = table.column(item.name)
        kind = types[item.name]
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        if pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        return column
    value = item.value
    if value is None:
        return pa.scalar(None)
    if isinstance(other, Column):
        kind = types[other.name]
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if (pa.types.is_date(kind) or pa.types.is_timestamp(kind)) and isinstance(value, str):
            moment = _temporal(item, "date" if pa.types.is_date(kind) else "timestamp")
            if pa.types.is_timestamp(kind) and kind.tz is None and isinstance(moment, dt.datetime):
                moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return pa.scalar(moment, kind)
    return pa.scalar(value)


def _evaluate(node: Node, table: pa.Table, types: dict[str, pa.DataType]) -> Any:
    if isinstance(node, Logical):
        function = pc.and_kleene if node.op == "AND" else pc.or_kleene
        result = _evaluate(node.parts[0], table, types)
        for part in node.parts[1:]:
            result = function(result, _evaluate(part, table, types))
        return result
    if isinstance(node, Not):
        return pc.invert(_evaluate(node.part, table, types))
    if isinstance(node, Column):
        return _values(node, node, table, types)
    if isinstance(node, Literal):
        return pa.scalar(node.value, pa.bool_())
    if isinstance(node, IsNull):
        values = _values(node.operand, node.operand, table, types)
        is_null = (
            pc.is_null(values, nan_is_null=True)
            if not isinstance(values, pa.Scalar)
            else pa.scalar(not values.is_valid)
        )
        return pc.invert(is_null) if node.negated else is_null
    if isinstance(node, Compare):
        left = _values(node.left, node.right, table, types)
        right = _values(node.right, node.left, table, types)
        if (
            isinstance(left, pa.Scalar)
            and not left.is_valid
            or isinstance(right, pa.Scalar)
            and not right.is_valid
        ):
            return pa.scalar(None, pa.bool_())  # anything compared with NULL is unknown
        return getattr(pc, _COMPARISONS[node.op])(left, right)
    if isinstance(node, InList):
        return _in_list(node, table, types)
    raise TypeError(f"not a filter node: {node!r}")  # pragma: no cover - the parser makes no other


def _in_list(node: InList, table: pa.Table, types: dict[str, pa.DataType]) -> Any:
    """SQL's IN: true when equal to one value; unknown when not, and the operand or a value is null."""
    operand = _values(node.operand, node.values[0], table, types)
    listed = [_values(value, node.operand, table, types) for value in node.values]
    present = [value for value in listed if value.is_valid]
    has_null = len(present) < len(listed)
    if isinstance(operand, pa.Scalar):
        operand = pa.array([operand.as_py()] * table.num_rows, operand.type)
    if present:
        value_set = pa.array([value.as_py() for value in present], present[0].type)
        if not operand.type.equals(value_set.type):
            try:
                value_set = value_set.cast(operand.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                operand = operand.cast(value_set.type)
        found = pc.is_in(operand, value_set=value_set, skip_nulls=True)
    else:
        found = pa.array([False] * len(operand), pa.bool_())
    unknown = pc.is_null(operand)
    if has_null:
        unknown = pc.or_(unknown, pc.invert(found))
    found = pc.if_else(pc.and_(unknown, pc.invert(found)), pa.scalar(None, pa.bool_()), found)
    return pc.invert(found) if node.negated else found
