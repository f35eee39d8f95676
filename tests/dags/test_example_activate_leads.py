"""example_sfcrm_activate_leads, end to end against a sandbox with ``dag.test()``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.dags.conftest import AUDIENCE_FIELDS
from tests.profile_store_oracle import expected_statuses

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_leads"
LOGICAL_DATE = datetime(2026, 1, 6, tzinfo=timezone.utc)  # covers 2026-01-05


def test_a_day_of_changes_lands_on_the_leads_and_nowhere_else(example_org):
    run = example_org.run(DAG_ID, LOGICAL_DATE)

    assert run["state"] == "success"
    summary = run["summary"]
    assert summary["sobject"] == "Lead"
    assert summary["total"] == summary["written"] + summary["rejected"] > 0
    assert set(summary["rejected_by_code"]) <= {"MISSING_IDENTITY"}
    expected = expected_statuses(example_org.store, LOGICAL_DATE - timedelta(days=1), LOGICAL_DATE)
    statuses = example_org.statuses("Lead")
    for profile_id, sf_id in example_org.people("Lead").items():
        if sf_id is not None:
            assert statuses[sf_id] == {a: expected.get((profile_id, a)) for a in AUDIENCE_FIELDS}, profile_id
    assert any(value for fields in statuses.values() for value in fields.values())
    # The Contacts DAG's people are untouched by the Leads DAG.
    contacts = example_org.statuses("Contact")
    assert all(value is None for fields in contacts.values() for value in fields.values())
