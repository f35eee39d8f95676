"""The ``where`` of an extract: an extra SOQL condition, parsed and rebuilt before it reaches SOQL.

A user's text goes into the WHERE clause next to the interval's window, so it must be a condition and
nothing else: no second clause (``LIMIT``, ``ORDER BY``, ``GROUP BY``, ``WITH``, ``ALL ROWS``, ``FOR
UPDATE``), no subquery, no bind variable, no unbalanced parenthesis or unterminated string that
would reach beyond it. The text is tokenized and parsed with SOQL's condition grammar (comparisons
``= != <> < <= > >=``, ``LIKE``, ``[NOT] IN (...)``, ``INCLUDES`` / ``EXCLUDES``, ``AND`` / ``OR``
/ ``NOT`` and parentheses, where AND and OR cannot be mixed without parentheses, as in SOQL), field
names are checked against the object's describe, and the condition is rebuilt from the tokens, so
what Salesforce receives is exactly what was validated.

Fields may be the object's own (filterable ones: long text areas cannot be filtered), parent paths
through a lookup's relationship name (``Account.Industry``; Salesforce checks the rest of the path),
or a date function of a field (``CALENDAR_YEAR(CreatedDate) = 2024``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfcrm.activation.names import API_NAME


class WhereError(ValueError):
    """The ``where`` text is not a SOQL condition this extract accepts; the message says why and where."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\\n]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*(?::\d+)?)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_LOGIC = {"AND", "OR"}
