"""The export with a sync state, on in-memory segments, a fake writer (the hook's seam) and SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
from airflow_provider_sfcrm.activation.report import RejectedRowsWriter, StaleRowsWriter
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordResult
from airflow_provider_sfcrm.activation.row_filter import compile_filter
from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
from airflow_provider_sfcrm.sync.export import SyncExport
from airflow_provider_sfcrm.sync.store import SyncStateStore
from airflow_provider_sfcrm.sync.vanished import VANISHED_FLOOR, VanishedGuardError
from tests.unit._export_describe import describe
from tests.unit.test_export_segment import TableSource

T1 = datetime(2026, 1, 2, tzinfo=timezone.utc)
T2 = T1 + timedelta(days=1)
MEMBERS = pa.schema([("sfid", pa.string()), ("email", pa.string()), ("aud", pa.bool_())])
PEOPLE = pa.schema([("email", pa.string()), ("last", pa.string())])


class Writer:
    """Confirms every record (or fails those it is told to); records what it was sent, per call.
    With ``request_size``, reports each request's results as it goes, as the hook does."""

    def __init__(self, fail=(), unknown=(), before_send=None, request_size=None):
        self.calls: list[tuple[str | None, list[dict]]] = []
        self.fail, self.unknown, self.before_send = set(fail), set(unknown), before_send
        self.request_size = request_size
        self.created = 0

    def __call__(self, records, progress, external_id_field, on_batch=None):
        if self.before_send:
            self.before_send(records)
        self.calls.append((external_id_field, records))
        results = []
        for i, record in enumerate(records):
            key = record.get("Id") or record.get("Email")
            if key in self.fail:
                results.append(RecordResult.failure(i, "ENTITY_IS_DELETED", "entity is deleted"))
            elif key in self.unknown:
                results.append(RecordResult.failure(i, UNKNOWN_OUTCOME, "lost"))
            else:
                self.created += external_id_field is None
                new_id = (
                    to18(f"003ak{self.created:010d}") if external_id_field is None else to18(record["Id"])
                )
                results.append(RecordResult(i, True, new_id, created=external_id_field is None))
        if on_batch is not None and self.request_size:
            for first in range(0, len(records), self.request_size):
                on_batch(first, results[first : first + self.request_size])
        progress(len(records))
        return results


class Sync:
    """Runs of ``SyncExport`` against one SQLite state."""

    def __init__(self, tmp: Path, *, operation="update", **mapping):
        self.tmp = tmp
        self.store = SyncStateStore(sqlite3.connect(tmp / "state.sqlite"))
        self.store.migrate()
        self.mapping = check_mapping_against_describe(
            build_mapping(sobject="Contact", operation=operation, **mapping), describe()
        )
        self.scope = self.store.scope("00D000000000001AAA", "Contact", self.mapping.identity_field or "")
        self.runs = 0

    def run(self, table, as_of, writer=None, find=None, stop=None, **options):
        self.runs += 1
        source = TableSource(table, options.pop("chunk_rows", 50))
        stale_path = self.tmp / f"stale-{self.runs}.parquet"
        with (
            RejectedRowsWriter(str(self.tmp / f"rejected-{self.runs}.parquet"), table.schema) as rejected,
            StaleRowsWriter(str(stale_path), table.schema) as stale,
        ):
            counts = SyncExport(
                source,
                rules_from_describe(self.mapping, describe()),
                rejected,
                stale,
                state=self.store,
                scope_id=self.scope,
                write=writer,
                find_existing=find,
                as_of=as_of,
                run_id=f"run{self.runs}",
                stop=stop,
                **options,
            ).run()
        assert counts.total == (
            counts.written + counts.rejected + counts.filtered + counts.unchanged + counts.stale
        )
        return counts

    def state(self) -> dict[str, dict]:
        rows = self.store.connection.execute("SELECT key, fields FROM sfcrm_sync_state").fetchall()
        return {key: json.loads(fields) for key, fields in rows}


