"""example_sfcrm_activate_sharded: parts mapped under the pool, merged counts and rejected rows."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from tests.dags.conftest import AUDIENCE_FIELDS, expected_statuses

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_sharded"
AS_OF = datetime(2026, 1, 10, tzinfo=timezone.utc)
ROWS_PER_PART = 60


def test_parts_add_up_to_the_whole_snapshot(example_org):
    run = example_org.run(DAG_ID, AS_OF, rows_per_part=ROWS_PER_PART)

    assert run["state"] == "success"
    merged = run["summary"]
    segment = pd.read_parquet(run["files"] / "segment.parquet")
    parts = sorted((run["files"] / "parts").glob("part-*.parquet"))
    assert merged["parts"] == len(parts) == -(-len(segment) // ROWS_PER_PART) > 1
    assert sum(len(pd.read_parquet(p)) for p in parts) == len(segment)
    assert merged["total"] == len(segment) == merged["written"] + merged["rejected"]
    assert merged["rejected"] == segment["salesforce_id"].isna().sum() > 0
    assert merged["rejected_by_code"] == {"MISSING_IDENTITY": merged["rejected"]}
    rejected = pd.read_parquet(merged["rejected_rows_path"])
    assert sorted(rejected["profile_id"]) == sorted(
        segment.loc[segment["salesforce_id"].isna(), "profile_id"]
    )

    # A full re-sync: every person's latest status as of the logical date, whenever it changed.
    expected = expected_statuses(example_org.store, datetime(2000, 1, 1, tzinfo=timezone.utc), AS_OF)
    statuses = example_org.statuses("Contact")
    for profile_id, sf_id in example_org.people("Contact").items():
        if sf_id is not None:
            assert statuses[sf_id] == {a: expected.get((profile_id, a)) for a in AUDIENCE_FIELDS}, profile_id


def test_a_dry_run_plans_every_part_and_writes_nothing(example_org):
    run = example_org.run(DAG_ID, AS_OF, rows_per_part=ROWS_PER_PART, dry_run=True)

    assert run["state"] == "success"
    merged = run["summary"]
    assert merged["dry_run"] is True and merged["parts"] > 1
    assert merged["total"] == merged["written"] + merged["rejected"] > 0
    statuses = example_org.statuses("Contact")
    assert statuses and all(value is None for fields in statuses.values() for value in fields.values())
