"""row_filter: the safe parser and its evaluation under SQL's three-valued logic."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.row_filter import (
    RowFilterError,
    columns_of,
    compile_filter,
    parse_filter,
)

TABLE = pa.table(
    {
        "country": pa.array(["FR", "DE", None, "FR", "US", "it's"]),
        "score": pa.array([10, 55, 70, None, 90, 0], pa.int64()),
        "ratio": pa.array([0.5, 1.5, None, 2.0, float("nan"), 0.0]),
        "vip": pa.array([True, False, None, True, False, False]),
        "joined": pa.array(
            [dt.date(2026, 1, 1), dt.date(2026, 2, 1), None, dt.date(2025, 12, 31), dt.date(2026, 3, 1), None]
        ),
        "seen_at": pa.array(
            [dt.datetime(2026, 1, 1, 12), None, dt.datetime(2026, 1, 2), None, dt.datetime(2025, 1, 1), None],
            pa.timestamp("us", tz="UTC"),
        ),
        "tier": pa.array(["a", "b", "a", None, "c", "b"]).dictionary_encode(),
        "First Name": pa.array(["Ann", "Bob", "Cy", "Di", "Ed", "Flo"]),
    }
)


def kept(expression: str, table: pa.Table = TABLE) -> list[int]:
    return compile_filter(expression, table.schema).kept(table).tolist()


@pytest.mark.parametrize(
    ("expression", "rows"),
    [
        ("country = 'FR'", [0, 3]),
        ("country <> 'FR'", [1, 4, 5]),  # null is unknown, so not kept
        ("country != 'FR'", [1, 4, 5]),
        ("score > 50", [1, 2, 4]),
        ("score >= 55 AND score <= 70", [1, 2]),
        ("score < 10", [5]),
        ("ratio >= 1.5", [1, 3]),
        ("vip", [0, 3]),
        ("vip = TRUE", [0, 3]),
        ("NOT vip", [1, 4, 5]),
        ("vip = false", [1, 4, 5]),
        ("country = 'FR' OR score > 80", [0, 3, 4]),
        ("country = 'FR' or score > 80 and vip", [0, 3]),  # AND binds tighter than OR
        ("(country = 'FR' OR score > 80) AND NOT vip", [4]),
        ("country IN ('FR', 'US')", [0, 3, 4]),
        ("country NOT IN ('FR', 'US')", [1, 5]),
        ("country NOT IN ('FR', NULL)", []),  # SQL: unknown when not found and a NULL is listed
        ("country IN ('FR', NULL)", [0, 3]),
        ("score IN (10, 90)", [0, 4]),
        ("score IN (10.0, 90)", [0, 4]),
        ("country IS NULL", [2]),
        ("country IS NOT NULL", [0, 1, 3, 4, 5]),
        ("ratio IS NULL", [2, 4]),  # NaN is how pandas writes a missing number
        ("score = NULL", []),
        ("NOT (score = NULL)", []),
        ("country = 'it''s'", [5]),
        ("\"First Name\" = 'Cy'", [2]),
        ("joined >= '2026-01-01'", [0, 1, 4]),
        ("joined < '2026-01-01'", [3]),
        ("seen_at > '2025-12-31T23:00:00Z'", [0, 2]),
        ("seen_at > '2026-01-01T15:00:00+02:00'", [2]),
        ("tier = 'b'", [1, 5]),
        ("tier IN ('a', 'c')", [0, 2, 4]),
        ("1 = 1", [0, 1, 2, 3, 4, 5]),
        ("TRUE", [0, 1, 2, 3, 4, 5]),
        ("score = -0 OR score = +10", [0, 5]),
        ("score > 1e1", [1, 2, 4]),
        ("COUNTRY = 'fr'", None),  # columns are case-sensitive: refused below
    ],
)
def test_selects_the_rows_sql_would(expression, rows):
    if rows is None:
        with pytest.raises(RowFilterError, match="no column 'COUNTRY'"):
            kept(expression)
        return
    assert kept(expression) == rows


def test_keywords_are_case_insensitive_and_whitespace_is_free():
    assert kept("country\n=\t'FR'   and not  vip is null") == [0, 3]
    assert kept("country in ('DE') Or score IS null") == [1, 3]


def test_columns_are_listed_once_in_order():
    tree = parse_filter("score > 1 AND (country = 'FR' OR score IS NULL) AND vip")
    assert columns_of(tree) == ["score", "country", "vip"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1=1; DROP TABLE x", r"unexpected character ';' at position 3"),
        ("__import__('os')", r"function calls are not allowed: __import__\( at position 0"),
        ("__import__('os').system('rm -rf /')", r"unexpected character '\.' at position 16"),
        ("lower(country) = 'fr'", r"function calls are not allowed: lower\( at position 0"),
        ("country = upper('fr')", r"function calls are not allowed: upper\( at position 10"),
        (
            "country IN (SELECT name FROM users)",
            r"expected a literal \(subqueries are not allowed\) at position 12",
        ),
        ("score IN (score)", r"expected a literal at position 10|subqueries"),
        ("score = 1 UNION SELECT 1", r"expected AND, OR or the end of the expression at position 10"),
        ("country = 'FR' -- comment", r"unexpected character '-' at position 15"),
        ("country = 'FR' /* x */", r"unexpected character '/' at position 15"),
        ("score + 1 > 2", r"unexpected character '\+'|expected"),
        ("score * 2 > 2", r"unexpected character '\*' at position 6"),
        ('country = "FR"', r"no column 'FR'"),
        ("country = 'FR", r"unexpected character \"'\" at position 10"),
        ("(country = 'FR'", r"expected '\)' at position 15, found the end of the expression"),
        ("country = 'FR')", r"expected AND, OR or the end of the expression at position 14"),
        ("country =", r"expected a column or a literal at position 9, found the end"),
        ("AND score > 1", r"expected a column or a literal at position 0, found 'AND'"),
        ("score > 1 AND", r"expected a column or a literal at position 13"),
        ("country IS 'FR'", r"expected NULL at position 11"),
        ("country NOT 'FR'", r"expected IN after NOT at position 12"),
        ("country IN 'FR'", r"expected '\(' after IN at position 11"),
        ("country IN ()", r"expected a literal \(subqueries are not allowed\) at position 12"),
        ("country = 'FR' country = 'DE'", r"expected AND, OR or the end of the expression at position 15"),
        ("`country` = 'FR'", r"unexpected character '`' at position 0"),
        ("country = 'FR' \\", r"unexpected character"),
        ("score > 1 ; score < 2", r"unexpected character ';'"),
        ("os.system('x')", r"unexpected character '\.' at position 2"),
        ("{{ params.x }}", r"unexpected character '\{' at position 0"),
        ("country = $1", r"unexpected character '\$'"),
        ("", r"row_filter is empty"),
        ("   ", r"row_filter is empty"),
    ],
)
def test_malformed_or_malicious_expressions_are_refused_with_their_position(expression, message):
    with pytest.raises(RowFilterError, match=message):
        compile_filter(expression, TABLE.schema)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("nope = 1", r"no column 'nope'"),
        ("country = 'FR' AND missing IS NULL", r"no column 'missing'"),
        (
            "country = 1",
            r"column 'country' \(text\) cannot be compared with literal at position 10 \(number\)",
        ),
        (
            "score = 'ten'",
            r"column 'score' \(number\) cannot be compared with literal at position 8 \(text\)",
        ),
        ("vip = 1", r"cannot be compared"),
        ("score IN (1, 'two')", r"cannot be compared with literal at position 13 \(text\)"),
        ("country = score", r"column 'country' \(text\) cannot be compared with column 'score' \(number\)"),
        ("joined > 'yesterday'", r"'yesterday' at position 9 is not an ISO date"),
        ("joined > 5", r"cannot be compared"),
        ("country", r"column 'country' stands alone where a condition is expected"),
        ("score AND vip", r"column 'score' stands alone"),
        ("'FR'", r"literal at position 0 stands alone"),
    ],
)
def test_unknown_columns_and_type_mismatches_are_refused_before_any_row_is_read(expression, message):
    with pytest.raises(RowFilterError, match=message):
        compile_filter(expression, TABLE.schema)


def test_a_column_of_a_type_a_filter_cannot_compare_is_named():
    table = pa.table({"tags": pa.array([["a"], ["b"]])})
    with pytest.raises(RowFilterError, match=r"column 'tags' is of type list<item: string>"):
        compile_filter("tags IS NULL", table.schema)


def test_deep_nesting_and_very_long_text_are_refused():
    with pytest.raises(RowFilterError, match="nested deeper than 50 levels"):
        parse_filter("(" * 60 + "vip" + ")" * 60)
    with pytest.raises(RowFilterError, match="nested deeper"):
        parse_filter("NOT " * 60 + "vip")
    with pytest.raises(RowFilterError, match="longer than 10,000 characters"):
        parse_filter("score = 1 OR " * 1000 + "score = 2")
    with pytest.raises(RowFilterError, match="must be text"):
        parse_filter(42)  # type: ignore[arg-type]


def test_nothing_is_evaluated_as_python(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile must never run")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert kept("country IN ('FR') AND NOT (score IS NULL OR score < 5)") == [0]


def test_a_chunk_without_rows_and_a_constant_expression():
    empty = TABLE.slice(0, 0)
    assert kept("country = 'FR'", empty) == []
    assert kept("1 = 2", TABLE) == []
    assert kept("NULL IS NULL", TABLE) == [0, 1, 2, 3, 4, 5]