def members(rows) -> pa.Table:
    return pa.Table.from_pylist(
        [{"sfid": to18(f"003ak{n:010d}"), "email": email, "aud": aud} for n, email, aud in rows],
        schema=MEMBERS,
    )


def contacts_sync(tmp_path) -> Sync:
    return Sync(
        tmp_path,
        field_mapping={"sfid": "Id", "email": "Email"},
        audiences={"aud": "crm_1_seg"},
        status_values={"realized": "Realized"},
    )


def test_only_what_changed_is_sent_and_only_confirmed_records_are_remembered(tmp_path):
    sync = contacts_sync(tmp_path)
    writer = Writer(fail={to18("003ak0000000002")})
    day1 = members([(1, "a@x.com", True), (2, "b@x.com", True), (3, "c@x.com", False)])

    first = sync.run(day1, T1, writer)
    assert (first.written, first.rejected) == (2, 1)
    assert writer.calls[0][1][0] == {
        "Id": to18("003ak0000000001"),
        "Email": "a@x.com",
        "crm_1_seg__c": "Realized",
    }

    second = sync.run(day1, T1, writer)  # the failed one is sent again, nothing else
    assert (second.written, second.rejected, second.unchanged) == (0, 1, 2)
    assert [len(records) for _, records in writer.calls] == [3, 1]

    day2 = members([(1, "a@x.com", True), (2, "b@x.com", True), (3, "new@x.com", False)])
    writer.fail.clear()
    third = sync.run(day2, T2, writer)
    sent = {r["Id"][:15]: r for r in writer.calls[-1][1]}
    assert sent["003ak0000000001"] == {"Id": to18("003ak0000000001"), "crm_1_seg__c": "existing"}
    assert sent["003ak0000000002"]["crm_1_seg__c"] == "Realized"  # never confirmed before
    assert sent["003ak0000000003"] == {"Id": to18("003ak0000000003"), "Email": "new@x.com"}  # e-mail only
    assert third.written == 3


def test_people_who_vanish_are_exited_in_the_same_batches_and_in_the_history(tmp_path):
    sync = contacts_sync(tmp_path)
    writer = Writer()
    sync.run(members([(1, "a@x.com", True), (2, "b@x.com", True), (3, "c@x.com", False)]), T1, writer)

    counts = sync.run(members([(2, "b@x.com", True)]), T2, writer)

    assert (counts.total, counts.vanished, counts.written, counts.unchanged) == (2, 1, 2, 0)
    assert len(writer.calls) == 2  # the exit travelled with the last batch of rows
    assert {"Id": to18("003ak0000000001"), "crm_1_seg__c": "exited"} in writer.calls[-1][1]
    history = sync.store.connection.execute(
        "SELECT key, status, as_of FROM sfcrm_sync_history ORDER BY as_of, key"
    ).fetchall()
    assert history[-2:] == [
        ("003ak0000000001", "exited", "2026-01-03 00:00:00+00:00"),
        ("003ak0000000002", "existing", "2026-01-03 00:00:00+00:00"),
    ]


def test_an_older_run_is_stale_and_listed_with_its_fields(tmp_path):
    sync = contacts_sync(tmp_path)
    writer = Writer()
    sync.run(members([(1, "a@x.com", True)]), T2, writer)

    counts = sync.run(members([(1, "old@x.com", False)]), T1, writer)

    assert (counts.stale, counts.written, len(writer.calls)) == (1, 0, 1)
    [stale] = pq.read_table(tmp_path / "stale-2.parquet").to_pylist()
    assert (stale["sfcrm_row_number"], stale["sfcrm_stale_fields"]) == (0, ["Email", "crm_1_seg__c"])
    assert stale["email"] == "old@x.com"


def test_a_dry_run_counts_what_would_be_sent_and_remembers_nothing(tmp_path):
    sync = contacts_sync(tmp_path)
    counts = sync.run(members([(1, "a@x.com", True), (2, "b@x.com", False)]), T1, None)
    assert (counts.written, counts.unchanged) == (2, 0)
    assert sync.state() == {}