_LITERAL_WORDS = {"TRUE", "FALSE", "NULL"}
# Relative date literals (SOQL "Date Formats and Date Literals"); the :n forms take a number.
_DATE_LITERALS = set(
    """YESTERDAY TODAY TOMORROW LAST_WEEK THIS_WEEK NEXT_WEEK LAST_MONTH THIS_MONTH NEXT_MONTH LAST_90_DAYS
    NEXT_90_DAYS THIS_QUARTER LAST_QUARTER NEXT_QUARTER THIS_YEAR LAST_YEAR NEXT_YEAR THIS_FISCAL_QUARTER
    LAST_FISCAL_QUARTER NEXT_FISCAL_QUARTER THIS_FISCAL_YEAR LAST_FISCAL_YEAR NEXT_FISCAL_YEAR""".split()
)
_DATE_LITERALS_N = set(
    """LAST_N_DAYS NEXT_N_DAYS N_DAYS_AGO NEXT_N_WEEKS LAST_N_WEEKS N_WEEKS_AGO NEXT_N_MONTHS LAST_N_MONTHS
    N_MONTHS_AGO NEXT_N_QUARTERS LAST_N_QUARTERS N_QUARTERS_AGO NEXT_N_YEARS LAST_N_YEARS N_YEARS_AGO
    NEXT_N_FISCAL_QUARTERS LAST_N_FISCAL_QUARTERS N_FISCAL_QUARTERS_AGO NEXT_N_FISCAL_YEARS
    LAST_N_FISCAL_YEARS N_FISCAL_YEARS_AGO""".split()
)
# Date functions SOQL allows on the left of a comparison.
_FUNCTIONS = set(
    """CALENDAR_MONTH CALENDAR_QUARTER CALENDAR_YEAR DAY_IN_MONTH DAY_IN_WEEK DAY_IN_YEAR DAY_ONLY
    FISCAL_MONTH FISCAL_QUARTER FISCAL_YEAR HOUR_IN_DAY WEEK_IN_MONTH WEEK_IN_YEAR""".split()
)
# Words that start another part of a SOQL statement: a sign someone tries to extend the query.
_CLAUSES = set("LIMIT ORDER GROUP HAVING WITH FOR UPDATE OFFSET ALL SELECT FROM USING TYPEOF".split())
_MAX_LENGTH = 20_000  # far below SOQL's own limit; a filter longer than this is a mistake


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == ":":
                raise WhereError(f"where: bind variables are not accepted (character {pos + 1})")
            hint = "an unterminated string" if text[pos] == "'" else repr(text[pos : pos + 10])
            raise WhereError(f"where: unexpected {hint} at character {pos + 1}")
        if match.lastgroup != "ws":
            tokens.append(_Token(match.lastgroup or "", match.group(), pos))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, Mapping[str, Any]], relationships: Mapping[str, str]):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields = fields
        self.relationships = relationships
        self.out: list[str] = []

    # -- helpers ------------------------------------------------------------------------------
    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise WhereError("where: the condition ends too early")
        self.i += 1
        return token

    def fail(self, token: _Token | None, expected: str) -> WhereError:
        if token is None:
            return WhereError(f"where: expected {expected} at the end of the condition")
        if token.word in _CLAUSES:
            return WhereError(
                f"where: {token.text!r} at character {token.pos + 1} starts another SOQL clause; "
                "where takes a condition only"
            )
        return WhereError(f"where: expected {expected} at character {token.pos + 1}, found {token.text!r}")

    def emit(self, text: str) -> None:
        self.out.append(text)

    def expect_punct(self, text: str) -> None:
        token = self.peek()
        if token is None or token.kind != "punct" or token.text != text:
            raise self.fail(token, f"'{text}'")
        self.emit(self.take().text)

    # -- grammar ------------------------------------------------------------------------------
    def condition(self) -> None:
        self.unary()
        operator = None
        while (token := self.peek()) is not None and token.word in _LOGIC:
            if operator is not None and token.word != operator:
                raise WhereError(
                    f"where: AND and OR are mixed without parentheses at character {token.pos + 1}; "
                    "SOQL needs them, e.g. (A AND B) OR C"
                )
            operator = token.word
            self.take()
            self.emit(operator)
            self.unary()

    def unary(self) -> None:
        token = self.peek()
        if token is not None and token.word == "NOT":
            self.take()
            self.emit("NOT")
            self.unary()
        elif token is not None and token.kind == "punct" and token.text == "(":
            self.emit(self.take().text)
            self.condition()
            self.expect_punct(")")
        else:
            self.comparison()

    def comparison(self) -> None:
        self.field_reference()
        token = self.peek()
        if token is not None and token.kind == "op":
            self.emit(self.take().text)
            self.value()
            return
        word = token.word if token else ""
        if word == "LIKE":
            self.take()
            self.emit("LIKE")
            string = self.take()
            if string.kind != "string":
                raise self.fail(string, "a quoted pattern after LIKE")
            self.emit(string.text)
            return
        if word == "NOT":
            self.take()
            following = self.peek()
            if following is None or following.word != "IN":
                raise self.fail(following, "IN after NOT")
            self.emit("NOT")
            word = "IN"
        if word in ("IN", "INCLUDES", "EXCLUDES"):
            self.take()
            self.emit(word)
            self.expect_punct("(")
            if (inner := self.peek()) is not None and inner.word == "SELECT":
                raise WhereError(f"where: subqueries are not accepted (character {inner.pos + 1})")
            self.value()
            while (sep := self.peek()) is not None and sep.kind == "punct" and sep.text == ",":
                self.emit(self.take().text)
                self.value()
            self.expect_punct(")")
            return
        raise self.fail(
            token, "a comparison operator (=, !=, <, <=, >, >=, LIKE, IN, NOT IN, INCLUDES, EXCLUDES)"
        )

    def field_reference(self) -> None:
        token = self.take()
        if token.kind != "name" or ":" in token.text or token.word in _LOGIC | _LITERAL_WORDS | {"NOT"}:
            raise self.fail(token, "a field name")
        following = self.peek()
        if token.word in _FUNCTIONS and following is not None and following.text == "(":
            self.take()
            self.emit(f"{token.word}(")
            self.field_reference()
            self.expect_punct(")")
            return
        self.check_field(token)
        self.emit(token.text)

    def check_field(self, token: _Token) -> None:
        parts = token.text.split(".")
        if not all(API_NAME.fullmatch(part) for part in parts):
            raise WhereError(f"where: {token.text!r} is not a field name")
        if len(parts) > 1:
            if parts[0].lower() not in self.relationships:
                known = ", ".join(sorted(self.relationships.values())) or "none"
                raise WhereError(
                    f"where: {parts[0]!r} (in {token.text!r}) is not a relationship of this object "
                    f"(its relationships: {known})"
                )
            return
        field = self.fields.get(token.text.lower())
        if field is None:
            raise WhereError(f"where: the object has no field {token.text!r} visible to this user")
        if field.get("filterable") is False:
            raise WhereError(f"where: {field['name']} ({field.get('type')}) cannot be filtered on in SOQL")

    def value(self) -> None:
        token = self.take()
        if token.kind in ("string", "number", "date", "datetime"):
            self.emit(token.text)
            return
        if token.kind == "name":
            word, _, amount = token.word.partition(":")
            if (not amount and word in _LITERAL_WORDS | _DATE_LITERALS) or (
                amount and word in _DATE_LITERALS_N
            ):
                self.emit(token.word)
                return
        raise self.fail(
            token, "a value (a 'quoted string', a number, a date, TRUE, FALSE, NULL or a date literal)"
        )


def validate_where(text: str | None, describe: Mapping[str, Any]) -> str | None:
    """The condition rebuilt from ``text``'s tokens, or None when ``text`` is empty.

    :param describe: the object's describe (its ``fields``, with ``filterable`` and ``relationshipName``).
    :raises WhereError: when ``text`` is anything but one SOQL condition on the object's fields.
    """
    if text is None or not str(text).strip():
        return None
    text = str(text)
    if len(text) > _MAX_LENGTH:
        raise WhereError(f"where: {len(text)} characters is too long for a filter (at most {_MAX_LENGTH})")
    fields = {str(f["name"]).lower(): f for f in describe.get("fields") or ()}
    relationships = {
        str(f["relationshipName"]).lower(): str(f["relationshipName"])
        for f in describe.get("fields") or ()
        if f.get("relationshipName")
    }
    parser = _Parser(text, fields, relationships)
    parser.condition()
    if (rest := parser.peek()) is not None:
        raise parser.fail(rest, "the end of the condition (or AND / OR)")
    return _render(parser.out)


def _render(tokens: list[str]) -> str:
    """Tokens joined by single spaces, none after ``(`` or before ``)`` and ``,`` (literals untouched)."""
    text, previous = "", None
    for token in tokens:
        opens = previous is not None and previous.endswith("(") and not previous.startswith("'")
        glue = "" if previous is None or opens or token in (")", ",") else " "
        text, previous = text + glue + token, token
    return text
