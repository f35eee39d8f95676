"""Fields the org derives on write: a person's Name, an opportunity's stage fields, a member's type."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.derived import derive


def test_a_persons_name_is_first_and_last_name():
    data = {"FirstName": "Ada", "LastName": "Lovelace"}
    derive("Contact", data, data)
    assert data["Name"] == "Ada Lovelace"
    data = {"FirstName": None, "LastName": "Hopper"}
    derive("Lead", data, data)
    assert data["Name"] == "Hopper"


@pytest.mark.parametrize(
    ("stage", "probability", "category", "closed", "won"),
    [
        ("Prospecting", 10, "Pipeline", False, False),
        ("Negotiation/Review", 90, "Pipeline", False, False),
        ("Closed Won", 100, "Closed", True, True),
        ("Closed Lost", 0, "Omitted", True, False),
    ],
)
def test_a_new_stage_brings_its_probability_forecast_and_closed_flags(
    stage, probability, category, closed, won
):
    written = {"StageName": stage, "Amount": 1000.0, "CloseDate": "2024-05-20"}
    data = dict(written)
    derive("Opportunity", data, written)
    assert (data["Probability"], data["ForecastCategoryName"]) == (probability, category)
    assert (data["IsClosed"], data["IsWon"]) == (closed, won)
    assert data["ExpectedRevenue"] == 1000.0 * probability / 100
    assert (data["FiscalYear"], data["FiscalQuarter"], data["Fiscal"]) == (2024, 2, "2024 2")


def test_values_the_write_sets_win_over_the_stage_defaults():
    written = {"StageName": "Prospecting", "Probability": 35, "ForecastCategoryName": "Best Case"}
    data = dict(written)
    derive("Opportunity", data, written)
    assert (data["Probability"], data["ForecastCategoryName"], data["ForecastCategory"]) == (
        35,
        "Best Case",
        "BestCase",
    )
    # A later write that leaves the stage alone keeps them.
    later = {"Amount": 10.0}
    data.update(later)
    derive("Opportunity", data, later)
    assert (data["Probability"], data["ExpectedRevenue"]) == (35, 3.5)


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ({"ContactId": "003A", "LeadId": None}, ("Contact", "003A")),
        ({"ContactId": None, "LeadId": "00QA"}, ("Lead", "00QA")),
        ({"ContactId": "003A", "LeadId": "00QA"}, ("Contact", "003A")),
    ],
)
def test_a_campaign_member_is_a_contact_or_a_lead(member, expected):
    derive("CampaignMember", member, member)
    assert (member["Type"], member["LeadOrContactId"]) == expected
