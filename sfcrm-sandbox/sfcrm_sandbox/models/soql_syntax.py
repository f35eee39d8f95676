"""SOQL syntax for the sandbox: tokens, the syntax tree and the parser (no schema, no data).

:func:`parse` accepts the subset described in :mod:`sfcrm_sandbox.models.soql` and refuses
everything else with Salesforce's ``MALFORMED_QUERY``; field names stay as written until
:func:`~sfcrm_sandbox.models.soql.execute` resolves them against the object's fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"

MAX_OFFSET = 2000  # Salesforce refuses larger OFFSETs
MAX_RELATIONSHIP_DEPTH = 5  # relationships in one child-to-parent path (Account.Owner.Name is two)
MAX_QUERY_LENGTH = 100_000  # characters of one SOQL statement
_MAX_INT = 2**31 - 1

_SUPPORTED = (
    "SELECT fields, parent fields (Account.Name), COUNT() or aggregate functions FROM one object, "
    "WHERE, GROUP BY, HAVING, ORDER BY, LIMIT and OFFSET"
)


class SoqlError(Exception):
    """A query Salesforce would refuse; ``error_code`` and ``message`` go into the 400 response body."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


# --------------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A value written in the query; ``kind`` is string, number, boolean, null, date, datetime or relative."""

    kind: str
    value: Any
    text: str
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: str
    pos: int
    op: str  # = != < <= > >= IN NOTIN LIKE
    values: tuple[Literal, ...]
    function: str | None = None  # an aggregate function of ``field`` (HAVING)


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    pos: int
    descending: bool = False
    nulls_first: bool | None = None  # None: Salesforce's default (first when ascending, last when descending)
    function: str | None = None  # an aggregate function of ``field`` (aggregate queries)


#: The aggregate functions of SOQL; ``COUNT()`` without a field is :attr:`Query.is_count`.
AGGREGATE_FUNCTIONS = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})


@dataclass(frozen=True)
class Aggregate:
    """``FUNCTION(field) [alias]`` in a SELECT list; ``index`` is its place in the list."""

    function: str
    field: str
    pos: int
    alias: str | None
    index: int


@dataclass(frozen=True)
class Query:
    """A parsed query. Field and object names are kept as written; they are resolved by :func:`execute`."""

    soql: str
    sobject: str
    is_count: bool
    fields: tuple[str, ...]
    field_positions: tuple[int, ...]
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    aggregates: tuple[Aggregate, ...] = ()
    group_by: tuple[tuple[str, int], ...] = ()
    having: Condition | None = None

    @property
    def is_aggregate(self) -> bool:
        """Aggregate functions or GROUP BY: answered as ``AggregateResult`` rows."""
        return bool(self.aggregates or self.group_by)


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]*(?:[Zz]|[+-][0-9:]*)?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+))
  | (?P<dateparam>[A-Za-z][A-Za-z0-9_]*:[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.:])
    """,
    re.VERBOSE | re.DOTALL,
)
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2})$")

# Words that end a field list or start a clause: never taken as field or object names.
_RESERVED = frozenset(
    """SELECT FROM WHERE AND OR NOT IN LIKE INCLUDES EXCLUDES ORDER BY ASC DESC NULLS FIRST LAST LIMIT
    OFFSET NULL TRUE FALSE GROUP HAVING WITH FOR UPDATE USING SCOPE TYPEOF ROLLUP CUBE""".split()
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ident, string, number, date, datetime, dateparam, op, punct, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN_RE.match(soql, pos)
        if match is None:
            if soql[pos] == "'":
                raise located(MALFORMED_QUERY, soql, pos, "unterminated string literal")
            raise located(MALFORMED_QUERY, soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(soql)))
    return tokens


def located(code: str, soql: str, pos: int, text: str) -> SoqlError:
    """An error in Salesforce's located shape: the query line, a caret, ``ERROR at Row:r:Column:c``."""
    row = soql.count("\n", 0, pos) + 1
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : line_end if line_end >= 0 else len(soql)]
    column = pos - line_start + 1
    # Salesforce shows a window of long queries around the error, not the whole line.
    start = max(0, column - 1 - 60)
    excerpt = line[start : column - 1 + 40]
    caret = " " * (column - 1 - start) + "^"
    return SoqlError(code, f"\n{excerpt}\n{caret}\nERROR at Row:{row}:Column:{column}\n{text}")


def unsupported(soql: str, pos: int, what: str) -> SoqlError:
    return located(
        MALFORMED_QUERY, soql, pos, f"sfcrm-sandbox does not support {what} (it supports {_SUPPORTED})"
    )


# --------------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------------

