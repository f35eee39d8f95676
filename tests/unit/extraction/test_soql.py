"""The extract's SOQL: its query, its count and its resumption."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.extraction.soql import build_count, build_query, resume_query
from airflow_provider_sfcrm.extraction.window import ExtractWindow

UTC = dt.timezone.utc
WINDOW = ExtractWindow.of_interval(
    dt.datetime(2024, 1, 31, 10, tzinfo=UTC), dt.datetime(2024, 1, 31, 11, tzinfo=UTC)
)
RANGE = "SystemModstamp >= 2024-01-31T10:00:00Z AND SystemModstamp < 2024-01-31T11:00:00Z"


def test_the_query_selects_the_columns_in_the_window_ordered_by_id():
    assert (
        build_query("Contact", ["Id", "Email"], WINDOW)
        == f"SELECT Id, Email FROM Contact WHERE ({RANGE}) ORDER BY Id"
    )
    assert build_query("Lead", ["Id"], WINDOW, "LeadSource = 'Web'") == (
        f"SELECT Id FROM Lead WHERE ({RANGE}) AND (LeadSource = 'Web') ORDER BY Id"
    )


def test_the_count_has_the_same_conditions():
    assert (
        build_count("Contact", WINDOW, "A = 1") == f"SELECT COUNT() FROM Contact WHERE ({RANGE}) AND (A = 1)"
    )


def test_a_query_resumes_after_the_last_id_it_received():
    query = build_query("Contact", ["Id"], WINDOW, "A = 1")
    last = to18("003ak00000luKU1")
    assert resume_query(query, last) == (
        f"SELECT Id FROM Contact WHERE (({RANGE}) AND (A = 1)) AND Id > '{last}' ORDER BY Id"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: build_query("Contact; DELETE", ["Id"], WINDOW),
        lambda: build_query("Contact", ["Id", "Name FROM User"], WINDOW),
        lambda: build_query("Contact", [], WINDOW),
        lambda: resume_query(build_query("Contact", ["Id"], WINDOW), "' OR Id != '"),
        lambda: resume_query("SELECT Id FROM Contact", to18("003ak00000luKU1")),
    ],
    ids=["object", "column", "no-columns", "bad-id", "not-ordered"],
)
def test_nothing_but_names_and_ids_reach_the_soql(call):
    with pytest.raises(ValueError):
        call()
