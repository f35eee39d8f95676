"""The final-state check every scenario ends with: the org holds exactly what the profile store says.

One place on purpose: when the export keeps a sync state (what was confirmed written, per person),
its comparison with ``expected`` belongs in :func:`assert_final_state` too, for every scenario at once.
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
