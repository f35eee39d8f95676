"""The diff in DuckDB: statuses derived from membership, changes, stale data, vanished people, shards."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.sync.plan import (
    ATTRIBUTE,
    MEMBERSHIP,
    STATUS,
    PlanShardError,
    SyncField,
    SyncPlanner,
)
from airflow_provider_sfcrm.sync.sharding import key_hash
from airflow_provider_sfcrm.sync.store import StateRow, SyncStateStore

T1 = datetime(2026, 1, 2, tzinfo=timezone.utc)
T2 = T1 + timedelta(days=1)
T0 = T1 - timedelta(days=1)
FIELDS = [SyncField("Email", ATTRIBUTE), SyncField("aud__c", MEMBERSHIP), SyncField("given__c", STATUS)]


class Org:
    """A sync state in memory, and runs of the planner against it that record every planned write."""

    def __init__(self, fields=FIELDS):
        self.fields = fields
        self.store = SyncStateStore(sqlite3.connect(":memory:"))
        self.store.migrate()
        self.scope = self.store.scope("00D000000000001AAA", "Contact", "Id")

    def plan(self, as_of, rows, *, full_resync=False, shard=(0, 1), record=True) -> dict[str, dict]:
        """``rows``: ``[(key, email, member, given)]``; ``{key: plan row}`` (``gone:key`` if vanished)."""
        planner = SyncPlanner(self.fields, as_of=as_of, full_resync=full_resync, shard=shard)
        with planner:
            keys, emails, members, given = zip(*rows, strict=True) if rows else ((), (), (), ())
            planner.add(
                pa.array(keys, pa.string()),
                [pa.array(emails, pa.string()), pa.array(members, pa.bool_()), pa.array(given, pa.string())],
            )
            planner.check_shard()
            planner.plan(
                self.store.read_state(self.scope, shard[1], shard[0]),
                lambda chunks: self.store.read_fields(self.scope, chunks),
                self.store.marks(self.scope, [f.name for f in self.fields]),
            )
            found = {}
            for row in planner.within(0, len(rows)).to_pylist():
                found[row["key"] if row["action"] != "duplicate" else f"dup:{row['row']}"] = row
            for table in planner.vanished():
                found.update({f"gone:{row['key']}": row for row in table.to_pylist()})
            self.guarded = (planner.member_exits, planner.state_members)
        if record:
            self.store.apply(
                self.scope,
                [
                    StateRow(
                        r["key"],
                        r["key_hash"],
                        r["key"],
                        r["patch"],
                        r["digest"],
                        r["realized"],
                        r["members"],
                    )
                    for r in found.values()
                    if r["action"] == "send"
                ],
                run_id="test",
            )
        return found

    def fields_of(self, key: str) -> dict:
        [(fields,)] = self.store.connection.execute(
            "SELECT fields FROM sfcrm_sync_state WHERE key = ?", (key,)
        ).fetchall()
        return json.loads(fields)


def status(row) -> str | None:
    return row["n1"] if row.get("e1") else None


@pytest.mark.parametrize(
    ("before", "member", "expected"),
    [
        (None, True, "realized"),  # entering
        (None, False, None),  # never a member: no status to write
        ("realized", True, "existing"),  # still a member at a later sync: written once
        ("existing", True, None),
        ("realized", False, "exited"),  # leaving
        ("existing", False, "exited"),
        ("exited", False, None),  # written once
        ("exited", True, "realized"),  # coming back
    ],
)
def test_membership_becomes_the_reference_statuses(before, member, expected):
    org = Org()
    if before is not None:  # bring the person to `before` as of T1
        org.plan(T1, [("a", "a@x.com", before != "exited", None)])
        if before == "existing":
            org.plan(T1 + timedelta(hours=1), [("a", "a@x.com", True, None)])
        if before == "exited":
            org.plan(T1, [("a", "a@x.com", True, None)])
            org.plan(T1 + timedelta(hours=1), [("a", "a@x.com", False, None)])
        assert org.fields_of("a")["aud__c"][0] == before
    found = org.plan(T2, [("a", "a@x.com", member, None)]).get("a")  # absent: unchanged
    assert (status(found) if found else None) == expected


def test_the_same_as_of_again_is_unchanged_and_an_older_one_is_stale():
    org = Org()
    org.plan(T1, [("a", "a@x.com", True, None), ("b", "b@x.com", False, None)])
    org.plan(T2, [("a", "a@x.com", True, None), ("b", "b@x.com", True, None)])  # a existing, b realized

    assert org.plan(T2, [("a", "a@x.com", True, None), ("b", "b@x.com", True, None)]).get("a") is None
    assert org.plan(T2, [("b", "b@x.com", True, None)], record=False).get("b") is None
    older = org.plan(T0, [("a", "new@x.com", True, None), ("b", "b@x.com", False, None)], record=False)
    assert older["a"]["action"] == "stale" and older["a"]["stale_fields"] == ["Email"]
    assert older["b"]["action"] == "stale" and older["b"]["stale_fields"] == ["aud__c"]
    assert org.fields_of("b")["aud__c"] == ["realized", int(T2.timestamp())]


def test_a_newer_snapshot_mark_makes_an_older_change_stale_even_where_the_field_was_not_written():
    org = Org()
    org.plan(T1, [("a", "a@x.com", False, None)])
    org.store.set_marks(org.scope, ["aud__c", "Email"], T2, shard=(0, 1), run_id="T2")

    found = org.plan(T1 + timedelta(hours=1), [("a", "a@x.com", True, None)], record=False)

    assert found["a"]["action"] == "stale" and found["a"]["stale_fields"] == ["aud__c"]


def test_only_changed_fields_are_sent_and_a_null_leaves_the_field_as_it_is():
    org = Org()
    org.plan(T1, [("a", "a@x.com", True, "realized"), ("b", "b@x.com", False, None)])

    found = org.plan(T2, [("a", "other@x.com", True, "realized"), ("b", None, False, None)])

    assert [found["a"][f"e{i}"] for i in range(3)] == [True, True, False]  # e-mail, realized -> existing
    assert set(json.loads(found["a"]["patch"])) == {"Email", "aud__c"}
    assert "b" not in found  # unchanged: no e-mail given, Salesforce keeps the one it has


def test_people_who_vanish_are_exited_once():
    org = Org()
    org.plan(T1, [("a", "a@x.com", True, None), ("b", "b@x.com", False, None), ("c", "c@x.com", True, None)])

    found = org.plan(T2, [("c", "c@x.com", True, None)])
    assert found["gone:a"]["action"] == "send" and found["gone:a"]["n1"] == "exited"
    assert "gone:b" not in found  # never a member: nothing to exit
    assert "gone:a" not in org.plan(T2 + timedelta(days=1), [("c", "c@x.com", True, None)])


def test_full_resync_sends_every_value_again_and_re_exits_the_vanished():
    org = Org()
    org.plan(T1, [("a", "a@x.com", True, None), ("b", "b@x.com", True, None)])
    org.plan(T2, [("a", "a@x.com", True, None)])  # b exited

    found = org.plan(T2, [("a", "a@x.com", True, None)], full_resync=True)

    assert found["a"]["action"] == "send" and [found["a"][f"e{i}"] for i in range(2)] == [True, True]
    assert found["gone:b"]["action"] == "send" and found["gone:b"]["n1"] == "exited"


def test_the_guard_counts_the_states_members_and_the_exits_of_those_who_vanished():
    org = Org()
    # a, b, c and e members (their realized statuses leave their digests empty), d never one.
    org.plan(T1, [(k, f"{k}@x.com", k != "d", None) for k in "abcde"])
    org.plan(T2, [("a", "a@x.com", True, None), ("d", "d@x.com", False, None), ("e", "e@x.com", False, None)])
    assert org.guarded == (2, 4)  # b and c vanished; e left while present: not counted

    org.plan(T2 + timedelta(days=1), [("a", "a@x.com", True, None)])
    assert org.guarded == (0, 1)  # only a is a member now; d and e vanished, neither one

    org.plan(T2 + timedelta(days=1), [("a", "a@x.com", True, None)], full_resync=True)
    assert org.guarded == (0, 1)  # the re-exits of b, c and e do not count: no member is lost


def test_the_last_row_of_a_repeated_key_wins():
    found = Org().plan(
        T1, [("a", "1@x.com", True, None), ("b", "b@x.com", True, None), ("a", "2@x.com", False, None)]
    )

    assert found["dup:0"]["action"] == "duplicate" and found["dup:0"]["winner"] == 2
    assert found["a"]["row"] == 2 and found["a"]["n1"] is None


def test_rows_without_identity_go_to_validation():
    found = Org().plan(T1, [(None, "a@x.com", True, None)], record=False)
    assert found[None]["action"] == "send"  # and are rejected there (MISSING_IDENTITY)


def test_a_shard_refuses_a_row_of_another_shard_and_sees_only_its_own_state():
    keys = [f"key{i}" for i in range(40)]
    mine = [k for k in keys if key_hash(k) % 3 == 1]
    org = Org()
    org.plan(T1, [(k, None, True, None) for k in keys])

    with pytest.raises(PlanShardError, match="belongs to shard"):
        org.plan(T2, [(k, None, True, None) for k in keys], shard=(1, 3), record=False)
    found = org.plan(T2, [(k, None, True, None) for k in mine[1:]], shard=(1, 3), record=False)
    assert {k for k in found if k.startswith("gone:")} == {f"gone:{mine[0]}"}  # vanished from this shard only