def test_a_stop_sends_nothing_more_and_keeps_unchanged_rows_unchanged(tmp_path):
    sync = contacts_sync(tmp_path)
    writer = Writer()
    people = [(n, f"{n}@x.com", n % 2 == 0) for n in range(1, 101)]
    sync.run(members(people[:50]), T1, writer)
    stop = threading.Event()
    stop.set()

    counts = sync.run(members(people), T1, writer, stop=stop)

    assert (counts.written, counts.unchanged, counts.rejected_by_code) == (0, 50, {"TASK_STOPPED": 50})
    assert counts.stopped


def _inserting(tmp_path) -> Sync:
    return Sync(
        tmp_path,
        operation="insert",
        field_mapping={"email": "Email", "last": "LastName"},
        external_id_field="Email",
    )


def _people(n: int) -> pa.Table:
    return pa.Table.from_pylist([{"email": f"P{i}@x.com", "last": f"L{i}"} for i in range(n)], schema=PEOPLE)


def test_an_insert_group_is_recorded_before_it_is_sent_and_settled_after(tmp_path):
    sync = _inserting(tmp_path)
    pending_when_sent = []
    writer = Writer(before_send=lambda records: pending_when_sent.append(len(sync.store.pending(sync.scope))))

    counts = sync.run(_people(25), T1, writer, insert_group_size=10, chunk_rows=100)

    assert [len(records) for _, records in writer.calls] == [10, 10, 5]
    assert pending_when_sent == [1, 1, 1] and sync.store.pending(sync.scope) == []  # one at a time
    assert counts.created == 25
    changed = _people(25).set_column(1, "last", pa.array([f"New{i}" for i in range(25)]))
    sync.run(changed, T2, writer)
    field, records = writer.calls[-1]
    assert field == "Id" and records[0] == {
        "Id": to18("003ak0000000001"),
        "LastName": "New0",
    }  # known: updated


def test_a_crash_mid_update_leaves_every_finished_request_recorded_and_the_retry_sends_the_rest(tmp_path):
    sync = contacts_sync(tmp_path)
    day1 = members([(n, f"p{n}@x.com", True) for n in range(1, 51)])

    class Crash(Exception):
        pass

    def dying(records, progress, external_id_field, on_batch=None):
        # Requests of 10 records: three finish (and are reported), then the process dies.
        results = [RecordResult(i, True, to18(r["Id"])) for i, r in enumerate(records)]
        for first in range(0, 30, 10):
            on_batch(first, results[first : first + 10])
        raise Crash

    with pytest.raises(Crash):
        sync.run(day1, T1, dying, chunk_rows=100)
    assert len(sync.state()) == 30

    retry = Writer()
    counts = sync.run(day1, T1, retry, chunk_rows=100)
    sent = sorted(r["Id"][:15] for _, records in retry.calls for r in records)
    assert sent == [f"003ak{n:010d}" for n in range(31, 51)]
    assert (counts.unchanged, counts.written) == (30, 20) and len(sync.state()) == 50


def test_what_a_writer_reports_as_it_goes_is_recorded_once(tmp_path):
    sync = contacts_sync(tmp_path)
    day1 = members([(n, f"p{n}@x.com", True) for n in range(1, 26)])
    counts = sync.run(day1, T1, Writer(request_size=10), chunk_rows=100)
    history = sync.store.connection.execute("SELECT count(*) FROM sfcrm_sync_history").fetchone()[0]
    assert counts.written == 25 and len(sync.state()) == 25 and history == 25


