"""Aggregate SOQL: AggregateResult rows, exprN naming, grouping, HAVING, ORDER BY and the rules."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.soql import FieldInfo, SoqlError, execute, parse

FIELDS = {
    f.name.lower(): f
    for f in (
        FieldInfo("Id", "id"),
        FieldInfo("LastName", "string"),
        FieldInfo("LeadSource", "picklist"),
        FieldInfo("Score__c", "double", groupable=False),
        FieldInfo("Visits__c", "int"),
        FieldInfo("Birthdate", "date"),
        FieldInfo("Description", "textarea", filterable=False, sortable=False, groupable=False),
    )
}
ROWS = [
    {
        "Id": "1",
        "LastName": "Ada",
        "LeadSource": "Web",
        "Score__c": 9.5,
        "Visits__c": 3,
        "Birthdate": "1815-12-10",
    },
    {"Id": "2", "LastName": "Grace", "LeadSource": "web", "Score__c": 7.0, "Visits__c": 1, "Birthdate": None},
    {
        "Id": "3",
        "LastName": "Alan",
        "LeadSource": "Other",
        "Score__c": None,
        "Visits__c": 5,
        "Birthdate": "1912-06-23",
    },
    {"Id": "4", "LastName": "Ada", "LeadSource": None, "Score__c": 1.5, "Visits__c": None, "Birthdate": None},
]


def run(soql: str):
    return execute(parse(soql), ROWS, FIELDS)


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT COUNT(Id) FROM Contact", [{"expr0": 4}]),
        ("SELECT COUNT(Score__c), COUNT_DISTINCT(LastName) FROM Contact", [{"expr0": 3, "expr1": 3}]),
        ("SELECT SUM(Visits__c) total, AVG(Score__c) FROM Contact", [{"total": 9, "expr0": 6.0}]),
        ("SELECT MIN(Birthdate), MAX(LastName) FROM Contact", [{"expr0": "1815-12-10", "expr1": "Grace"}]),
        ("SELECT SUM(Visits__c) FROM Contact WHERE LastName = 'nobody'", [{"expr0": None}]),
        ("SELECT COUNT(Id) FROM Contact WHERE LastName = 'nobody'", [{"expr0": 0}]),
        (
            # Text groups ignore case; nulls form one group; ORDER BY an aggregate.
            "SELECT LeadSource, COUNT(Id) n FROM Contact GROUP BY LeadSource "
            "ORDER BY COUNT(Id) DESC, LeadSource",
            [{"LeadSource": "Web", "n": 2}, {"LeadSource": None, "n": 1}, {"LeadSource": "Other", "n": 1}],
        ),
        (
            "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName HAVING COUNT(Id) > 1",
            [{"LastName": "Ada", "expr0": 2}],
        ),
        (
            "SELECT LastName FROM Contact GROUP BY LastName HAVING LastName LIKE 'A%' ORDER BY LastName",
            [{"LastName": "Ada"}, {"LastName": "Alan"}],
        ),
        (
            "SELECT LastName, MAX(Visits__c) FROM Contact GROUP BY LastName "
            "ORDER BY LastName LIMIT 1 OFFSET 1",
            [{"LastName": "Alan", "expr0": 5}],
        ),
    ],
)
def test_aggregate_results(soql, expected):
    assert run(soql) == expected


@pytest.mark.parametrize(
    ("soql", "code", "text"),
    [
        (
            "SELECT LastName, COUNT(Id) FROM Contact",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: LastName",
        ),
        (
            "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LeadSource",
            "MALFORMED_QUERY",
            "grouped or aggregated",
        ),
        ("SELECT SUM(LastName) FROM Contact", "INVALID_FIELD", "does not support aggregate operator SUM"),
        ("SELECT MAX(Description) FROM Contact", "INVALID_FIELD", "does not support aggregate operator MAX"),
        ("SELECT Score__c FROM Contact GROUP BY Score__c", "INVALID_FIELD", "can not be grouped"),
        ("SELECT COUNT(Nope__c) FROM Contact", "INVALID_FIELD", "No such column 'Nope__c'"),
        ("SELECT Id FROM Contact HAVING COUNT(Id) > 1", "MALFORMED_QUERY", "HAVING requires GROUP BY"),
    ],
)
def test_aggregate_errors(soql, code, text):
    with pytest.raises(SoqlError) as info:
        run(soql)
    assert info.value.error_code == code
    assert text in info.value.message


def test_more_than_2000_groups_need_a_limit():
    rows = [{"Id": str(i), "LastName": f"n{i}"} for i in range(2001)]
    with pytest.raises(SoqlError) as info:
        execute(parse("SELECT LastName FROM Contact GROUP BY LastName"), rows, FIELDS)
    assert "does not support queryMore()" in info.value.message
    limited = execute(parse("SELECT LastName FROM Contact GROUP BY LastName LIMIT 2000"), rows, FIELDS)
    assert len(limited) == 2000
