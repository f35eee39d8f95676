"""The sync state through Bulk API 2.0, without HTTP: spooling by operation, and the jobs' results
turned into the state (the same as a REST run's), each job once."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.activation.bulk_spool import job_parts, read_manifest
from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
from airflow_provider_sfcrm.activation.report import RejectedRowsWriter, StaleRowsWriter
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordResult
from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
from airflow_provider_sfcrm.sync.bulk import (
    SyncBulkSpool,
    SyncBulkSpoolExport,
    job_headers,
    job_outcomes,
    record_jobs,
)
from airflow_provider_sfcrm.sync.confirm import plan_column
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow, SyncStateStore
from airflow_provider_sfcrm.sync.vanished import VanishedGuardError
from tests.unit._export_describe import describe
from tests.unit.sync.test_export import T1, T2, Sync, Writer, contacts_sync, members
from tests.unit.test_export_segment import TableSource

AS_OF = datetime(2026, 1, 2, tzinfo=timezone.utc)


def _sent(rows: list[dict]) -> pa.Table:
    """Spooled rows: an input column and the plan columns (one audience field, ``status0``)."""
    names = ("op", "identity", "key", "key_hash", "record_id", "patch", "digest", "realized", "members")
    columns: dict[str, pa.Array] = {"email": pa.array([r.get("email") for r in rows], pa.string())}
    for name in names:
        kind = (
            pa.int64()
            if name == "key_hash"
            else pa.int16()
            if name in ("realized", "members")
            else pa.string()
        )
        columns[plan_column(name)] = pa.array([r.get(name) for r in rows], kind)
    columns[plan_column("status0")] = pa.array([r.get("status") for r in rows], pa.string())
    columns[plan_column("batch")] = pa.array([r.get("batch") for r in rows], pa.string())
    return pa.table(columns)


def _row(key: str, op: str, **values) -> dict:
    return (
        dict(
            op=op,
            identity=key,
            key=key,
            key_hash=len(key),
            patch='{"Email":["h",1]}',
            digest="d",
            realized=1,
            members=1,
        )
        | values
    )


def test_job_outcomes_record_only_what_salesforce_confirmed_and_settle_known_journals():
    updated = _sent([_row("k1", "update", record_id="003A", status="realized"), _row("k2", "update")])
    # Journal b1 spans two jobs; b2 has a row whose outcome is unknown.
    first = _sent([_row("k3", "insert", batch="b1", status="realized"), _row("k4", "insert", batch="b1")])
    second = _sent([_row("k5", "insert", batch="b1"), _row("k6", "insert", batch="b2")])
    results = [
        [RecordResult(0, True), RecordResult.failure(1, "ENTITY_IS_DELETED", "deleted")],
        [
            RecordResult(0, True, id="003B", created=True),
            RecordResult.failure(1, "INVALID_EMAIL_ADDRESS", "bad"),
        ],
        [RecordResult(0, True, id="003C", created=True), RecordResult.failure(1, UNKNOWN_OUTCOME, "lost")],
    ]

    outcomes = job_outcomes([updated, first, second], results, ["crm_1_seg__c"], AS_OF)

    assert outcomes[0].rows == [StateRow("k1", 2, "003A", '{"Email":["h",1]}', "d", 1, 1)]
    assert outcomes[0].history == [HistoryRow("k1", "003A", "crm_1_seg__c", "realized", AS_OF)]
    assert [r.key for r in outcomes[1].rows] == ["k3"] and outcomes[1].rows[0].record_id == "003B"
    assert outcomes[1].history == [HistoryRow("k3", "003B", "crm_1_seg__c", "realized", AS_OF)]
    assert [(r.key, r.record_id) for r in outcomes[2].rows] == [("k5", "003C")]
    # b1 is settled by the last job holding one of its rows; b2 stays: the next run finds out by SOQL.
    assert [o.settled for o in outcomes] == [[], [], ["b1"]]


def test_job_outcomes_refuse_results_that_do_not_line_up():
    with pytest.raises(ValueError, match="job 0: 1 results for 2 spooled rows"):
        job_outcomes(
            [_sent([_row("k1", "update"), _row("k2", "update")])], [[RecordResult(0, True)]], ["f"], AS_OF
        )


def test_job_headers_put_the_key_of_each_operation_first():
    upsert = check_mapping_against_describe(
        build_mapping(
            sobject="Contact",
            operation="upsert",
            external_id_field="Ext_Id__c",
            field_mapping={"ext": "Ext_Id__c", "email": "Email", "last": "LastName"},
            audiences={"aud": "crm_1_seg"},
        ),
        describe(),
    )
    headers = job_headers(upsert)
    assert headers["update"] == ["Id", "Email", "LastName", "crm_1_seg__c"]
    assert headers["upsert"] == headers["insert"] == ["Ext_Id__c", "Email", "LastName", "crm_1_seg__c"]


def _spool_run(sync: Sync, table: pa.Table, as_of: datetime, directory, run_id: str, **choice):
    """A sync run whose rows are spooled (as the Bulk path does); its manifest. ``choice``: ``choose``
    and ``write``; a run that chose not to spool returns its counts."""
    spool = SyncBulkSpool(directory, job_headers(sync.mapping), max_part_bytes=120)
    with (
        RejectedRowsWriter(str(directory / "client-rejected.parquet"), table.schema) as rejected,
        StaleRowsWriter(str(directory / "stale.parquet"), table.schema) as stale,
    ):
        export = SyncBulkSpoolExport(
            TableSource(table, 2),
            rules_from_describe(sync.mapping, describe()),
            rejected,
            stale,
            state=sync.store,
            scope_id=sync.scope,
            spool=spool,
            as_of=as_of,
            run_id=run_id,
            **choice,
        )
        counts = export.run()
    return spool.finish(counts) if export.spooling else counts


def _confirm_all(parts) -> list[list[RecordResult]]:
    """What Salesforce answers when it writes every row (an update answers the Id it was given)."""
    return [[RecordResult(i, True) for i in range(part.rows)] for part in parts]


def _state_and_history(store: SyncStateStore) -> tuple[list, list]:
    state = store.connection.execute(
        "SELECT key, record_id, fields, digest, realized, members FROM sfcrm_sync_state ORDER BY key"
    ).fetchall()
    history = store.connection.execute(
        "SELECT key, record_id, field, status, as_of FROM sfcrm_sync_history ORDER BY key, as_of"
    ).fetchall()
    return state, history


def test_spooled_runs_recorded_from_their_results_leave_the_state_a_rest_run_leaves(tmp_path):
    day1 = members([(n, f"p{n}@x.com", n % 2 == 0) for n in range(1, 9)])
    day2 = members([(n, f"q{n}@x.com" if n == 2 else f"p{n}@x.com", n % 3 == 0) for n in range(1, 8)])
    (tmp_path / "rest").mkdir()
    rest = contacts_sync(tmp_path / "rest")
    rest.run(day1, T1, Writer())
    rest.run(day2, T2, Writer())

    (tmp_path / "bulk").mkdir()
    bulk = contacts_sync(tmp_path / "bulk")
    for day, as_of, run_id in ((day1, T1, "run1"), (day2, T2, "run2")):
        directory = tmp_path / f"spool-{run_id}"
        directory.mkdir()
        manifest = _spool_run(bulk, day, as_of, directory, run_id)
        assert read_manifest(directory) == manifest and manifest.sync is not None
        parts = job_parts(directory, manifest, bulk.mapping.operation)
        assert len(parts) > 1 and {part.operation for part in parts} == {"update"}  # 120-byte parts
        assert rest.store.marks(rest.scope, ["crm_1_seg__c"]) != bulk.store.marks(
            bulk.scope, ["crm_1_seg__c"]
        )
        assert record_jobs(bulk.store, manifest.sync, parts, _confirm_all(parts), log=print) == len(parts)
        recorded = _state_and_history(bulk.store)
        # A resumed task finds every job's token settled: nothing is recorded twice.
        assert record_jobs(bulk.store, manifest.sync, parts, _confirm_all(parts), log=print) == 0
        assert _state_and_history(bulk.store) == recorded

    assert _state_and_history(bulk.store) == _state_and_history(rest.store)
    assert bulk.store.marks(bulk.scope, ["crm_1_seg__c"]) == rest.store.marks(rest.scope, ["crm_1_seg__c"])
    assert bulk.store.connection.execute("SELECT count(*) FROM sfcrm_sync_pending").fetchone() == (0,)


def _insert_sync(tmp_path) -> Sync:
    """Inserts of Contacts told apart by their e-mail."""
    return Sync(
        tmp_path,
        operation="insert",
        external_id_field="Email",
        field_mapping={"email": "Email", "last": "LastName"},
    )


def test_a_spooled_insert_is_journaled_before_any_upload_and_settled_by_its_result(tmp_path):
    sync = _insert_sync(tmp_path)
    people = pa.table({"email": ["a@x.com", "b@x.com"], "last": ["A", "B"]})
    manifest = _spool_run(sync, people, T1, tmp_path, "run1")
    pending = sync.store.connection.execute("SELECT batch_id FROM sfcrm_sync_pending").fetchall()
    assert len(pending) == 2  # the insert journal, and the job's token
    parts = job_parts(tmp_path, manifest, "insert")
    assert [(p.operation, p.header) for p in parts] == [("insert", ["Email", "LastName"])]
    results = [
        [
            RecordResult(0, True, id=to18("003ak0000000001"), created=True),
            RecordResult.failure(1, UNKNOWN_OUTCOME, "lost"),
        ]
    ]

    record_jobs(sync.store, manifest.sync, parts, results, log=print)

    # The unknown outcome keeps the journal (the next run reconciles it); the token is settled.
    assert sync.store.connection.execute("SELECT count(*) FROM sfcrm_sync_pending").fetchone() == (1,)
    assert sync.store.connection.execute("SELECT key, record_id FROM sfcrm_sync_state").fetchall() == [
        ("a@x.com", to18("003ak0000000001"))
    ]


def test_a_new_spool_of_the_same_run_settles_the_tokens_of_the_one_it_replaces(tmp_path):
    sync = contacts_sync(tmp_path)
    day1 = members([(1, "a@x.com", True)])
    for attempt in ("one", "two"):  # a try that died before its upload, then its retry
        (tmp_path / attempt).mkdir()
        manifest = _spool_run(sync, day1, T1, tmp_path / attempt, "run1")
    tokens = {row[0] for row in sync.store.connection.execute("SELECT batch_id FROM sfcrm_sync_pending")}
    assert tokens == set(manifest.sync["tokens"])


def test_a_completion_that_died_between_two_jobs_records_only_the_rest_when_resumed(tmp_path):
    day1 = members([(n, f"p{n}@x.com", True) for n in range(1, 7)])
    (tmp_path / "rest").mkdir()
    rest = contacts_sync(tmp_path / "rest")
    rest.run(day1, T1, Writer())
    (tmp_path / "bulk").mkdir()
    bulk = contacts_sync(tmp_path / "bulk")
    manifest = _spool_run(bulk, day1, T1, tmp_path, "run1")
    parts = job_parts(tmp_path, manifest, "update")
    assert len(parts) >= 2
    real, applied = bulk.store.apply, []

    def dies_after_the_first_job(*args, **kwargs):
        if applied:
            raise RuntimeError("worker died")
        applied.append(1)
        return real(*args, **kwargs)

    bulk.store.apply = dies_after_the_first_job
    with pytest.raises(RuntimeError, match="worker died"):
        record_jobs(bulk.store, manifest.sync, parts, _confirm_all(parts), log=print)
    bulk.store.apply = real
    unmarked = bulk.store.marks(bulk.scope, ["crm_1_seg__c"])

    assert record_jobs(bulk.store, manifest.sync, parts, _confirm_all(parts), log=print) == len(parts) - 1
    assert _state_and_history(bulk.store) == _state_and_history(rest.store)
    # The fields are marked synced only once every job is recorded.
    marked = bulk.store.marks(bulk.scope, ["crm_1_seg__c"])
    assert unmarked != marked == rest.store.marks(rest.scope, ["crm_1_seg__c"])


def _pending(sync: Sync) -> int:
    return sync.store.connection.execute("SELECT count(*) FROM sfcrm_sync_pending").fetchone()[0]


@pytest.mark.parametrize("spool", [False, True])
def test_choose_is_asked_once_with_the_plans_rows_to_send_and_exits(tmp_path, spool):
    day1 = members([(n, f"p{n}@x.com", n % 2 == 0) for n in range(1, 9)])
    # Day 2: 2 has a new e-mail and leaves, 3 joins, 4 leaves, 6 stays (realized → existing): 4 to
    # send; 1, 5 and 7 unchanged; 8, a member, vanished: 1 exit. The first row, an earlier row of 3,
    # loses to the later one: not sent.
    day2 = members(
        [(3, "old@x.com", False)]
        + [(n, "q2@x.com" if n == 2 else f"p{n}@x.com", n % 3 == 0) for n in range(1, 8)]
    )
    (tmp_path / "rest").mkdir()
    rest = contacts_sync(tmp_path / "rest")
    for day, as_of in ((day1, T1), (day2, T2)):
        rest_counts = rest.run(day, as_of, Writer())
    (tmp_path / "chosen").mkdir()
    chosen = contacts_sync(tmp_path / "chosen")
    chosen.run(day1, T1, Writer())
    asked, writer = [], Writer()

    def choose(rows_to_send, segment_rows):
        asked.append((rows_to_send, segment_rows))
        return spool

    directory = tmp_path / "spool"
    directory.mkdir()
    outcome = _spool_run(chosen, day2, T2, directory, "run2", choose=choose, write=writer)

    assert asked == [(4 + 1, 8)]
    assert rest_counts.written == 5  # what the REST sync sent of the same day
    if spool:  # spooled: nothing sent or recorded yet, one token per job
        assert writer.calls == [] and read_manifest(directory) == outcome
        assert _pending(chosen) == len(outcome.sync["tokens"]) > 0
    else:  # sent and recorded as the REST sync does, no token, nothing spooled
        assert outcome == rest_counts
        assert [len(records) for _, records in writer.calls] == [5]
        assert _state_and_history(chosen.store) == _state_and_history(rest.store)
        assert chosen.store.marks(chosen.scope, ["crm_1_seg__c"]) == rest.store.marks(
            rest.scope, ["crm_1_seg__c"]
        )
        assert _pending(chosen) == 0
        # Only the files the test itself gave the export: the rejected and stale rows.
        assert sorted(path.name for path in directory.iterdir()) == [
            "client-rejected.parquet",
            "stale.parquet",
        ]


def test_a_run_choose_sends_over_rest_journals_and_settles_its_inserts(tmp_path):
    sync = _insert_sync(tmp_path)
    people = pa.table({"email": ["a@x.com", "b@x.com", "c@x.com"], "last": ["A", "B", "C"]})
    writer = Writer(unknown={"c@x.com"})  # c's answer is lost: its journal stays for the next run
    counts = _spool_run(sync, people, T1, tmp_path, "run1", choose=lambda *_: False, write=writer)
    assert (counts.written, counts.created, counts.rejected) == (2, 2, 1)
    assert [key for key, _ in writer.calls] == [None]  # inserted
    assert sync.store.connection.execute("SELECT count(*) FROM sfcrm_sync_state").fetchone() == (2,)
    assert _pending(sync) == 1


@pytest.mark.parametrize("auto", [False, True])
def test_a_truncated_segment_is_refused_before_anything_is_spooled_or_chosen(tmp_path, auto):
    sync = contacts_sync(tmp_path)
    audience = [(n, f"p{n}@x.com", True) for n in range(1, 301)]
    sync.run(members(audience), T1, Writer())
    asked, writer = [], Writer()
    choice = {"choose": lambda *counts: asked.append(counts) or True, "write": writer} if auto else {}
    directory = tmp_path / "spool"
    directory.mkdir()

    with pytest.raises(VanishedGuardError, match="270 of the 300 people"):
        _spool_run(sync, members(audience[:30]), T2, directory, "run2", **choice)

    assert asked == [] and writer.calls == []  # api="auto" never chose, nothing was sent
    assert _pending(sync) == 0  # no token, no journal
    assert not any(path.is_dir() for path in directory.iterdir())  # no job data spooled
    assert sync.store.connection.execute(
        "SELECT count(*) FROM sfcrm_sync_history WHERE status = 'exited'"
    ).fetchone() == (0,)
