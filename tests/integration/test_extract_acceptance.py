"""Acceptance of SalesforceExtractOperator over four consecutive hourly intervals, on the sandbox's clock.

Creates, updates and deletes land inside intervals and exactly on their boundaries. The union of the
file sets (a full refresh as of the first boundary, then the four increments; latest version of each
Id, deleted records dropped) must be the org as SOQL reads it; re-running an interval must rewrite the
same bytes; backfilling the intervals in any order must give the same union.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from tests.integration._extract_helpers import UTC, extract, rows, salesforce_stamp, union

pytestmark = pytest.mark.integration

T0 = dt.datetime(2024, 3, 1, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
BOUNDARIES = [T0 + n * HOUR for n in range(5)]
COLUMNS = ["Id", "LastName", "Title", "Email", "SystemModstamp", "IsDeleted"]


class Org:
    """Writes to the sandbox at chosen instants of its clock."""

    def __init__(self, sandbox, hook: SalesforceCrmHook):
        self.sandbox = sandbox
        self.hook = hook
        self.ids: dict[str, str] = {}

    def at(self, moment: dt.datetime) -> Org:
        self.sandbox.set_clock(moment, frozen=True)
        return self

    def create(self, *names: str) -> None:
        results = self.hook.upsert_records(
            "Contact",
            [{"LastName": name, "Email": f"{name.lower()}@example.com"} for name in names],
            external_id_field=None,
        )
        assert all(r.success for r in results)
        self.ids.update({name: r.id for name, r in zip(names, results, strict=True)})

    def update(self, name: str, title: str) -> None:
        assert self.hook.upsert_records("Contact", [{"Id": self.ids[name], "Title": title}])[0].success

    def delete(self, name: str) -> None:
        self.hook._json("DELETE", "composite/sobjects", params={"ids": self.ids[name]})

    def state(self) -> dict[str, dict]:
        """The org's live Contacts by SOQL."""
        records = self.hook.query_all(f"SELECT {', '.join(COLUMNS)} FROM Contact")
        return {r["Id"]: {c: r[c] for c in COLUMNS} for r in records}


def as_soql(row: dict) -> dict:
    return {**{c: row[c] for c in COLUMNS}, "SystemModstamp": salesforce_stamp(row["SystemModstamp"])}


@pytest.fixture
def org(sandbox, sfcrm_conn):
    sandbox.reset()
    yield Org(sandbox, SalesforceCrmHook(sfcrm_conn))
    sandbox.reset_clock()


def intervals():
    return list(zip(BOUNDARIES, BOUNDARIES[1:], strict=False))


def writes_of(org: Org, n: int) -> None:
    """What happens during interval ``n`` (0-based), boundaries included."""
    t = BOUNDARIES[n]
    if n == 0:
        org.at(t).create("C1", "C2", "C3", "C4", "C5")  # exactly on the first boundary: interval 0
        org.at(t + dt.timedelta(minutes=10)).update("A", "moved in I0")
        org.at(t + dt.timedelta(minutes=30)).create("C6")
    elif n == 1:
        org.at(t).update("C1", "on the boundary of I1")  # stamped exactly at I1's start
        org.at(t).create("C7")
        org.at(t + dt.timedelta(minutes=30)).delete("C2")
        org.at(t + dt.timedelta(minutes=40)).update("B", "moved in I1")
        org.at(t + HOUR - dt.timedelta(seconds=1)).update("C3", "last second of I1")
    elif n == 2:
        org.at(t + dt.timedelta(minutes=5)).delete("A")
        org.at(t + dt.timedelta(minutes=6)).create("C8")
        org.at(t + dt.timedelta(minutes=7)).delete("C8")  # born and gone within one interval
        org.at(t + dt.timedelta(minutes=8)).update("C7", "changed in I2")
    else:
        org.at(t).delete("C4")  # a deletion exactly on a boundary
        org.at(t + dt.timedelta(minutes=1)).create("C9")
        org.at(t + dt.timedelta(minutes=2)).update("C5", "first change in I3")
        org.at(t + dt.timedelta(minutes=3)).update("C5", "second change in I3")


