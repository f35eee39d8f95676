"""example_sfcrm_activate_sharded: shards by identity hash, mapped under the pool, merged counts."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tests.dags.conftest import AUDIENCE_FIELDS
from tests.profile_store_oracle import derive, expected_after_syncs, memberships

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_sharded"
AS_OF = datetime(2026, 1, 10, tzinfo=timezone.utc)
SHARDS = 3


def test_shards_add_up_and_exits_are_decided_over_the_whole_segment(example_org):
    run = example_org.run(DAG_ID, AS_OF, shards=SHARDS)

    assert run["state"] == "success"
    merged = run["summary"]
    segment = pd.read_parquet(run["files"] / "segment.parquet")
    shards = sorted((run["files"] / "parts").glob("shard-*.parquet"))
    assert merged["shards"] == len(shards) == SHARDS
    assert sum(len(pd.read_parquet(p)) for p in shards) == len(segment)
    assert merged["total"] == len(segment) == merged["written"] + merged["rejected"]
    assert merged["rejected"] == segment["salesforce_id"].isna().sum() > 0
    assert merged["rejected_by_code"] == {"MISSING_IDENTITY": merged["rejected"]}
    rejected = pd.read_parquet(merged["rejected_rows_path"])
    assert sorted(rejected["profile_id"]) == sorted(
        segment.loc[segment["salesforce_id"].isna(), "profile_id"]
    )
    expected = expected_after_syncs(example_org.store, [AS_OF])
    _assert_statuses(example_org, expected)

    # Some members leave the store altogether: each is exited once, by the shard that owns them.
    members = memberships(example_org.store, AS_OF)
    people = example_org.people("Contact")
    gone = sorted({p for p, _ in members if people.get(p)})[:7]
    with sqlite3.connect(example_org.store) as db:
        db.executemany("DELETE FROM profiles WHERE profile_id = ?", [(p,) for p in gone])
    db.close()
    later = AS_OF + timedelta(days=1)
    merged = example_org.run(DAG_ID, later, shards=SHARDS)["summary"]
    assert merged["vanished"] == len(gone)
    assert merged["total"] == merged["written"] + merged["rejected"] + merged["unchanged"] + merged["stale"]
    after = expected_after_syncs(example_org.store, [AS_OF, later])
    for profile_id in gone:
        for audience in AUDIENCE_FIELDS:
            before = expected.get((profile_id, audience))
            after[(profile_id, audience)] = derive(before, False) if before else None
    _assert_statuses(example_org, after, people)


def _assert_statuses(example_org, expected, people=None) -> None:
    statuses = example_org.statuses("Contact")
    for profile_id, sf_id in (people or example_org.people("Contact")).items():
        if sf_id is not None:
            assert statuses[sf_id] == {a: expected.get((profile_id, a)) for a in AUDIENCE_FIELDS}, profile_id


def test_a_dry_run_plans_every_shard_and_writes_nothing(example_org):
    run = example_org.run(DAG_ID, AS_OF, shards=SHARDS, dry_run=True)

    assert run["state"] == "success"
    merged = run["summary"]
    assert merged["dry_run"] is True and merged["shards"] == SHARDS
    assert merged["total"] == merged["written"] + merged["rejected"] > 0
    statuses = example_org.statuses("Contact")
    assert statuses and all(value is None for fields in statuses.values() for value in fields.values())