_STRING_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\x07",  # SOQL documents \b as "bell"
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "%",
    "_": "_",
}
# The relative date literals the sandbox understands (their ranges are computed by the engine).
RELATIVE_DATES = frozenset(
    """TODAY YESTERDAY TOMORROW THIS_WEEK LAST_WEEK NEXT_WEEK THIS_MONTH LAST_MONTH NEXT_MONTH THIS_YEAR
    LAST_YEAR NEXT_YEAR LAST_90_DAYS NEXT_90_DAYS""".split()
)
RELATIVE_DATES_WITH_N = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})
# Anything else shaped like a date literal (THIS_QUARTER, LAST_N_WEEKS:2, ...) is refused as unsupported.
_RELATIVE_DATE_SHAPE = re.compile(r"^(?:LAST|NEXT|THIS|N)_[A-Z0-9_]+(?::\d+)?$")


# In LIKE patterns, escaped wildcards stand for themselves: they decode to private-use placeholders.
LITERAL_PERCENT, LITERAL_UNDERSCORE = "\ue000", "\ue001"


def _decode_string(raw: str, soql: str, pos: int, like: bool = False) -> str:
    """Decode a quoted SOQL string body (escapes ``\\n``, ``\\'``, ``\\uXXXX``, ...)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt.lower() == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
            continue
        decoded = _STRING_ESCAPES.get(nxt if nxt in "\"'\\%_" else nxt.lower())
        if decoded is None:
            raise located(
                MALFORMED_QUERY,
                soql,
                pos + 1 + i,
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal.",
            )
        if like and nxt in "%_":
            decoded = LITERAL_PERCENT if nxt == "%" else LITERAL_UNDERSCORE
        out.append(decoded)
        i += 2
    return "".join(out)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokenize(soql)
        self.i = 0
        # In HAVING and in the ORDER BY of an aggregate query, aggregate functions may be used.
        self.aggregated = False

    # -- token helpers --------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        tok = self.peek()
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        return self.peek().upper in words

    def at_punct(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "punct" and tok.text == text

    def unexpected(self, tok: _Token | None = None) -> SoqlError:
        tok = tok or self.peek()
        shown = "<EOF>" if tok.kind == "eof" else f"'{tok.text}'"
        return located(MALFORMED_QUERY, self.soql, tok.pos, f"unexpected token: {shown}")

    def expect_word(self, word: str) -> _Token:
        if not self.at_word(word):
            raise self.unexpected()
        return self.next()

    def expect_punct(self, text: str) -> _Token:
        if not self.at_punct(text):
            raise self.unexpected()
        return self.next()

    # -- grammar --------------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_word("SELECT")
        is_count = False
        fields: list[str] = []
        positions: list[int] = []
        aggregates: list[Aggregate] = []
        if self.at_word("COUNT") and self.at_punct("(", 1) and self.at_punct(")", 2):
            self.i += 3
            is_count = True
            if self.at_punct(","):
                raise unsupported(self.soql, self.peek().pos, "fields selected together with COUNT()")
        else:
            index = 0
            while True:
                if self.peek().upper in AGGREGATE_FUNCTIONS and self.at_punct("(", 1):
                    aggregates.append(self.aggregate(index))
                else:
                    tok = self.field_name("SELECT")
                    fields.append(tok.text)
                    positions.append(tok.pos)
                index += 1
                if not self.at_punct(","):
                    break
                self.next()
        self.expect_word("FROM")
        sobject = self.peek()
        if sobject.kind != "ident" or sobject.upper in _RESERVED:
            raise self.unexpected()
        self.next()
        if self.at_punct("."):
            raise unsupported(self.soql, sobject.pos, "relationship queries")
        if self.at_word("USING"):
            raise unsupported(self.soql, self.peek().pos, "USING SCOPE")
        where = None
        if self.at_word("WHERE"):
            self.next()
            where = self.condition()
        if self.at_word("WITH"):
            raise unsupported(self.soql, self.peek().pos, "WITH clauses")
        group_by: list[tuple[str, int]] = []
        if self.at_word("GROUP"):
            group_tok = self.next()
            self.expect_word("BY")
            if self.at_word("ROLLUP", "CUBE"):
                raise unsupported(self.soql, self.peek().pos, f"GROUP BY {self.peek().upper}")
            if is_count:
                raise unsupported(self.soql, group_tok.pos, "COUNT() with GROUP BY")
            while True:
                tok = self.field_name("GROUP BY")
                group_by.append((tok.text, tok.pos))
                if not self.at_punct(","):
                    break
                self.next()
        aggregate = bool(aggregates or group_by)
        having = None
        if self.at_word("HAVING"):
            if not aggregate:
                raise located(
                    MALFORMED_QUERY, self.soql, self.peek().pos, "HAVING requires GROUP BY or an aggregate"
                )
            self.next()
            self.aggregated = True
            having = self.condition()
        self.aggregated = aggregate
        order_by: list[OrderItem] = []
        if self.at_word("ORDER"):
            self.next()
            self.expect_word("BY")
            order_by.append(self.order_item())
            while self.at_punct(","):
                self.next()
                order_by.append(self.order_item())
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError(NUMBER_OUTSIDE_VALID_RANGE, f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        if self.at_word("FOR", "UPDATE"):
            raise unsupported(self.soql, self.peek().pos, f"{self.peek().text.upper()} clauses")
        if self.peek().kind != "eof":
            raise self.unexpected()
        return Query(
            soql=self.soql,
            sobject=sobject.text,
            is_count=is_count,
            fields=tuple(fields),
            field_positions=tuple(positions),
            where=where,
            order_by=tuple(order_by),
            limit=limit,
            offset=offset,
            aggregates=tuple(aggregates),
            group_by=tuple(group_by),
            having=having,
        )

    def function_call(self) -> tuple[str, _Token]:
        """``FUNCTION(field)`` of an aggregate function: its name and the field's token."""
        name = self.next().upper
        self.expect_punct("(")
        if self.at_punct(")"):
            raise self.unexpected()
        field = self.field_name(name)
        self.expect_punct(")")
        return name, field

    def aggregate(self, index: int) -> Aggregate:
        pos = self.peek().pos
        function, field = self.function_call()
        alias = None
        tok = self.peek()
        if tok.kind == "ident" and tok.upper not in _RESERVED:
            alias = self.next().text
        return Aggregate(function, field.text, pos, alias, index)

    def field_name(self, clause: str) -> _Token:
        """A field name, or a parent path (``Account.Owner.Name``: relationships, then a field of the
        last parent), as one token; everything richer gets a clear "not supported" error."""
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            if self.peek(1).upper == "SELECT":
                raise unsupported(self.soql, tok.pos, "subqueries")
            raise self.unexpected()
        if tok.kind != "ident" or tok.upper in _RESERVED:
            if tok.upper == "TYPEOF":
                raise unsupported(self.soql, tok.pos, "TYPEOF")
            raise self.unexpected()
        if self.at_punct("(", 1):
            what = "FIELDS()" if tok.upper == "FIELDS" else f"functions and aggregates ({tok.text}())"
            raise unsupported(self.soql, tok.pos, f"{what} in {clause}")
        self.next()
        if not self.at_punct("."):
            return tok
        # A child-to-parent path such as Account.Owner.Username: at most five relationships deep.
        names = [tok.text]
        while self.at_punct("."):
            self.next()
            part = self.peek()
            if part.kind != "ident" or part.upper in _RESERVED:
                raise self.unexpected()
            names.append(self.next().text)
        if len(names) > MAX_RELATIONSHIP_DEPTH + 1:
            raise located(
                MALFORMED_QUERY,
                self.soql,
                tok.pos,
                f"SOQL statements cannot query more than {MAX_RELATIONSHIP_DEPTH} levels of relationships",
            )
        return _Token("ident", ".".join(names), tok.pos)

    def condition(self) -> Condition:
        first = self.unary()
        if not self.at_word("AND", "OR"):
            return first
        op = self.peek().upper
        operands = [first]
        while self.at_word(op):
            self.next()
            operands.append(self.unary())
        if self.at_word("AND", "OR"):
            # Salesforce insists on parentheses when AND and OR are mixed.
            raise self.unexpected()
        return BoolOp(op, tuple(operands))

    def unary(self) -> Condition:
        if self.at_word("NOT"):
            self.next()
            return Not(self.unary())
        if self.at_punct("("):
            self.next()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        function = None
        if self.aggregated and self.peek().upper in AGGREGATE_FUNCTIONS and self.at_punct("(", 1):
            function, field = self.function_call()
        else:
            field = self.field_name("HAVING" if self.aggregated else "WHERE")
        tok = self.peek()
        if tok.kind == "op":
            self.next()
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(field.text, field.pos, op, (self.value(),), function)
        if tok.upper == "LIKE":
            self.next()
            return Comparison(field.text, field.pos, "LIKE", (self.value(like=True),), function)
        if tok.upper in ("INCLUDES", "EXCLUDES"):
            raise unsupported(self.soql, tok.pos, f"{tok.upper} (multi-select picklists)")
        negated = False
        if tok.upper == "NOT" and self.peek(1).upper == "IN":
            self.next()
            negated = True
        if self.at_word("IN"):
            self.next()
            self.expect_punct("(")
            if self.at_word("SELECT"):
                raise unsupported(self.soql, self.peek().pos, "semi-join subqueries (IN (SELECT ...))")
            values = [self.value()]
            while self.at_punct(","):
                self.next()
                values.append(self.value())
            self.expect_punct(")")
            return Comparison(field.text, field.pos, "NOTIN" if negated else "IN", tuple(values), function)
        raise self.unexpected()

    def value(self, like: bool = False) -> Literal:
        tok = self.next()
        if tok.kind == "string":
            return Literal(
                "string", _decode_string(tok.text[1:-1], self.soql, tok.pos, like), tok.text, tok.pos
            )
        if tok.kind == "number":
            number: int | float = float(tok.text) if "." in tok.text else int(tok.text)
            return Literal("number", number, tok.text, tok.pos)
        if tok.kind == "date":
            try:
                return Literal("date", date.fromisoformat(tok.text), tok.text, tok.pos)
            except ValueError:
                raise located(MALFORMED_QUERY, self.soql, tok.pos, f"invalid date: {tok.text}") from None
        if tok.kind == "datetime":
            return Literal("datetime", self.datetime_value(tok), tok.text, tok.pos)
        if tok.kind == "dateparam":
            name, _, amount = tok.text.upper().partition(":")
            if name not in RELATIVE_DATES_WITH_N:
                raise self.unsupported_or_unexpected(tok)
            return Literal("relative", (name, int(amount)), tok.text, tok.pos)
        if tok.kind == "ident":
            word = tok.upper
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", tok.text, tok.pos)
            if word == "NULL":
                return Literal("null", None, tok.text, tok.pos)
            if word in RELATIVE_DATES:
                return Literal("relative", (word, None), tok.text, tok.pos)
            raise self.unsupported_or_unexpected(tok)
        if tok.kind == "punct" and tok.text == ":":
            raise unsupported(self.soql, tok.pos, "bind variables")
        raise self.unexpected(tok)

    def unsupported_or_unexpected(self, tok: _Token) -> SoqlError:
        if _RELATIVE_DATE_SHAPE.match(tok.text.upper()):
            return unsupported(self.soql, tok.pos, f"the date literal {tok.text}")
        return self.unexpected(tok)

    def datetime_value(self, tok: _Token) -> datetime:
        if not _DATETIME_RE.match(tok.text):
            raise located(MALFORMED_QUERY, self.soql, tok.pos, f"invalid dateTime: {tok.text}")
        try:
            return parse_instant(tok.text)
        except ValueError:
            raise located(MALFORMED_QUERY, self.soql, tok.pos, f"invalid dateTime: {tok.text}") from None

    def order_item(self) -> OrderItem:
        function = None
        if self.aggregated and self.peek().upper in AGGREGATE_FUNCTIONS and self.at_punct("(", 1):
            function, field = self.function_call()
        else:
            field = self.field_name("ORDER BY")
        descending = False
        if self.at_word("ASC", "DESC"):
            descending = self.next().upper == "DESC"
        nulls_first = None
        if self.at_word("NULLS"):
            self.next()
            if not self.at_word("FIRST", "LAST"):
                raise self.unexpected()
            nulls_first = self.next().upper == "FIRST"
        return OrderItem(field.text, field.pos, descending, nulls_first, function)

    def integer_clause(self, word: str) -> int | None:
        if not self.at_word(word):
            return None
        self.next()
        tok = self.peek()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.unexpected()
        self.next()
        value = int(tok.text)
        if value > _MAX_INT:
            raise located(MALFORMED_QUERY, self.soql, tok.pos, f"numeric value out of range: {tok.text}")
        return value


def parse(soql: str) -> Query:
    """Parse ``soql``; raises :class:`SoqlError` (``MALFORMED_QUERY``) for syntax it does not accept."""
    if not isinstance(soql, str) or not soql.strip():
        raise SoqlError(MALFORMED_QUERY, "unexpected token: <EOF>")
    if len(soql) > MAX_QUERY_LENGTH:
        # Wording as captured when the limit was 20,000 characters.
        raise SoqlError(
            MALFORMED_QUERY, f"SOQL statements can not be longer than {MAX_QUERY_LENGTH} characters"
        )
    return _Parser(soql).query()


def parse_instant(text: str) -> datetime:
    """A dateTime (``Z``, ``+hh:mm`` or ``+hhmm`` offset, optional fraction) as an aware UTC datetime."""
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    dot = text.find(".")
    if dot >= 0:  # Python 3.10's fromisoformat wants exactly 3 or 6 fraction digits.
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: dot + 1] + text[dot + 1 : end][:6].ljust(6, "0") + text[end:]
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
