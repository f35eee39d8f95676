"""Acceptance of the sync state through DAG runs (``dag.test()``, what ``airflow dags test`` runs).

20,000 people, two audiences given as boolean membership, the state on SQLite and on PostgreSQL:
day 1 writes everyone; the same day again writes nothing; day 2 (joins, leaves, people vanishing
from the segment, new e-mails) writes only who changed and leaves every field as the reference
semantics say; day 1 again afterwards is stale and reverts nothing; the status history tells when
a person exited an audience.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import set_connection_env
from tests.profile_store_oracle import derive

pytestmark = pytest.mark.integration

DAG_FOLDER = Path(__file__).resolve().parent / "sync_dag_folder"
DAG_ID = "sfcrm_sync_state_acceptance"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
PEOPLE = 20_000
DAY_1 = datetime(2026, 1, 2, tzinfo=timezone.utc)  # the run of 2026-01-02 syncs as of its interval's end
DAY_2 = datetime(2026, 1, 3, tzinfo=timezone.utc)
FIELDS = {"aud_1": "crm_1_seg__c", "aud_2": "crm_2_seg__c"}
SCHEMA = pa.schema(
    [("sfid", pa.string()), ("email", pa.string()), ("aud_1", pa.bool_()), ("aud_2", pa.bool_())]
)


def older_differs(row: dict, held: dict[str, str | None]) -> bool:
    """Whether a run older than the state would change anything (then its row is stale).

    An older run never turns ``realized`` into ``existing``: "still a member" needs a later sync.
    """
    if row["email"] != held["Email"]:
        return True
    for column, field in FIELDS.items():
        kept = held[field] in ("realized", "existing") and row[column]
        if not kept and derive(held[field], row[column]) != held[field]:
            return True
    return False


def expected_after(days: list[dict[str, dict]]) -> dict[str, dict[str, str | None]]:
    """Every person's fields after syncing ``days`` in order (a person absent from a day vanished)."""
    fields: dict[str, dict[str, str | None]] = {}
    for day in days:
        for sfid in set(fields) | set(day):
            row = day.get(sfid)
            now = fields.setdefault(sfid, {"Email": None, **dict.fromkeys(FIELDS.values())})
            if row is not None:
                now["Email"] = row["email"]
            for column, field in FIELDS.items():
                now[field] = derive(now[field], bool(row and row[column]))
    return fields


@pytest.fixture
def sync_dag(airflow_db, monkeypatch):
    """The acceptance DAG, in a bundle of its own so that ``dag.test()`` can serialise it."""
    bundles = [
        {"name": "sfcrm-sync-tests", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(DAG_FOLDER)}},
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    from airflow.dag_processing.dagbag import DagBag

    def load():  # parsed anew for every run: dag.test() keeps a run's conf in the DAG's params
        dagbag = DagBag(dag_folder=str(DAG_FOLDER))
        assert not dagbag.import_errors, dagbag.import_errors
        return dagbag.dags[DAG_ID]

    return load


def write_segment(path: Path, day: dict[str, dict]) -> str:
    rows = [{"sfid": sfid, **values} for sfid, values in day.items()]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return str(path)


def two_days(ids: list[str]) -> tuple[dict[str, dict], dict[str, dict], dict[str, set[str]]]:
    """Day 1 and day 2 of the segment, and who changed how between them."""
    rng = random.Random(10)
    day1 = {
        sfid: {"email": f"person{i}@example.com", "aud_1": rng.random() < 0.3, "aud_2": rng.random() < 0.5}
        for i, sfid in enumerate(ids)
    }
    people = list(day1)
    rng.shuffle(people)
    vanished, joined, left, moved = (
        set(people[a : a + n]) for a, n in ((0, 1000), (1000, 1000), (2000, 1000), (3000, 500))
    )
    day2 = {}
    for sfid, row in day1.items():
        if sfid in vanished:
            continue
        row = dict(row)
        if sfid in joined:
            row["aud_1"] = True
        if sfid in left:
            row["aud_1"] = False
        if sfid in moved:
            row["email"] = row["email"].replace("@example.com", "@example.org")
        day2[sfid] = row
    return day1, day2, {"vanished": vanished, "joined": joined, "left": left, "moved": moved}


def read_back(hook) -> dict[str, dict[str, str | None]]:
    records = hook.query_all("SELECT Id, Email, crm_1_seg__c, crm_2_seg__c FROM Contact")
    return {r["Id"]: {k: r.get(k) for k in ("Email", *FIELDS.values())} for r in records}


