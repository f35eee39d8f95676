"""The checks every scenario ends with: the org holds exactly what the profile store says, the sync
state remembers exactly what the org holds, and every summary's counts add up.

One place on purpose, so that every scenario checks the same things.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from e2e.org import STATUS_FIELDS, ScenarioOrg


def _examples(items: list[Any], limit: int = 5) -> str:
    return "; ".join(str(item) for item in items[:limit]) + (" ..." if len(items) > limit else "")


def assert_final_state(org: ScenarioOrg, sobject: str, expected: dict[str, dict[str, Any]]) -> None:
    """Every record of ``sobject`` is one the store knows, none is duplicated, counts are exact, and
    every audience field holds the expected status (``None`` where the person never changed)."""
    records = org.records(sobject)
    ids = Counter(record["Id"] for record in records)
    emails = Counter(record["Email"] for record in records if record["Email"])
    duplicated_emails = [email for email, n in emails.items() if n > 1]
    assert not duplicated_emails, (
        f"{sobject}: {len(duplicated_emails)} people exist twice, e.g. {duplicated_emails[:3]}"
    )
    assert len(records) == org.seeded[sobject] == len(ids), (
        f"{sobject}: the org holds {len(records)} records ({len(ids)} distinct Ids); "
        f"{org.seeded[sobject]} were seeded and no scenario creates any"
    )
    unknown = sorted(set(ids) - set(expected))
    assert not unknown, f"{sobject}: {len(unknown)} records the profile store does not know: {unknown[:5]}"

    wrong = [
        (record["Id"], field, record.get(field), expected[record["Id"]][field])
        for record in records
        for field in STATUS_FIELDS
        if record.get(field) != expected[record["Id"]][field]
    ]
    changed = sum(1 for statuses in expected.values() if any(statuses.values()))
    assert not wrong, (
        f"{sobject}: {len(wrong)} audience fields differ from the profile store's latest status "
        f"(of {changed} people expected to carry one); (Id, field, in org, expected): {_examples(wrong)}"
    )
    assert changed, f"{sobject}: the scenario expects no status at all — it would prove nothing"
    _assert_state_matches_org(org, sobject, records)


def _assert_state_matches_org(org: ScenarioOrg, sobject: str, records: list[dict[str, Any]]) -> None:
    """The sync state's latest confirmed status of each record and field is the one the org holds: the
    next run's diff starts from the truth (a status it believes written but is not would never be
    sent again)."""
    remembered = org.state_statuses(sobject)
    differ = [
        (record["Id"], field, record.get(field), held)
        for record in records
        for field in STATUS_FIELDS
        if record.get(field) != (held := remembered.get(record["Id"], {}).get(field))
    ]
    assert not differ, (
        f"{sobject}: the sync state remembers {len(differ)} statuses otherwise than the org holds them; "
        f"(Id, field, in org, in the sync state): {_examples(differ)}"
    )
    unknown = sorted(set(remembered) - {record["Id"] for record in records})
    assert not unknown, f"{sobject}: the sync state remembers records the org lacks: {unknown[:5]}"


#: The outcomes of a synced row: each row of a segment ends as exactly one of them.
OUTCOMES = ("written", "rejected", "filtered", "unchanged", "stale")


def assert_counts_add_up(summary: dict[str, Any], rows: int | None = None) -> None:
    """``total == written + rejected + filtered + unchanged + stale`` (and ``== rows`` when given)."""
    parts = {key: summary[key] for key in OUTCOMES}
    assert summary["total"] == sum(parts.values()), f"counts do not add up: total={summary['total']}, {parts}"
    if rows is not None:
        assert summary["total"] == rows, f"the summary counts {summary['total']} rows, the segment has {rows}"
