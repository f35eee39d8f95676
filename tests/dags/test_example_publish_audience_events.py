"""example_sfcrm_publish_audience_events, end to end against a sandbox with ``dag.test()``: after the
Contacts activation of a day, one Notification__e per audience change it made, in order."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_publish_audience_events"
ACTIVATION = "example_sfcrm_activate_contacts"
DAY = timedelta(days=1)
FIRST = datetime(2026, 1, 3, tzinfo=timezone.utc)


def history(example_org, as_of: datetime) -> list[tuple[str, str, str]]:
    """``(record Id, field, status)`` the Contact syncs of ``as_of`` recorded, read straight from SQLite."""
    path = example_org.work_dir.parent / "sync_state.sqlite"
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT h.record_id, h.field, h.status FROM sfcrm_sync_history h "
            "JOIN sfcrm_sync_scopes s ON s.scope_id = h.scope_id "
            "WHERE s.sobject = 'Contact' AND h.as_of = ? ORDER BY h.key, h.field, h.written_at",
            (as_of.strftime("%Y-%m-%d %H:%M:%S+00:00"),),
        )
        return [tuple(row) for row in rows]


def test_one_event_per_audience_entry_or_exit_in_order(example_org):
    for n in range(2):
        assert example_org.run(ACTIVATION, FIRST + n * DAY)["state"] == "success"
    day = FIRST + DAY
    changes = history(example_org, day)
    announced = [c for c in changes if c[2] in ("realized", "exited")]
    assert announced and len(announced) < len(changes), "day 2 has entries or exits and 'existing' statuses"
    before = len(example_org.sandbox.events("Notification__e"))  # other tests' events stay listed

    run = example_org.run(DAG_ID, day)

    assert run["state"] == "success"
    summary = run["summary"]
    assert (summary["operation"], summary["sobject"]) == ("publish", "Notification__e")
    assert summary["total"] == len(changes)
    assert (summary["written"], summary["rejected"]) == (len(announced), 0)
    assert summary["filtered"] == len(changes) - len(announced)
    events = example_org.sandbox.events("Notification__e")[before:]
    assert [e["Message__c"] for e in events] == [
        f"Contact {record_id}: {field} is now {status}" for record_id, field, status in announced
    ]
    assert [e["Severity__c"] for e in events] == [
        "warning" if status == "exited" else "info" for _, _, status in announced
    ]
    written = pd.read_parquet(run["files"] / "changes.parquet")
    assert len(written) == len(changes)


def test_a_day_without_activation_publishes_nothing(example_org):
    before = len(example_org.sandbox.events("Notification__e"))
    run = example_org.run(DAG_ID, FIRST)
    assert run["state"] == "success"
    assert (run["summary"]["total"], run["summary"]["written"]) == (0, 0)
    assert len(example_org.sandbox.events("Notification__e")) == before