def test_a_crash_mid_insert_then_a_retry_creates_nobody_twice(tmp_path):
    sync = _inserting(tmp_path)
    created: dict[str, str] = {}

    class Crash(Exception):
        pass

    def crashing(records, progress, external_id_field):
        for record in records:  # Salesforce creates the group, then the process dies
            created[record["Email"]] = to18(f"003ak{len(created) + 1:010d}")
        if len(created) > 10:
            raise Crash
        return [RecordResult(i, True, created[r["Email"]], created=True) for i, r in enumerate(records)]

    with pytest.raises(Crash):
        sync.run(_people(25), T1, crashing, insert_group_size=10, chunk_rows=100)
    assert len(sync.store.pending(sync.scope)) == 1 and len(sync.state()) == 10

    looked_up = []

    def find(values):
        looked_up.extend(values)
        return [(value.lower(), created[value]) for value in values if value in created]  # any case

    retry = Writer()
    counts = sync.run(_people(25), T1, retry, find=find, insert_group_size=10, chunk_rows=100)

    assert sorted(looked_up) == sorted(f"P{i}@x.com" for i in range(10, 20))
    assert (counts.unchanged, counts.written) == (20, 5)
    assert sorted(r["Email"] for _, records in retry.calls for r in records) == [
        f"P{i}@x.com" for i in range(20, 25)
    ]
    assert len(sync.state()) == 25 and sync.store.pending(sync.scope) == []


def test_an_unknown_outcome_keeps_the_insert_group_for_the_next_run(tmp_path):
    sync = _inserting(tmp_path)
    counts = sync.run(_people(3), T1, Writer(unknown={"P1@x.com"}))
    assert counts.rejected_by_code == {UNKNOWN_OUTCOME: 1}
    [pending] = sync.store.pending(sync.scope)
    assert {entry["v"] for entry in pending.entries} == {"P0@x.com", "P1@x.com", "P2@x.com"}


def test_a_sync_needs_an_identity(tmp_path):
    with pytest.raises(ValueError, match="needs an identity"):
        Sync(tmp_path, operation="insert", field_mapping={"last": "LastName"}).run(_people(1), T1, Writer())


def test_people_a_row_filter_leaves_out_are_outside_the_sync_neither_sent_nor_exited(tmp_path):
    sync = contacts_sync(tmp_path)
    writer = Writer()
    day1 = members([(1, "a@x.com", True), (2, "b@x.com", True), (3, "c@x.com", True), (4, "d@x.com", True)])
    sync.run(day1, T1, writer)
    before = sync.state()

    # Day 2: 1 and 2 leave the audience, 3 stays, 4 vanishes; the filter leaves out 2 and 3.
    day2 = members([(1, "a@x.com", False), (2, "b2@x.com", False), (3, "c@x.com", True)])
    filter_on = compile_filter("email NOT IN ('b2@x.com', 'c@x.com')", day2.schema)
    counts = sync.run(day2, T2, writer, row_filter=filter_on)

    sent = {r["Id"][:15]: r for r in writer.calls[-1][1]}
    assert sent == {
        "003ak0000000001": {"Id": to18("003ak0000000001"), "crm_1_seg__c": "exited"},
        "003ak0000000004": {"Id": to18("003ak0000000004"), "crm_1_seg__c": "exited"},  # vanished
    }
    assert (counts.total, counts.written, counts.filtered, counts.unchanged, counts.vanished) == (
        4,
        2,
        2,
        0,
        1,
    )
    state = sync.state()
    assert state["003ak0000000002"] == before["003ak0000000002"]  # kept as it was: still realized
    assert state["003ak0000000003"] == before["003ak0000000003"]

    # Without the filter, the next run decides about them as usual.
    again = sync.run(day2, T2 + timedelta(days=1), writer)
    sent = {r["Id"][:15]: r for r in writer.calls[-1][1]}
    assert sent == {
        "003ak0000000002": {"Id": to18("003ak0000000002"), "Email": "b2@x.com", "crm_1_seg__c": "exited"},
        "003ak0000000003": {"Id": to18("003ak0000000003"), "crm_1_seg__c": "existing"},
    }
    assert (again.written, again.filtered, again.unchanged) == (2, 0, 1)


def test_a_filtered_out_duplicate_does_not_reject_the_row_it_repeats(tmp_path):
    sync = contacts_sync(tmp_path)
    table = members([(1, "a@x.com", True), (2, "b@x.com", True), (1, "skip@x.com", False)])
    counts = sync.run(table, T1, Writer(), row_filter=compile_filter("email <> 'skip@x.com'", table.schema))
    assert (counts.written, counts.rejected, counts.filtered) == (2, 0, 1)


