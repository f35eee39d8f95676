"""Planning an extract's API use: the auto choice, the calls it should take, and the quota guard."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.extraction.plan import QuotaExceeded, QuotaGuard, choose_api, planned_calls


@pytest.mark.parametrize(
    ("api", "rows", "chosen"),
    [
        ("auto", 99_999, "rest"),
        ("auto", 100_000, "bulk"),
        ("rest", 10_000_000, "rest"),
        ("bulk", 1, "bulk"),
    ],
)
def test_choose_api(api, rows, chosen):
    assert choose_api(api, rows, bulk_threshold=100_000) == chosen


def test_unknown_api_is_refused():
    with pytest.raises(ValueError, match="api must be one of auto, rest, bulk"):
        choose_api("soap", 1, bulk_threshold=1)


def test_planned_calls_count_the_pages():
    assert planned_calls(0, "rest") == 4
    assert planned_calls(2000, "rest") == 4
    assert planned_calls(2001, "rest") == 5
    assert planned_calls(1_000_000, "rest") == 503
    assert planned_calls(1_000_000, "bulk") == 29  # 20 result pages of 50,000


def test_the_guard_refuses_a_start_that_would_pass_the_share():
    guard = QuotaGuard(0.5)
    guard.check_before(used=400, allocation=1000, planned=100, what="Contact extract")
    with pytest.raises(QuotaExceeded, match="needs about 101 API calls.*used 400 of its 1000.*allows 500"):
        guard.check_before(used=400, allocation=1000, planned=101, what="Contact extract")


def test_the_guard_stops_a_read_that_reaches_the_share():
    guard = QuotaGuard(0.5)
    guard.check_during(used=499, allocation=1000, what="Contact extract", done="10 of 20 rows")
    with pytest.raises(
        QuotaExceeded, match="stopped the Contact extract after 10 of 20 rows.*Nothing was written"
    ):
        guard.check_during(used=500, allocation=1000, what="Contact extract", done="10 of 20 rows")


def test_no_share_means_no_guard():
    QuotaGuard(None).check_before(used=10**9, allocation=1, planned=10**9, what="x")
    QuotaGuard(None).check_during(used=10**9, allocation=1, what="x", done="y")


@pytest.mark.parametrize("share", [0, -0.1, 1.5, "0.5", True])
def test_a_share_must_be_a_fraction(share):
    with pytest.raises(ValueError, match="max_api_share"):
        QuotaGuard(share)
