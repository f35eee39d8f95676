"""Fields the org sets itself on every write, from the record's other fields (``docs/salesforce-facts.md``,
"Objects"): a person's full ``Name``, an opportunity's stage-driven fields, a campaign member's type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

# Salesforce's default opportunity stages: probability (%), forecast category, closed, won.
STAGES: dict[str, tuple[int, str, bool, bool]] = {
    "Prospecting": (10, "Pipeline", False, False),
    "Qualification": (10, "Pipeline", False, False),
    "Needs Analysis": (20, "Pipeline", False, False),
    "Value Proposition": (50, "Pipeline", False, False),
    "Id. Decision Makers": (60, "Pipeline", False, False),
    "Perception Analysis": (70, "Pipeline", False, False),
    "Proposal/Price Quote": (75, "Pipeline", False, False),
    "Negotiation/Review": (90, "Pipeline", False, False),
    "Closed Won": (100, "Closed", True, True),
    "Closed Lost": (0, "Omitted", True, False),
}
# ForecastCategoryName (the picklist users see) → ForecastCategory (the API's value).
_FORECAST_CATEGORY = {
    "Omitted": "Omitted",
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
}


def _person(data: dict[str, Any], written: dict[str, Any]) -> None:
    data["Name"] = " ".join(p for p in (data.get("FirstName"), data.get("LastName")) if p)


def _opportunity(data: dict[str, Any], written: dict[str, Any]) -> None:
    stage = STAGES.get(data.get("StageName") or "")
    if stage is not None:
        probability, category, closed, won = stage
        if "StageName" in written:
            # A new stage brings its defaults unless the same write sets them.
            if "Probability" not in written:
                data["Probability"] = probability
            if "ForecastCategoryName" not in written:
                data["ForecastCategoryName"] = category
        data["IsClosed"], data["IsWon"] = closed, won
    data["ForecastCategory"] = _FORECAST_CATEGORY.get(data.get("ForecastCategoryName") or "")
    amount, probability = data.get("Amount"), data.get("Probability")
    data["ExpectedRevenue"] = (
        None if amount is None or probability is None else round(amount * probability / 100, 2)
    )
    close = data.get("CloseDate")
    if close:
        day = dt.date.fromisoformat(close)
        # The default fiscal year: January to December.
        data["FiscalYear"], data["FiscalQuarter"] = day.year, (day.month - 1) // 3 + 1
        data["Fiscal"] = f"{day.year} {data['FiscalQuarter']}"


def _campaign_member(data: dict[str, Any], written: dict[str, Any]) -> None:
    # A member is a contact when it names one, else a lead (Salesforce's precedence).
    if data.get("ContactId"):
        data["Type"], data["LeadOrContactId"] = "Contact", data["ContactId"]
    elif data.get("LeadId"):
        data["Type"], data["LeadOrContactId"] = "Lead", data["LeadId"]


_DERIVATIONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "Contact": _person,
    "Lead": _person,
    "User": _person,
    "Opportunity": _opportunity,
    "CampaignMember": _campaign_member,
}


def derive(sobject: str, data: dict[str, Any], written: dict[str, Any]) -> None:
    """Set the fields of ``data`` (the record as it will be stored) that the org derives.

    :param written: the values this write sets (a default applies only when the write does not set it).
    """
    derivation = _DERIVATIONS.get(sobject)
    if derivation is not None:
        derivation(data, written)
