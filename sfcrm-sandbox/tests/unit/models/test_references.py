"""Composite references ``@{ref.path}``."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.references import UnresolvedReference, resolve

BODIES = {"acc": {"id": "001A", "n": 3}, "q": {"records": [{"Id": "003B", "Name": "x"}], "done": True}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@{acc.id}", "001A"),
        ("@{acc.n}", 3),  # a whole-string reference keeps its type
        ("/sobjects/Contact/@{q.records[0].Id}", "/sobjects/Contact/003B"),
        ({"AccountId": "@{acc.id}", "k": ["@{q.done}"]}, {"AccountId": "001A", "k": [True]}),
        ("n=@{acc.n}&done=@{q.done}", "n=3&done=true"),
        ("no reference", "no reference"),
    ],
)
def test_resolve(value, expected):
    assert resolve(value, BODIES) == expected


@pytest.mark.parametrize(
    "value", ["@{missing.id}", "@{acc.nope}", "@{q.records[5].Id}", "@{q.records}", "@{acc}"]
)
def test_unresolved(value):
    with pytest.raises(UnresolvedReference) as info:
        resolve(value, BODIES)
    assert "Invalid reference specified. No value for" in str(info.value)