@pytest.mark.timeout(900)
def test_membership_sync_writes_only_changes_and_never_reverts(
    sync_dag, dags_sandbox, audience_fields, sync_state_db, monkeypatch, tmp_path
):
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from tests.integration._export_org import insert

    dags_sandbox.reset()
    set_connection_env(monkeypatch, "sfcrm_default", dags_sandbox)
    hook = SalesforceCrmHook()
    ids = insert(hook, "Contact", [{"LastName": f"Person {i}"} for i in range(PEOPLE)])
    day1, day2, changed = two_days(ids)
    segments = {
        1: write_segment(tmp_path / "day1.parquet", day1),
        2: write_segment(tmp_path / "day2.parquet", day2),
    }

    def run(day: int, logical_date: datetime) -> tuple[dict, int]:
        writes = dags_sandbox.calls_to("composite/sobjects")
        conf = {
            "segment_path": segments[day],
            "sync_state": sync_state_db.conn_id,
            "rejected_rows_path": str(tmp_path / f"rejected-{logical_date:%d}-{day}.parquet"),
            "stale_rows_path": str(tmp_path / f"stale-{logical_date:%d}-{day}.parquet"),
            "summary_path": str(tmp_path / "summary.json"),
        }
        dag_run = sync_dag().test(logical_date=logical_date, run_conf=conf)
        assert dag_run.state == "success"
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert (
            summary["total"]
            == summary["written"] + summary["rejected"] + summary["unchanged"] + summary["stale"]
        )
        return summary, dags_sandbox.calls_to("composite/sobjects") - writes

    # Day 1: everyone is written, members as realized.
    summary, writes = run(1, DAY_1)
    assert (summary["total"], summary["written"], summary["unchanged"], summary["stale"]) == (
        PEOPLE,
        PEOPLE,
        0,
        0,
    )
    assert writes == PEOPLE // 200
    assert summary["as_of"] == DAY_1.isoformat()
    assert read_back(hook) == expected_after([day1])

    # The same day again: nothing to write.
    summary, writes = run(1, DAY_1)
    assert (writes, summary["written"], summary["unchanged"]) == (0, 0, PEOPLE)

    # Day 2: only the people whose values changed, and every field as the reference semantics say.
    after_day2 = expected_after([day1, day2])
    after_day1 = expected_after([day1])
    differ = [sfid for sfid in after_day2 if after_day2[sfid] != after_day1[sfid]]
    summary, writes = run(2, DAY_2)
    assert summary["written"] == len(differ) and summary["rejected"] == 0
    vanished_members = [s for s in changed["vanished"] if day1[s]["aud_1"] or day1[s]["aud_2"]]
    assert summary["vanished"] == len(vanished_members) > 0
    assert summary["total"] == len(day2) + len(vanished_members)
    assert writes == math.ceil(len(differ) / 200)
    assert read_back(hook) == after_day2
    assert any(after_day2[s]["crm_1_seg__c"] == "existing" for s in differ)  # still a member: written once

    # Day 2 again: nothing to write.
    summary, writes = run(2, DAY_2)
    assert (writes, summary["written"]) == (0, 0)

    # Day 1 again, after day 2 (a backfill): stale, nothing reverted, the stale rows listed.
    summary, writes = run(1, DAY_1)
    assert (writes, summary["written"], summary["rejected"]) == (0, 0, 0)
    stale_people = [s for s in day1 if older_differs(day1[s], after_day2[s])]
    assert summary["stale"] == len(stale_people) > 0 and summary["unchanged"] == PEOPLE - summary["stale"]
    assert read_back(hook) == after_day2
    stale_rows = pq.read_table(summary["stale_rows_path"]).to_pylist()
    assert sorted(r["sfid"] for r in stale_rows) == sorted(stale_people)

    # The status history: when did a person who left audience 1 exit it.
    person = sorted(changed["left"] & {s for s in day1 if day1[s]["aud_1"]})[0]
    found = sync_state_db.query(
        "SELECT h.as_of, h.run_id FROM sfcrm_sync_history h "
        "JOIN sfcrm_sync_scopes s ON s.scope_id = h.scope_id "
        "WHERE s.sobject = 'Contact' AND h.key = ? AND h.field = 'crm_1_seg__c' AND h.status = 'exited' "
        "ORDER BY h.as_of",
        person[:15],
    )
    assert len(found) == 1
    assert str(found[0][0]).startswith("2026-01-03 00:00:00")
    statuses = sync_state_db.query(
        "SELECT status FROM sfcrm_sync_history WHERE key = ? AND field = 'crm_1_seg__c' ORDER BY as_of",
        person[:15],
    )
    assert [s for (s,) in statuses] == ["realized", "exited"]