def test_changed_values_are_sent_typed_as_without_a_sync_state(tmp_path):
    sync = Sync(tmp_path, field_mapping={"sfid": "Id", "score": "Score__c", "born": "Birthdate"})
    writer = Writer()
    table = pa.table(
        {"sfid": [to18("003ak0000000001")], "score": [" 12.50 "], "born": ["1990-01-31T23:00:00-05:00"]}
    )

    sync.run(table, T1, writer)

    assert writer.calls[0][1] == [
        {"Id": to18("003ak0000000001"), "Score__c": 12.5, "Birthdate": "1990-01-31"}
    ]


# -- the guard against a truncated segment ---------------------------------------------------------


def _audience(n: int, *, member=lambda k: True) -> pa.Table:
    return members([(k, f"{k}@x.com", member(k)) for k in range(1, n + 1)])


def _snapshot(sync: Sync) -> tuple:
    """Everything a run records: the state, the history, the marks and the pending groups."""
    return tuple(
        sync.store.connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        for table in ("sfcrm_sync_state", "sfcrm_sync_history", "sfcrm_sync_marks", "sfcrm_sync_pending")
    )


@pytest.mark.parametrize(
    ("options", "dry"),
    [({}, False), ({"full_resync": True}, False), ({"max_vanished_ratio": "0.5"}, False), ({}, True)],
)
def test_a_truncated_segment_is_refused_before_anything_is_sent_or_recorded(tmp_path, options, dry):
    sync = contacts_sync(tmp_path)
    sync.run(_audience(300), T1, Writer())
    before = _snapshot(sync)
    writer = Writer()

    with pytest.raises(VanishedGuardError, match="270 of the 300 people") as refused:
        sync.run(_audience(30), T2, None if dry else writer, **options)  # 10 % of the audience

    assert (refused.value.exits, refused.value.members) == (270, 300)
    assert writer.calls == [] and _snapshot(sync) == before


@pytest.mark.parametrize(
    ("kept", "ratio", "exits"),
    [
        (150, 0.5, 150),  # at the limit
        (30, 0.9, 270),
        (30, "1.0", 270),
        (30, None, 270),  # disabled
        (0, "None", 300),  # even an empty segment
    ],
)
def test_a_run_at_or_below_the_limit_or_with_the_check_disabled_exits_the_vanished(
    tmp_path, kept, ratio, exits
):
    sync = contacts_sync(tmp_path)
    sync.run(_audience(300), T1, Writer())
    writer = Writer()

    counts = sync.run(_audience(kept), T2, writer, max_vanished_ratio=ratio)

    assert counts.vanished == exits
    sent = [record for _, records in writer.calls for record in records]
    assert sum(record.get("crm_1_seg__c") == "exited" for record in sent) == exits


@pytest.mark.parametrize(("audience", "refused"), [(VANISHED_FLOOR, False), (VANISHED_FLOOR + 1, True)])
def test_a_small_audience_vanishing_whole_is_below_the_floor(tmp_path, audience, refused):
    sync = contacts_sync(tmp_path)
    sync.run(_audience(audience), T1, Writer())
    writer = Writer()
    if refused:
        with pytest.raises(VanishedGuardError):
            sync.run(_audience(0), T2, writer)
        assert writer.calls == []
    else:
        assert sync.run(_audience(0), T2, writer).vanished == audience


def test_people_who_left_while_present_and_full_resyncs_re_exits_do_not_count(tmp_path):
    sync = contacts_sync(tmp_path)
    sync.run(_audience(300), T1, Writer())
    # Day 2: 200 leave the audience while still in the segment: ordinary changes, not vanished.
    assert sync.run(_audience(300, member=lambda k: k <= 100), T2, Writer()).written == 300
    writer = Writer()

    # A full resync of the 100 members: the 200 who left vanish and are exited again, but the state
    # knew them as no member any more: nobody of the audience is lost.
    counts = sync.run(_audience(100), T2, writer, full_resync=True)

    assert counts.vanished == 200 and counts.written == 300
