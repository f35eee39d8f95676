"""The guard against a truncated segment: the share of the audience a run may exit, its floor, its setting."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.sync.vanished import (
    VANISHED_FLOOR,
    VanishedGuardError,
    check_vanished,
    checked_max_vanished_ratio,
)


@pytest.mark.parametrize(
    ("exits", "members", "ratio"),
    [
        (500, 1000, 0.5),  # at the limit
        (499, 1000, 0.5),
        (1000, 1000, 1.0),  # 1.0 never refuses: the people exited are among the members
        (1000, 1000, None),  # disabled
        (VANISHED_FLOOR, VANISHED_FLOOR, 0.0),  # a small audience: at the floor, never refused
    ],
)
def test_a_run_at_or_below_the_limit_or_floor_is_allowed(exits, members, ratio):
    check_vanished(exits, members, ratio)


@pytest.mark.parametrize(
    ("exits", "members", "ratio"),
    [(501, 1000, 0.5), (VANISHED_FLOOR + 1, VANISHED_FLOOR + 1, 0.5), (101, 10_000, 0.0)],
)
def test_a_run_above_the_limit_and_the_floor_is_refused_naming_counts_setting_and_remedy(
    exits, members, ratio
):
    with pytest.raises(VanishedGuardError) as refused:
        check_vanished(exits, members, ratio)
    message = str(refused.value)
    assert f"{exits:,} of the {members:,} people" in message
    assert f"max_vanished_ratio {ratio:g}" in message
    assert "Nothing was sent" in message and "Check the segment" in message and "None" in message
    assert (refused.value.exits, refused.value.members, refused.value.max_ratio) == (exits, members, ratio)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),
        (1, 1.0),
        (0, 0.0),
        ("0.25", 0.25),  # templated values arrive as text
        (" 1 ", 1.0),
        (None, None),
        ("None", None),
        ("", None),
        ("null", None),
    ],
)
def test_the_setting_is_a_ratio_or_none_given_as_a_number_or_as_text(value, expected):
    assert checked_max_vanished_ratio(value) == expected


@pytest.mark.parametrize("value", [1.5, -0.1, "half", True, float("nan"), [0.5]])
def test_a_setting_that_is_no_ratio_is_refused_by_name(value):
    with pytest.raises(ValueError, match="max_vanished_ratio must be within 0..1, or None"):
        checked_max_vanished_ratio(value)
