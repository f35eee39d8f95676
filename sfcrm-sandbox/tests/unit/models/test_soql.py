"""The sandbox's SOQL engine: parsing, Salesforce semantics of every operator and literal, errors."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

import pytest

from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.soql import FieldInfo, Query, SoqlError, execute, parse

TODAY = date(2024, 2, 1)  # a Thursday; the week (Sunday start) runs 2024-01-28 .. 2024-02-03

_FIELD_LIST = [
    FieldInfo("Id", "id"),
    FieldInfo("FirstName", "string"),
    FieldInfo("LastName", "string"),
    FieldInfo("Email", "email"),
    FieldInfo("Phone", "phone"),
    FieldInfo("LeadSource", "picklist"),
    FieldInfo("AccountId", "reference"),
    FieldInfo("HasOptedOutOfEmail", "boolean"),
    FieldInfo("Score__c", "double"),
    FieldInfo("Visits__c", "int"),
    FieldInfo("Birthdate", "date"),
    FieldInfo("LastActivityDate", "date"),
    FieldInfo("CreatedDate", "datetime"),
    FieldInfo("MailingStreet", "textarea"),
    FieldInfo("Description", "textarea", filterable=False, sortable=False),
]
FIELDS = {f.name.lower(): f for f in _FIELD_LIST}

ID1, ID2, ID3, ID4, ID5 = (canonical_id(f"003ak00000luK{n:02d}") for n in range(1, 6))
ACC1, ACC2 = canonical_id("001RM000003oLnn"), canonical_id("001RM000003oLnA")

ROWS = [
    {
        "Id": ID1,
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.com",
        "LeadSource": "Web",
        "AccountId": ACC1,
        "HasOptedOutOfEmail": False,
        "Score__c": 9.5,
        "Visits__c": 3,
        "Birthdate": "1815-12-10",
        "LastActivityDate": "2024-02-01",  # today
        "CreatedDate": "2024-01-31T10:00:00.000+0000",
        "MailingStreet": "1 Main St",
        "Description": "long text",
    },
    {
        "Id": ID2,
        "FirstName": "Grace",
        "LastName": "Hopper",
        "Email": "grace@example.com",
        "LeadSource": "Phone Inquiry",
        "AccountId": ACC1,
        "HasOptedOutOfEmail": True,
        "Score__c": 7.25,
        "Visits__c": 10,
        "Birthdate": "1906-12-09",
        "LastActivityDate": "2024-01-31",  # yesterday
        "CreatedDate": "2024-01-31T23:30:00.000+0000",
        "MailingStreet": None,
        "Description": None,
    },
    {
        "Id": ID3,
        "FirstName": "alan",
        "LastName": "turing",
        "Email": "ALAN@EXAMPLE.ORG",
        "LeadSource": None,
        "AccountId": None,
        "HasOptedOutOfEmail": False,
        "Score__c": None,
        "Visits__c": 0,
        "Birthdate": None,
        "LastActivityDate": "2024-02-02",  # tomorrow
        "CreatedDate": "2024-02-01T00:00:00.000+0000",
    },
    {
        "Id": ID4,
        "FirstName": None,
        "LastName": "O'Brien",
        "Email": None,
        "LeadSource": "Web",
        "AccountId": ACC2,
        "HasOptedOutOfEmail": False,
        "Score__c": -1.0,
        "Visits__c": None,
        "Birthdate": "2000-02-29",
        "LastActivityDate": "2024-01-02",  # 30 days ago
        "CreatedDate": "2023-12-31T23:59:59.000+0000",
    },
    {
        "Id": ID5,
        "FirstName": "Emile",
        "LastName": "100% Real_Name",
        "Email": "e@x.fr",
        "LeadSource": "Partner",
        "AccountId": None,
        "HasOptedOutOfEmail": True,
        "Score__c": 0,
        "Visits__c": 7,
        "Birthdate": "1990-06-15",
        "LastActivityDate": None,
        "CreatedDate": None,
    },
]
LOVELACE, HOPPER, TURING, OBRIEN, REAL = (row["LastName"] for row in ROWS)


def run(soql: str, rows=ROWS, today: date | None = TODAY):
    return execute(parse(soql), rows, FIELDS, today=today)


def last_names(where: str, today: date | None = TODAY) -> list[str]:
    return [r["LastName"] for r in run(f"SELECT LastName FROM Contact WHERE {where}", today=today)]


def soql_error(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        run(soql)
    return info.value


# --------------------------------------------------------------------------------------------------
# parse()
# --------------------------------------------------------------------------------------------------


def test_parse_exposes_object_fields_and_clauses_as_written():
    q = parse("select id, LASTNAME from contact where LastName = 'x' order by LastName desc limit 5 offset 2")
    assert isinstance(q, Query)
    assert (q.sobject, q.is_count, q.fields) == ("contact", False, ("id", "LASTNAME"))
    assert (q.limit, q.offset) == (5, 2)
    assert q.order_by[0].descending is True


def test_parse_count():
    q = parse("SELECT COUNT() FROM Lead")
    assert (q.sobject, q.is_count, q.fields) == ("Lead", True, ())


def test_keywords_are_case_insensitive_and_whitespace_free_form():
    soql = "sElEcT Id\n,LastName\tfRoM Contact\n wHeRe LastName != NULL aNd NOT (Score__c < 0)\n" + (
        "oRdEr By LastName AsC nUlLs LaSt LiMiT 2 oFfSeT 1"
    )
    assert [r["LastName"] for r in run(soql)] == [HOPPER, LOVELACE]


# --------------------------------------------------------------------------------------------------
# WHERE: operators and literal kinds
# --------------------------------------------------------------------------------------------------

TEXT_CASES = [
    ("LastName = 'LOVELACE'", [LOVELACE]),  # text comparisons ignore case
    ("FirstName = 'ALAN'", [TURING]),
    ("Email = 'alan@example.org'", [TURING]),
    ("LeadSource = 'web'", [LOVELACE, OBRIEN]),
    ("MailingStreet = '1 main st'", [LOVELACE]),  # a 255-character text area is filterable
    ("FirstName != 'Ada'", [HOPPER, TURING, OBRIEN, REAL]),  # != also matches null
    ("FirstName <> 'ada'", [HOPPER, TURING, OBRIEN, REAL]),
    ("LastName < 'M'", [LOVELACE, HOPPER, REAL]),
    ("LastName <= 'hopper'", [HOPPER, REAL]),
    ("LastName > 'O'", [TURING, OBRIEN]),
    ("LastName >= 'TURING'", [TURING]),
    ("FirstName < 'b'", [LOVELACE, TURING]),  # null is neither smaller nor greater
    ("FirstName = null", [OBRIEN]),
    ("FirstName = NULL", [OBRIEN]),
    ("FirstName != null", [LOVELACE, HOPPER, TURING, REAL]),
    ("FirstName = ''", [OBRIEN]),  # Salesforce keeps no empty strings: '' is null
    ("MailingStreet = null", [HOPPER, TURING, OBRIEN, REAL]),  # absent keys are null too
]

IN_CASES = [
    ("LeadSource IN ('web', 'PARTNER')", [LOVELACE, OBRIEN, REAL]),
    ("LeadSource IN ('Web')", [LOVELACE, OBRIEN]),
    ("LeadSource NOT IN ('Web')", [HOPPER, TURING, REAL]),  # NOT IN matches null
    ("LeadSource IN ('Web', null)", [LOVELACE, TURING, OBRIEN]),
    ("LeadSource NOT IN ('Web', null)", [HOPPER, REAL]),
    ("Visits__c IN (0, 7)", [TURING, REAL]),
    ("Visits__c NOT IN (0, 7)", [LOVELACE, HOPPER, OBRIEN]),
    ("HasOptedOutOfEmail IN (true)", [HOPPER, REAL]),
    ("Birthdate IN (1815-12-10, 2000-02-29)", [LOVELACE, OBRIEN]),
    ("CreatedDate IN (2024-01-31T10:00:00Z, 2024-02-01T01:00:00+01:00)", [LOVELACE, TURING]),
]

LIKE_CASES = [
    ("LastName LIKE 'lov%'", [LOVELACE]),  # case-insensitive
    ("LastName LIKE '%ER'", [HOPPER]),
    ("LastName LIKE '_uring'", [TURING]),
    ("LastName LIKE 'turin'", []),  # the whole value must match
    ("LastName LIKE 'turing'", [TURING]),
    ("LastName LIKE '%\\%%'", [REAL]),  # \% is a literal percent sign
    ("LastName LIKE '%\\_%'", [REAL]),  # \_ is a literal underscore
    ("LastName LIKE '%_%'", [LOVELACE, HOPPER, TURING, OBRIEN, REAL]),
    ("LastName LIKE 'O\\'%'", [OBRIEN]),
    ("Email LIKE '%@EXAMPLE.%'", [LOVELACE, HOPPER, TURING]),
    ("Email LIKE '%.com'", [LOVELACE, HOPPER]),  # '.' is not a wildcard
    ("FirstName LIKE '%'", [LOVELACE, HOPPER, TURING, REAL]),  # null never matches
    ("NOT LastName LIKE '%e%'", [TURING]),
    ("LastName LIKE '(%'", []),  # regex characters are literal
]

NUMBER_CASES = [
    ("Score__c > 0", [LOVELACE, HOPPER]),
    ("Score__c >= 0", [LOVELACE, HOPPER, REAL]),
    ("Score__c < 0", [OBRIEN]),
    ("Score__c <= -1", [OBRIEN]),
    ("Score__c = 7.25", [HOPPER]),
    ("Score__c > -1.5", [LOVELACE, HOPPER, OBRIEN, REAL]),
    ("Score__c != 9.5", [HOPPER, TURING, OBRIEN, REAL]),
    ("Score__c = null", [TURING]),
    ("Score__c > null", []),
    ("Visits__c = 3", [LOVELACE]),
    ("Visits__c <= 3.5", [LOVELACE, TURING]),
    ("Visits__c = 0", [TURING]),  # zero is a value, not null
    ("Visits__c = +10", [HOPPER]),
]

BOOLEAN_CASES = [
    ("HasOptedOutOfEmail = true", [HOPPER, REAL]),
    ("HasOptedOutOfEmail = TRUE", [HOPPER, REAL]),
    ("HasOptedOutOfEmail = false", [LOVELACE, TURING, OBRIEN]),
    ("HasOptedOutOfEmail != true", [LOVELACE, TURING, OBRIEN]),
    # Salesforce: on a checkbox, null matches false ("= null" is "= false", "!= null" is "= true").
    ("HasOptedOutOfEmail = null", [LOVELACE, TURING, OBRIEN]),
    ("HasOptedOutOfEmail != null", [HOPPER, REAL]),
    ("HasOptedOutOfEmail IN (null)", [LOVELACE, TURING, OBRIEN]),
]


def test_a_missing_checkbox_value_counts_as_false():
    rows = [{"Id": ID1, "HasOptedOutOfEmail": None}, {"Id": ID2}, {"Id": ID3, "HasOptedOutOfEmail": True}]
    assert run("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = false", rows=rows) == [
        {"Id": ID1},
        {"Id": ID2},
    ]


DATE_CASES = [
    ("Birthdate = 1815-12-10", [LOVELACE]),
    ("Birthdate < 1900-01-01", [LOVELACE]),
    ("Birthdate > 1900-01-01", [HOPPER, OBRIEN, REAL]),
    ("Birthdate >= 2000-02-29", [OBRIEN]),
    ("Birthdate <= 1906-12-09", [LOVELACE, HOPPER]),
    ("Birthdate != 1906-12-09", [LOVELACE, TURING, OBRIEN, REAL]),
    ("Birthdate = null", [TURING]),
]

DATETIME_CASES = [
    ("CreatedDate = 2024-01-31T10:00:00Z", [LOVELACE]),
    ("CreatedDate = 2024-01-31T10:00:00.000Z", [LOVELACE]),  # fractional seconds
    ("CreatedDate = 2024-01-31T11:00:00+01:00", [LOVELACE]),  # compared as instants, in UTC
    ("CreatedDate = 2024-01-31T05:00:00-05:00", [LOVELACE]),
    ("CreatedDate = 2024-01-31T10:00:00.5Z", []),
    ("CreatedDate > 2024-01-31T18:00:00-05:00", [HOPPER, TURING]),
    ("CreatedDate >= 2024-02-01T01:00:00+01:00", [TURING]),
    ("CreatedDate < 2024-01-01T00:00:00Z", [OBRIEN]),
    ("CreatedDate <= 2023-12-31T23:59:59Z", [OBRIEN]),
    ("CreatedDate != 2024-01-31T10:00:00Z", [HOPPER, TURING, OBRIEN, REAL]),
    ("CreatedDate = null", [REAL]),
]

RELATIVE_DATE_CASES = [
    ("LastActivityDate = TODAY", [LOVELACE]),
    ("LastActivityDate = today", [LOVELACE]),
    ("LastActivityDate = YESTERDAY", [HOPPER]),
    ("LastActivityDate = TOMORROW", [TURING]),
    ("LastActivityDate > TODAY", [TURING]),
    ("LastActivityDate < TODAY", [HOPPER, OBRIEN]),
    ("LastActivityDate <= TODAY", [LOVELACE, HOPPER, OBRIEN]),
    ("LastActivityDate >= TODAY", [LOVELACE, TURING]),
    ("LastActivityDate != TODAY", [HOPPER, TURING, OBRIEN, REAL]),
    ("LastActivityDate = LAST_N_DAYS:1", [LOVELACE, HOPPER]),  # includes today
    ("LastActivityDate = LAST_N_DAYS:29", [LOVELACE, HOPPER]),
    ("LastActivityDate = LAST_N_DAYS:30", [LOVELACE, HOPPER, OBRIEN]),
    ("LastActivityDate < LAST_N_DAYS:29", [OBRIEN]),
    ("LastActivityDate = NEXT_N_DAYS:1", [TURING]),  # starts tomorrow
    ("LastActivityDate = NEXT_N_DAYS:0", []),
    ("LastActivityDate > NEXT_N_DAYS:1", []),
    ("LastActivityDate = N_DAYS_AGO:30", [OBRIEN]),
    ("LastActivityDate = THIS_WEEK", [LOVELACE, HOPPER, TURING]),
    ("LastActivityDate = LAST_WEEK", []),
    ("LastActivityDate < THIS_WEEK", [OBRIEN]),
    ("LastActivityDate = THIS_MONTH", [LOVELACE, TURING]),
    ("LastActivityDate = LAST_MONTH", [HOPPER, OBRIEN]),
    ("LastActivityDate = NEXT_MONTH", []),
    ("LastActivityDate = THIS_YEAR", [LOVELACE, HOPPER, TURING, OBRIEN]),
    ("LastActivityDate = LAST_90_DAYS", [LOVELACE, HOPPER, OBRIEN]),
    ("LastActivityDate = NEXT_90_DAYS", [TURING]),
    ("CreatedDate = TODAY", [TURING]),  # dateTime fields: whole UTC days
    ("CreatedDate = YESTERDAY", [LOVELACE, HOPPER]),
    ("CreatedDate < YESTERDAY", [OBRIEN]),
    ("CreatedDate = LAST_N_DAYS:1", [LOVELACE, HOPPER, TURING]),
    ("CreatedDate = LAST_YEAR", [OBRIEN]),
    ("CreatedDate >= THIS_YEAR", [LOVELACE, HOPPER, TURING]),
]

ID_CASES = [
    (f"Id = '{ID1}'", [LOVELACE]),
    (f"Id = '{ID1[:15]}'", [LOVELACE]),  # the 15-character form finds the same record
    (f"Id != '{ID1}'", [HOPPER, TURING, OBRIEN, REAL]),
    (f"Id IN ('{ID2}', '{ID3[:15]}')", [HOPPER, TURING]),
    (f"AccountId = '{ACC1}'", [LOVELACE, HOPPER]),
    ("AccountId = null", [TURING, REAL]),
    ("AccountId = ''", [TURING, REAL]),
    (f"AccountId = '{ACC1.lower()}'", []),  # Ids are case-sensitive
]

LOGIC_CASES = [
    ("LastName = 'Lovelace' OR LastName = 'Hopper'", [LOVELACE, HOPPER]),
    ("LastName = 'x' or LastName = 'turing' or LastName = 'Hopper'", [HOPPER, TURING]),
    ("LeadSource = 'Web' AND Score__c > 0", [LOVELACE]),
    ("LeadSource = 'Web' AND Score__c > -5 AND Visits__c = null", [OBRIEN]),
    ("(LeadSource = 'Web' OR LeadSource = 'Partner') AND HasOptedOutOfEmail = true", [REAL]),
    ("LeadSource = 'Partner' OR (LeadSource = 'Web' AND Score__c < 0)", [OBRIEN, REAL]),
    ("NOT LastName = 'Lovelace'", [HOPPER, TURING, OBRIEN, REAL]),
    ("NOT (Score__c > 0 OR Score__c = null)", [OBRIEN, REAL]),
    ("NOT NOT LastName = 'turing'", [TURING]),
    ("((LastName = 'turing'))", [TURING]),
    ("Visits__c > 0 AND (NOT LeadSource = 'Web')", [HOPPER, REAL]),
]


@pytest.mark.parametrize(
    ("where", "expected"),
    TEXT_CASES
    + IN_CASES
    + LIKE_CASES
    + NUMBER_CASES
    + BOOLEAN_CASES
    + DATE_CASES
    + DATETIME_CASES
    + RELATIVE_DATE_CASES
    + ID_CASES
    + LOGIC_CASES,
)
def test_where(where, expected):
    assert last_names(where) == expected


@pytest.mark.parametrize(
    ("literal", "stored"),
    [
        ("'It\\'s'", "It's"),
        ("'back\\\\slash'", "back\\slash"),
        ("'two\\nlines'", "two\nlines"),
        ("'tab\\there'", "tab\there"),
        ("'cr\\rhere'", "cr\rhere"),
        ("'quote\\\"d'", 'quote"d'),
        ("'\\u00e9t\\u00E9'", "été"),
        ("'upper\\Nescape'", "upper\nescape"),
        ("'100\\%'", "100%"),
    ],
)
def test_string_literal_escapes(literal, stored):
    rows = [{"Id": ID1, "LastName": stored}, {"Id": ID2, "LastName": "other"}]
    result = run(f"SELECT Id FROM Contact WHERE LastName = {literal}", rows=rows)
    assert result == [{"Id": ID1}]


def test_month_and_year_literals_cross_year_boundaries():
    assert last_names("CreatedDate = LAST_MONTH", today=date(2024, 1, 15)) == [OBRIEN]
    assert last_names("LastActivityDate = NEXT_MONTH", today=date(2023, 12, 20)) == [HOPPER, OBRIEN]
    assert last_names("LastActivityDate = LAST_WEEK", today=date(2024, 2, 7)) == [LOVELACE, HOPPER, TURING]


def test_relative_dates_default_to_today_in_utc():
    today = datetime.now(timezone.utc).date()
    rows = [{"Id": ID1, "LastActivityDate": today.isoformat()}, {"Id": ID2, "LastActivityDate": "2000-01-01"}]
    assert run("SELECT Id FROM Contact WHERE LastActivityDate = TODAY", rows=rows, today=None) == [
        {"Id": ID1}
    ]


def test_today_may_be_given_as_a_datetime():
    moment = datetime(2024, 2, 1, 23, 0, tzinfo=timezone.utc)
    assert last_names("LastActivityDate = TODAY", today=moment) == [LOVELACE]


def test_stored_datetimes_in_other_shapes_compare_as_instants():
    rows = [
        {"Id": ID1, "CreatedDate": "2024-01-31T12:00:00+02:00"},
        {"Id": ID2, "CreatedDate": "2024-01-31T10:00:00Z"},
        {"Id": ID3, "CreatedDate": datetime(2024, 1, 31, 10, tzinfo=timezone.utc)},
        {"Id": ID4, "CreatedDate": "2024-01-31T10:00:01.000+0000"},
    ]
    result = run("SELECT Id FROM Contact WHERE CreatedDate = 2024-01-31T10:00:00Z", rows=rows)
    assert result == [{"Id": ID1}, {"Id": ID2}, {"Id": ID3}]


# --------------------------------------------------------------------------------------------------
# SELECT output, ORDER BY, LIMIT, OFFSET, COUNT()
# --------------------------------------------------------------------------------------------------


def test_result_uses_canonical_names_in_select_order_and_only_selected_fields():
    result = run(f"SELECT lastname, ID, phone FROM contact WHERE id = '{ID1}'")
    assert result == [{"LastName": "Lovelace", "Id": ID1, "Phone": None}]
    assert list(result[0]) == ["LastName", "Id", "Phone"]


def test_select_without_where_returns_every_row_in_storage_order():
    assert [r["Id"] for r in run("SELECT Id FROM Contact")] == [ID1, ID2, ID3, ID4, ID5]


def test_long_text_areas_can_be_selected():
    assert run(f"SELECT Description FROM Contact WHERE Id = '{ID1}'") == [{"Description": "long text"}]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("FirstName", [OBRIEN, LOVELACE, TURING, REAL, HOPPER]),  # nulls first, case-insensitive
        ("FirstName ASC", [OBRIEN, LOVELACE, TURING, REAL, HOPPER]),
        ("FirstName DESC", [HOPPER, REAL, TURING, LOVELACE, OBRIEN]),  # nulls last
        ("FirstName ASC NULLS LAST", [LOVELACE, TURING, REAL, HOPPER, OBRIEN]),
        ("FirstName DESC NULLS FIRST", [OBRIEN, HOPPER, REAL, TURING, LOVELACE]),
        ("Score__c", [TURING, OBRIEN, REAL, HOPPER, LOVELACE]),
        ("Score__c DESC", [LOVELACE, HOPPER, REAL, OBRIEN, TURING]),
        ("Birthdate", [TURING, LOVELACE, HOPPER, REAL, OBRIEN]),
        ("CreatedDate DESC", [TURING, HOPPER, LOVELACE, OBRIEN, REAL]),
        ("HasOptedOutOfEmail DESC, LastName", [REAL, HOPPER, LOVELACE, OBRIEN, TURING]),
        ("HasOptedOutOfEmail, LastName DESC", [TURING, OBRIEN, LOVELACE, HOPPER, REAL]),
        ("LeadSource NULLS LAST, Visits__c DESC", [REAL, HOPPER, LOVELACE, OBRIEN, TURING]),
        ("LeadSource DESC NULLS FIRST, Visits__c DESC NULLS FIRST", [TURING, OBRIEN, LOVELACE, HOPPER, REAL]),
    ],
)
def test_order_by(order_by, expected):
    assert [r["LastName"] for r in run(f"SELECT LastName FROM Contact ORDER BY {order_by}")] == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("ORDER BY Score__c LIMIT 2", [TURING, OBRIEN]),
        ("ORDER BY Score__c LIMIT 2 OFFSET 1", [OBRIEN, REAL]),
        ("ORDER BY Score__c DESC LIMIT 1", [LOVELACE]),
        ("ORDER BY Score__c OFFSET 3", [HOPPER, LOVELACE]),
        ("ORDER BY Score__c LIMIT 100", [TURING, OBRIEN, REAL, HOPPER, LOVELACE]),
        ("LIMIT 2", [LOVELACE, HOPPER]),
        ("LIMIT 2 OFFSET 4", [REAL]),
        ("OFFSET 3", [OBRIEN, REAL]),
        ("OFFSET 10", []),
        ("LIMIT 0", []),
        ("OFFSET 2000", []),
    ],
)
def test_limit_and_offset(tail, expected):
    assert [r["LastName"] for r in run(f"SELECT LastName FROM Contact {tail}")] == expected


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT COUNT() FROM Contact", 5),
        ("select count ( ) from Contact", 5),
        ("SELECT COUNT() FROM Contact WHERE LeadSource = 'Web'", 2),
        ("SELECT COUNT() FROM Contact WHERE LastName = 'nobody'", 0),
        ("SELECT COUNT() FROM Contact LIMIT 2", 2),
        ("SELECT COUNT() FROM Contact LIMIT 2 OFFSET 4", 1),
        ("SELECT COUNT() FROM Contact OFFSET 9", 0),
    ],
)
def test_count(soql, expected):
    assert run(soql) == expected


def test_count_of_an_empty_object_is_zero():
    assert run("SELECT COUNT() FROM Contact", rows=[]) == 0


def test_rows_are_streamed_so_an_unordered_limit_stops_reading_early():
    endless = ({"Id": f"{n:015d}", "Visits__c": n} for n in itertools.count())
    result = run("SELECT Visits__c FROM Contact WHERE Visits__c > 10 LIMIT 3", rows=endless)
    assert result == [{"Visits__c": 11}, {"Visits__c": 12}, {"Visits__c": 13}]


def test_ordered_limit_over_many_rows_keeps_the_smallest():
    rows = ({"Id": f"{n:015d}", "Visits__c": (n * 7919) % 10_000} for n in range(10_000))
    result = run("SELECT Visits__c FROM Contact ORDER BY Visits__c DESC LIMIT 3 OFFSET 1", rows=rows)
    assert result == [{"Visits__c": 9998}, {"Visits__c": 9997}, {"Visits__c": 9996}]


def _never_read():
    raise AssertionError("rows were read although the query is invalid")
    yield  # pragma: no cover


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Foo FROM Contact",
        "SELECT Id FROM Contact WHERE Foo = 1",
        "SELECT Id FROM Contact ORDER BY Foo",
        "SELECT Id FROM Contact WHERE Description = 'x'",
        "SELECT Id FROM Contact WHERE Birthdate = '2024-01-01'",
    ],
)
def test_invalid_queries_fail_before_any_row_is_read(soql):
    with pytest.raises(SoqlError):
        execute(parse(soql), _never_read(), FIELDS)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


def test_unknown_field_error_has_salesforce_shape():
    error = soql_error("SELECT Id, Foo FROM Contact")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Id, Foo FROM Contact\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Contact'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names."
    )
    assert str(error) == error.message


def test_error_location_counts_rows_and_columns():
    error = soql_error("SELECT Id\nFROM Contact\nWHERE  Nope__c = 1")
    assert (
        "\nWHERE  Nope__c = 1\n       ^\nERROR at Row:3:Column:8\nNo such column 'Nope__c'" in error.message
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Foo__c FROM Contact",
        "SELECT Id FROM Contact WHERE Foo__c = 'x'",
        "SELECT Id FROM Contact WHERE Foo__c IN ('x')",
        "SELECT Id FROM Contact ORDER BY Foo__c",
        "SELECT Id FROM Contact WHERE LastName = 'x' OR (NOT Foo__c = null)",
    ],
)
def test_unknown_fields_anywhere(soql):
    error = soql_error(soql)
    assert (error.error_code, "No such column 'Foo__c' on entity 'Contact'") == (
        "INVALID_FIELD",
        error.message.split("\n")[-1][: len("No such column 'Foo__c' on entity 'Contact'")],
    )


@pytest.mark.parametrize(
    ("soql", "code", "message"),
    [
        ("SELECT Id FROM Contact WHERE description = 'x'", "INVALID_FIELD",
         "field 'Description' can not be filtered in query call"),
        ("SELECT Id FROM Contact WHERE Description LIKE '%x%'", "INVALID_FIELD",
         "field 'Description' can not be filtered in query call"),
        ("SELECT Id FROM Contact ORDER BY Description", "INVALID_FIELD",
         "field 'Description' can not be sorted in a query call"),
        ("SELECT Id, id FROM Contact", "INVALID_FIELD", "duplicate field selected: Id"),
        ("SELECT Id FROM Contact WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        ("SELECT Id FROM Contact WHERE Id = '003ak00000luKU1\\n'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid ID field: 003ak00000luKU1\n"),
        ("SELECT Id FROM Contact WHERE AccountId IN ('001RM000003oLnn', 'nope')",
         "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: nope"),
        ("SELECT Id FROM Contact WHERE Id LIKE '003%'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid operator on id field"),
        ("SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
         "Maximum SOQL offset allowed is 2000"),
    ],
)  # fmt: skip
def test_field_and_value_errors(soql, code, message):
    error = soql_error(soql)
    assert (error.error_code, error.message) == (code, message)


@pytest.mark.parametrize(
    ("where", "field", "expected_type"),
    [
        ("Birthdate = 2024-01-01T00:00:00Z", "Birthdate", "date and should not be enclosed in quotes"),
        ("Birthdate = '2024-01-01'", "Birthdate", "date and should not be enclosed in quotes"),
        ("Birthdate > 5", "Birthdate", "date and should not be enclosed in quotes"),
        ("Birthdate IN (2024-01-01, '2024-01-02')", "Birthdate", "date and should not be enclosed in quotes"),
        ("CreatedDate > 2024-01-01", "CreatedDate", "dateTime and should not be enclosed in quotes"),
        (
            "CreatedDate > '2024-01-01T00:00:00Z'",
            "CreatedDate",
            "dateTime and should not be enclosed in quotes",
        ),
        ("Score__c = '5'", "Score__c", "double and should not be enclosed in quotes"),
        ("Score__c LIKE '5%'", "Score__c", "double and should not be enclosed in quotes"),
        ("Visits__c = true", "Visits__c", "double and should not be enclosed in quotes"),
        ("HasOptedOutOfEmail = 'true'", "HasOptedOutOfEmail", "boolean and should not be enclosed in quotes"),
        ("HasOptedOutOfEmail = 1", "HasOptedOutOfEmail", "boolean and should not be enclosed in quotes"),
        ("LastName = 5", "LastName", "string and should be enclosed in quotes"),
        ("lastname = TODAY", "LastName", "string and should be enclosed in quotes"),
        ("LastName LIKE 5", "LastName", "string and should be enclosed in quotes"),
        ("LastName IN ('a', true)", "LastName", "string and should be enclosed in quotes"),
        ("Id = 5", "Id", "id and should be enclosed in quotes"),
    ],
)
def test_literal_of_the_wrong_kind_for_the_field(where, field, expected_type):
    error = soql_error(f"SELECT Id FROM Contact WHERE {where}")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == f"value of filter criterion for field '{field}' must be of type {expected_type}"


@pytest.mark.parametrize(
    ("soql", "token"),
    [
        ("", "<EOF>"),
        ("   ", "<EOF>"),
        ("DELETE FROM Contact", "'DELETE'"),
        ("SELECT FROM Contact", "'FROM'"),
        ("SELECT Id, FROM Contact", "'FROM'"),
        ("SELECT Id Contact", "'Contact'"),
        ("SELECT Id FROM", "<EOF>"),
        ("SELECT Id FROM WHERE", "'WHERE'"),
        ("SELECT Id FROM Contact c", "'c'"),
        ("SELECT Id FROM Contact WHERE", "<EOF>"),
        ("SELECT Id FROM Contact WHERE LastName", "<EOF>"),
        ("SELECT Id FROM Contact WHERE LastName =", "<EOF>"),
        ("SELECT Id FROM Contact WHERE LastName == 'x'", "'='"),
        ("SELECT Id FROM Contact WHERE LastName = 'x' AND", "<EOF>"),
        ("SELECT Id FROM Contact WHERE (LastName = 'x'", "<EOF>"),
        ("SELECT Id FROM Contact WHERE LastName = 'x')", "')'"),
        ("SELECT Id FROM Contact WHERE LastName IN ()", "')'"),
        ("SELECT Id FROM Contact WHERE LastName IN 'x'", "''x''"),
        ("SELECT Id FROM Contact WHERE LastName NOT 'x'", "'NOT'"),
        ("SELECT Id FROM Contact WHERE LastName = bogus", "'bogus'"),
        ("SELECT Id FROM Contact WHERE LastName = 'x' AND FirstName = 'y' OR Id = null", "'OR'"),
        ("SELECT Id FROM Contact WHERE LastName = 'x' OR FirstName = 'y' AND Id = null", "'AND'"),
        ("SELECT Id FROM Contact ORDER LastName", "'LastName'"),
        ("SELECT Id FROM Contact ORDER BY", "<EOF>"),
        ("SELECT Id FROM Contact ORDER BY LastName NULLS", "<EOF>"),
        ("SELECT Id FROM Contact ORDER BY LastName DESC ASC", "'ASC'"),
        ("SELECT Id FROM Contact LIMIT", "<EOF>"),
        ("SELECT Id FROM Contact LIMIT -1", "'-1'"),
        ("SELECT Id FROM Contact LIMIT 1.5", "'1.5'"),
        ("SELECT Id FROM Contact LIMIT 'x'", "''x''"),
        ("SELECT Id FROM Contact OFFSET 5 LIMIT 1", "'LIMIT'"),
        ("SELECT Id FROM Contact LIMIT 5 WHERE LastName = 'x'", "'WHERE'"),
        ("SELECT Id FROM Contact ORDER BY LastName WHERE LastName = 'x'", "'WHERE'"),
        ("SELECT Id FROM Contact;", "';'"),
        ('SELECT Id FROM Contact WHERE LastName = "x"', "'\"'"),
    ],
)
def test_syntax_errors_are_unexpected_tokens(soql, token):
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert info.value.message.endswith(f"unexpected token: {token}")


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id FROM Contact WHERE LastName = 'unterminated", "unterminated string literal"),
        (
            "SELECT Id FROM Contact WHERE LastName = 'a\\qb'",
            "Illegal character sequence '\\q' in string literal",
        ),
        ("SELECT Id FROM Contact WHERE Birthdate = 2024-02-30", "invalid date: 2024-02-30"),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01T10:00Z",
            "invalid dateTime: 2024-01-01T10:00Z",
        ),
        ("SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01T25:00:00Z", "invalid dateTime"),
        ("SELECT Id FROM Contact LIMIT 99999999999", "numeric value out of range: 99999999999"),
    ],
)
def test_malformed_literals(soql, message):
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert message in info.value.message


@pytest.mark.parametrize(
    ("soql", "what"),
    [
        ("SELECT Id, (SELECT Id FROM Cases) FROM Contact", "subqueries"),
        ("SELECT Id FROM Account.Contacts", "relationship queries"),
        ("SELECT COUNT(), Id FROM Contact", "fields selected together with COUNT()"),
        ("SELECT COUNT() FROM Contact GROUP BY LeadSource", "COUNT() with GROUP BY"),
        ("SELECT LeadSource, COUNT(Id) FROM Contact GROUP BY ROLLUP(LeadSource)", "GROUP BY ROLLUP"),
        ("SELECT FORMAT(Birthdate) FROM Contact", "functions and aggregates (FORMAT())"),
        ("SELECT FIELDS(ALL) FROM Contact LIMIT 200", "FIELDS()"),
        ("SELECT Id FROM Contact WITH SECURITY_ENFORCED", "WITH clauses"),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event", "TYPEOF"),
        ("SELECT Id FROM Contact FOR UPDATE", "FOR clauses"),
        ("SELECT Id FROM Contact LIMIT 1 FOR VIEW", "FOR clauses"),
        ("SELECT Id FROM Contact UPDATE TRACKING", "UPDATE clauses"),
        ("SELECT Id FROM Contact USING SCOPE Mine", "USING SCOPE"),
        ("SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM CampaignMember)", "semi-join"),
        ("SELECT Id FROM Contact WHERE CreatedDate = THIS_QUARTER", "the date literal THIS_QUARTER"),
        ("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_WEEKS:2", "the date literal LAST_N_WEEKS:2"),
        ("SELECT Id FROM Contact WHERE LeadSource INCLUDES ('a')", "INCLUDES"),
        ("SELECT Id FROM Contact WHERE CALENDAR_YEAR(CreatedDate) = 2024", "CALENDAR_YEAR()"),
        ("SELECT Id FROM Contact WHERE LastName = :name", "bind variables"),
    ],
)
def test_unsupported_constructs_say_so(soql, what):
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert "sfcrm-sandbox does not support" in info.value.message
    assert what in info.value.message


def test_statements_longer_than_100000_characters_are_refused():
    ids = ", ".join(f"'{ID1}'" for _ in range(5000))
    soql = f"SELECT Id FROM Contact WHERE Id IN ({ids})"
    assert len(soql) > 100_000
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert (info.value.error_code, info.value.message) == (
        "MALFORMED_QUERY",
        "SOQL statements can not be longer than 100000 characters",
    )
    assert parse(soql[: soql.index("', '", 90_000) + 1] + ")").sobject == "Contact"


def test_relative_dates_inside_in_lists_are_refused():
    error = soql_error("SELECT Id FROM Contact WHERE LastActivityDate IN (TODAY, YESTERDAY)")
    assert error.error_code == "MALFORMED_QUERY"
    assert "does not support relative date literals inside IN" in error.message


def test_parser_and_engine_agree_on_the_relative_date_literals():
    from sfcrm_sandbox.models import soql, soql_syntax

    assert set(soql._RELATIVE_FIXED) == soql_syntax.RELATIVE_DATES
    assert set(soql._RELATIVE_WITH_N) == soql_syntax.RELATIVE_DATES_WITH_N
