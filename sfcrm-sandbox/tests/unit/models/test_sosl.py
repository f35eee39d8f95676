"""The SOSL subset: terms, scopes, RETURNING, limits and errors."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.objects import CONTACT
from sfcrm_sandbox.models.sosl import Returning, SoslError, parse, parse_term, searched_fields


@pytest.mark.parametrize(
    ("term", "texts", "found"),
    [
        ("acme", ["Acme Corp"], True),
        ("acm", ["Acme Corp"], False),  # whole words only
        ("acm*", ["Acme Corp"], True),
        ("ac?e", ["ACME"], True),
        ("acme corp", ["Corp of", "acme"], True),  # every word, in any field
        ("acme AND globex", ["Acme"], False),
        ('"acme corp"', ["Acme Corp"], True),
        ('"corp acme"', ["Acme Corp"], False),
        ("globex OR acme", ["acme"], True),
        ("wally", ["wally@example.com"], True),
        ("élodie", ["Élodie Durand"], True),
    ],
)
def test_terms(term, texts, found):
    assert parse_term(term).matches(texts) is found


@pytest.mark.parametrize(
    ("sosl", "message"),
    [
        ("Waldo", "No search term found. The search term must be enclosed in braces."),
        ("FIND {Waldo", "No search term found"),
        ("FIND {a}", "longer than one character"),
        ("FIND {acme AND NOT globex}", "does not support AND NOT"),
        ("FIND {(acme)}", "does not support parentheses"),
        ("FIND {acme} IN SIDEBAR FIELDS", "does not support IN SIDEBAR FIELDS"),
        ("FIND {acme} WITH DIVISION = 'x'", "does not support WITH clauses"),
        ("FIND {acme} OR", "unexpected token"),
    ],
)
def test_errors(sosl, message):
    with pytest.raises(SoslError) as info:
        parse(sosl)
    assert info.value.error_code == "MALFORMED_SEARCH"
    assert message in info.value.message


def test_statement_parts():
    search = parse(
        "FIND {wal\\}do*} IN NAME FIELDS "
        "RETURNING Contact(Name, Email WHERE Email != null LIMIT 5), Lead LIMIT 20"
    )
    assert search.scope == "NAME" and search.limit == 20
    assert search.returning == (
        Returning("Contact", "Name, Email WHERE Email != null LIMIT 5"),
        Returning("Lead"),
    )
    assert parse("FIND {x1} RETURNING Account(Name LIMIT 3)").limit == 2000


@pytest.mark.parametrize(
    ("scope", "expected", "absent"),
    [
        ("NAME", {"FirstName", "LastName", "Name"}, "Email"),
        ("EMAIL", {"Email"}, "Name"),
        ("PHONE", {"Phone", "MobilePhone"}, "Email"),
    ],
)
def test_scopes_pick_fields(scope, expected, absent):
    chosen = set(searched_fields(CONTACT.fields, scope))
    assert expected <= chosen and absent not in chosen
