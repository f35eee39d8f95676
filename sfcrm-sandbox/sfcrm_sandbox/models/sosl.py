"""The SOSL subset the sandbox answers: a search term, the fields it is looked for in, and what to return.

Supported (``docs/salesforce-facts.md``, "SOSL")::

    FIND {term} [IN ALL FIELDS | NAME FIELDS | EMAIL FIELDS | PHONE FIELDS]
        [RETURNING Object [(Field, ... [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n])], ...]
        [LIMIT n]

The term is words and "quoted phrases", all of which must be found (``AND`` may be written), or
alternatives joined by ``OR``; ``*`` stands for any characters and ``?`` for one, and a term needs at
least two characters besides them. Words match whole words of a field's text, ignoring case. The
list inside a ``RETURNING`` object's parentheses is SOQL and runs through the sandbox's SOQL engine.
Everything else (``AND NOT``, parentheses in the term, ``WITH``, ``UPDATE``, ``TO LABEL`` ...) is
refused with ``MALFORMED_SEARCH`` saying the sandbox does not support it.

Pure Python: the caller owns the records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sfcrm_sandbox.models.fields import FieldSpec

MALFORMED_SEARCH = "MALFORMED_SEARCH"
MAX_LIMIT = 2000
SCOPES = ("ALL", "NAME", "EMAIL", "PHONE")
_NO_TERM = "No search term found. The search term must be enclosed in braces."
_WORD = re.compile(r"\w+", re.UNICODE)


class SoslError(Exception):
    """A search Salesforce would refuse: 400 with ``error_code`` and ``message``."""

    def __init__(self, message: str, error_code: str = MALFORMED_SEARCH) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def _unsupported(what: str) -> SoslError:
    return SoslError(
        f'sfcrm-sandbox does not support {what} in searches (it supports words, "phrases", AND, OR, '
        "* and ? in the term; IN ALL/NAME/EMAIL/PHONE FIELDS; RETURNING with SOQL field lists; LIMIT)"
    )


# --------------------------------------------------------------------------------------------------
# The term
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """Alternatives (OR) of conjunctions (AND) of word sequences (a phrase is several words)."""

    alternatives: tuple[tuple[tuple[re.Pattern[str], ...], ...], ...]

    def matches(self, texts: Iterable[str]) -> bool:
        tokens = [[t.casefold() for t in _WORD.findall(text)] for text in texts if text]
        return any(all(_found(phrase, tokens) for phrase in conjunction) for conjunction in self.alternatives)


def _found(phrase: tuple[re.Pattern[str], ...], tokens: list[list[str]]) -> bool:
    width = len(phrase)
    for words in tokens:
        for start in range(len(words) - width + 1):
            if all(p.fullmatch(words[start + i]) for i, p in enumerate(phrase)):
                return True
    return False


def _word_pattern(word: str) -> re.Pattern[str]:
    if len(word.replace("*", "").replace("?", "")) < 2:
        # UNVERIFIED wording.
        raise SoslError("search term must be longer than one character")
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in word.casefold())
    )


def _phrase(text: str) -> tuple[re.Pattern[str], ...]:
    words = re.findall(r"[\w*?]+", text, re.UNICODE)
    if not words:
        raise SoslError("search term must be longer than one character")
    return tuple(_word_pattern(w) for w in words)


def parse_term(text: str) -> Term:
    """A search term: ``acme corp``, ``"acme corp" OR globex``, ``acm*``."""
    if re.search(r"[()]", text):
        raise _unsupported("parentheses in the search term")
    parts = re.findall(r'"[^"]*"|\S+', text.strip())
    alternatives: list[tuple[tuple[re.Pattern[str], ...], ...]] = []
    current: list[tuple[re.Pattern[str], ...]] = []
    previous = None
    for part in parts:
        upper = part.upper()
        if upper == "OR":
            if not current:
                raise SoslError(f"Search term OR is missing an operand: {text}")
            alternatives.append(tuple(current))
            current = []
        elif upper == "AND":
            if previous is None or previous == "OR":
                raise SoslError(f"Search term AND is missing an operand: {text}")
        elif upper == "NOT":
            raise _unsupported("AND NOT")
        else:
            current.append(_phrase(part.strip('"')))
        previous = upper if upper in ("AND", "OR") else "word"
    if not current:
        raise SoslError(_NO_TERM if not parts else f"Search term ends with an operator: {text}")
    alternatives.append(tuple(current))
    return Term(tuple(alternatives))


def searched_fields(fields: Iterable[FieldSpec], scope: str) -> list[str]:
    """Names of the fields a search ``IN <scope> FIELDS`` looks at."""
    chosen = []
    for spec in fields:
        if scope == "NAME":
            keep = spec.name_field or spec.extra_type_info == "personname"
        elif scope == "EMAIL":
            keep = spec.type == "email"
        elif scope == "PHONE":
            keep = spec.type == "phone"
        else:
            keep = spec.is_text
        if keep:
            chosen.append(spec.name)
    return chosen


# --------------------------------------------------------------------------------------------------
# The FIND statement
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Returning:
    """One object to search: ``soql_tail`` is the SOQL inside its parentheses (``Name WHERE ...``)."""

    sobject: str
    soql_tail: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Search:
    term: Term
    scope: str = "ALL"
    returning: tuple[Returning, ...] = ()
    limit: int = MAX_LIMIT


def _braced_term(sosl: str) -> tuple[str, str]:
    """The text between ``FIND {`` and its closing brace (``\\}`` escapes one), and what follows."""
    match = re.match(r"\s*FIND\s*\{", sosl, re.IGNORECASE)
    if not match:
        raise SoslError(_NO_TERM)
    i, out = match.end(), []
    while i < len(sosl):
        ch = sosl[i]
        if ch == "\\" and i + 1 < len(sosl):
            out.append(sosl[i + 1])
            i += 2
            continue
        if ch == "}":
            return "".join(out), sosl[i + 1 :]
        out.append(ch)
        i += 1
    raise SoslError(_NO_TERM)


def _split_top_level(text: str) -> list[str]:
    """``Account(Id, Name), Contact`` → ``["Account(Id, Name)", "Contact"]``."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'" and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _limit(text: str) -> int:
    if not text.isdigit():
        raise SoslError(f"unexpected token: '{text}'")
    return min(int(text), MAX_LIMIT)