@pytest.mark.parametrize("api", ["rest", "bulk"])
def test_four_intervals_union_to_the_org_and_rerun_and_backfill_agree(org, tmp_path, api):
    org.at(T0 - 5 * HOUR).create("A", "B")  # before the first interval: only the full refresh has them
    full = extract(tmp_path / "live", "Contact", None, T0, full_refresh=True, columns=COLUMNS, api=api)
    assert (full["rows"], full["deleted"], full["interval"]["start"]) == (2, 0, None)

    increments, deferrals = [], []
    for n, (start, end) in enumerate(intervals()):
        writes_of(org, n)
        org.at(end + dt.timedelta(minutes=20))  # the run comes after the interval has ended
        summary = extract(
            tmp_path / "live", "Contact", start, end, columns=COLUMNS, api=api, deferrals=deferrals
        )
        increments.append(summary)
        # Re-running an interval nothing changed since rewrites exactly the same bytes.
        before = {
            p.name: p.read_bytes()
            for p in (tmp_path / "live" / "Contact" / f"{start:%Y%m%dT%H%M%S}").iterdir()
        }
        again = extract(tmp_path / "live", "Contact", start, end, columns=COLUMNS, api=api)
        after = {
            p.name: p.read_bytes()
            for p in (tmp_path / "live" / "Contact" / f"{start:%Y%m%dT%H%M%S}").iterdir()
        }
        assert (again["rows"], again["deleted"]) == (summary["rows"], summary["deleted"])
        assert after == before

    by_interval = [{org_name(org, r["Id"]): r for r in rows(s["output_path"])} for s in increments]
    # Each change in the interval that holds its stamp; a boundary belongs to the interval it starts.
    assert set(by_interval[0]) == {"A", "C1", "C2", "C3", "C4", "C5", "C6"}
    assert set(by_interval[1]) == {"C1", "C7", "C2", "B", "C3"}
    assert by_interval[1]["C1"]["Title"] == "on the boundary of I1" and by_interval[1]["C2"]["IsDeleted"]
    assert set(by_interval[2]) == {"A", "C8", "C7"}
    assert by_interval[2]["A"]["IsDeleted"] and by_interval[2]["C8"]["IsDeleted"]
    assert set(by_interval[3]) == {"C4", "C9", "C5"}
    assert by_interval[3]["C4"]["IsDeleted"] and by_interval[3]["C5"]["Title"] == "second change in I3"
    assert [s["deleted"] for s in increments] == [0, 1, 2, 1]
    assert {s["api"] for s in [full, *increments]} == {api}
    # Through Bulk, each run waited for its query job in the triggerer.
    assert [d.trigger.kind for d in deferrals] == (["query"] * 4 if api == "bulk" else [])
    assert [s["rows"] for s in increments] == [len(i) for i in by_interval]
    # Each Id at most once per interval, in Id order.
    for summary in increments:
        ids = [r["Id"] for r in rows(summary["output_path"])]
        assert ids == sorted(ids) and len(ids) == len(set(ids))

    state = org.state()
    live = union([full["output_path"], *(s["output_path"] for s in increments)])
    assert {i: as_soql(r) for i, r in live.items()} == state
    assert {org_name(org, i) for i in state} == {"B", "C1", "C3", "C5", "C6", "C7", "C9"}

    # Backfill, long after: every interval in a shuffled order, then the full refresh, in a new place.
    order = list(intervals())
    random.Random(13).shuffle(order)
    assert order != list(intervals())
    backfill = [
        extract(tmp_path / "backfill", "Contact", s, e, columns=COLUMNS, api=api)["output_path"]
        for s, e in order
    ]
    refreshed = extract(
        tmp_path / "backfill", "Contact", None, T0, full_refresh=True, columns=COLUMNS, api=api
    )
    again = union([refreshed["output_path"], *backfill])
    assert {i: as_soql(r) for i, r in again.items()} == state
    # No record lands in two file sets: each interval holds exactly the versions stamped in it.
    versions = [r["Id"] for path in [refreshed["output_path"], *backfill] for r in rows(path)]
    assert len(versions) == len(set(versions)) == len(state) + 4  # + the deleted A, C2, C4 and C8
    boundary = {org_name(org, r["Id"]) for r in rows(backfill[order.index((T0 + HOUR, T0 + 2 * HOUR))])}
    assert {"C1", "C7"} & boundary == {"C1"}  # stamped at T0 + 1h: in I1, not in I0
    # Re-run long after, an interval keeps only the rows no later interval holds a newer version of.
    rerun_i1 = {
        org_name(org, r["Id"]) for r in rows(tmp_path / "backfill" / "Contact" / f"{T0 + HOUR:%Y%m%dT%H%M%S}")
    }
    assert rerun_i1 == {"C1", "C2", "B", "C3"}  # C7 moved on to I2


def org_name(org: Org, record_id: str) -> str:
    return next(name for name, known in org.ids.items() if known == record_id)