def parse(sosl: str) -> Search:
    """Parse a SOSL statement of the supported subset; raises :class:`SoslError` otherwise."""
    term_text, rest = _braced_term(sosl)
    term = parse_term(term_text)
    scope = "ALL"
    scope_match = re.match(r"\s*IN\s+(\w+)\s+FIELDS\b", rest, re.IGNORECASE)
    if scope_match:
        scope = scope_match.group(1).upper()
        if scope not in SCOPES:
            raise (
                _unsupported(f"IN {scope} FIELDS")
                if scope == "SIDEBAR"
                else SoslError(f"unexpected token: '{scope_match.group(1)}'")
            )
        rest = rest[scope_match.end() :]
    overall = MAX_LIMIT
    limit_match = re.search(r"\bLIMIT\s+(\S+)\s*$", rest, re.IGNORECASE)
    returning_text = rest
    if limit_match and not re.search(r"\([^)]*\bLIMIT\s+\S+\s*$", rest, re.IGNORECASE):
        overall = _limit(limit_match.group(1))
        returning_text = rest[: limit_match.start()]
    returning: list[Returning] = []
    returning_match = re.match(r"\s*RETURNING\s+(.+)$", returning_text, re.IGNORECASE | re.DOTALL)
    if returning_match:
        for item in _split_top_level(returning_match.group(1)):
            found = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?", item, re.DOTALL)
            if not found:
                raise SoslError(f"unexpected token: '{item}'")
            returning.append(Returning(found.group(1), (found.group(2) or "").strip() or None))
    elif returning_text.strip():
        word = returning_text.split()[0].upper()
        if word in ("WITH", "UPDATE", "TO", "USING"):
            raise _unsupported(f"{word} clauses")
        raise SoslError(f"unexpected token: '{returning_text.split()[0]}'")
    return Search(term, scope, tuple(returning), overall)
