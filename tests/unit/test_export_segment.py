"""The export pipeline on an in-memory segment with a fake writer (the hook's seam)."""

from __future__ import annotations

import math
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
from airflow_provider_sfcrm.activation.report import RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import RecordResult
from airflow_provider_sfcrm.activation.row_filter import compile_filter
from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
from airflow_provider_sfcrm.activation.segment import SegmentExport
from tests.unit._export_describe import describe


class TableSource:
    """A segment held in memory, served in fixed-size chunks."""

    def __init__(self, table: pa.Table, chunk_rows: int):
        self.table = table
        self.schema = table.schema
        self.chunk_rows = chunk_rows

    def batches(self, columns=None):
        table = self.table.select(columns) if columns else self.table
        yield from table.to_batches(max_chunksize=self.chunk_rows)


class FakeWriter:
    """Records every call; refuses the Ids in ``deleted`` like Salesforce does."""

    def __init__(self, deleted=(), created_ids=()):
        self.calls: list[int] = []
        self.deleted = set(deleted)
        self.created_ids = set(created_ids)
        self.sent: list[dict] = []

    def __call__(self, records, progress):
        results = []
        for start in range(0, len(records), 200):
            batch = records[start : start + 200]
            self.calls.append(len(batch))
            for i, record in enumerate(batch, start):
                self.sent.append(record)
                key = record.get("Id") or record.get("Ext_Id__c")
                if key in self.deleted:
                    results.append(RecordResult.failure(i, "ENTITY_IS_DELETED", "entity is deleted"))
                else:
                    results.append(RecordResult(i, True, "003X", created=key in self.created_ids))
            progress(len(batch))
        return results


def contact_id(n: int) -> str:
    return to18(f"003ak{n:010d}")


def _export(
    table,
    writer,
    tmp_path,
    *,
    operation="update",
    chunk_rows=7,
    batch_size=200,
    extra=None,
    stop=None,
    row_filter=None,
):
    field_mapping = (
        {"sfid": "Id", "last": "LastName"}
        if operation == "update"
        else {"ext": "Ext_Id__c", "last": "LastName"}
    )
    field_mapping.update(extra or {})
    mapping = build_mapping(
        sobject="Contact",
        operation=operation,
        field_mapping=field_mapping,
        audiences={"aud": "crm_1_seg"},
        external_id_field="Ext_Id__c" if operation == "upsert" else None,
    )
    mapping = check_mapping_against_describe(mapping, describe())
    path = tmp_path / "rejected.parquet"
    with RejectedRowsWriter(str(path), table.schema) as rejected:
        counts = SegmentExport(
            TableSource(table, chunk_rows),
            rules_from_describe(mapping, describe()),
            rejected,
            write=writer,
            batch_size=batch_size,
            stop=stop,
            row_filter=compile_filter(row_filter, table.schema) if row_filter else None,
        ).run()
    return counts, pq.read_table(path)


def _segment(n: int) -> pa.Table:
    return pa.table(
        {
            "sfid": [contact_id(i) for i in range(n)],
            "last": [f"Last{i}" for i in range(n)],
            "aud": ["realized"] * n,
        }
    )


@pytest.mark.parametrize(("rows", "chunk_rows"), [(1, 7), (450, 7), (450, 1000), (1000, 333)])
def test_write_calls_are_exactly_ceil_rows_over_batch(tmp_path, rows, chunk_rows):
    writer = FakeWriter()
    counts, rejected = _export(_segment(rows), writer, tmp_path, chunk_rows=chunk_rows)
    assert len(writer.calls) == math.ceil(rows / 200)
    assert (counts.total, counts.written, counts.updated, counts.rejected) == (rows, rows, rows, 0)
    assert [r["Id"] for r in writer.sent] == [contact_id(i) for i in range(rows)]
    assert rejected.num_rows == 0


def test_every_row_ends_written_or_rejected_with_its_row_number(tmp_path):
    table = _segment(30).to_pylist()
    table[3]["sfid"] = None  # missing identity
    table[5]["sfid"] = "bogus"  # malformed
    table[8]["sfid"] = contact_id(20)  # duplicate of row 20 (a later chunk): row 8 loses
    table[11]["aud"] = "maybe"  # invalid status
    table[25]["sfid"] = contact_id(999)  # deleted in Salesforce
    writer = FakeWriter(deleted={contact_id(999)})
    counts, rejected = _export(pa.Table.from_pylist(table), writer, tmp_path)
    by_row = {r["sfcrm_row_number"]: (r["sfcrm_error_code"], r["sfcrm_source"]) for r in rejected.to_pylist()}
    assert by_row == {
        3: ("MISSING_IDENTITY", "client"),
        5: ("MALFORMED_ID", "client"),
        8: ("DUPLICATE_IN_SEGMENT", "client"),
        11: ("INVALID_STATUS", "client"),
        25: ("ENTITY_IS_DELETED", "salesforce"),
    }
    assert {r["sfcrm_row_number"]: r["sfcrm_identity"] for r in rejected.to_pylist()} == {
        3: None,
        5: "bogus",
        8: contact_id(20),
        11: contact_id(11),
        25: contact_id(999),
    }
    assert counts.total == 30 and counts.written == 25 and counts.rejected == 5
    assert counts.total == counts.written + counts.rejected
    assert dict(counts.rejected_by_code) == {
        "MISSING_IDENTITY": 1,
        "MALFORMED_ID": 1,
        "DUPLICATE_IN_SEGMENT": 1,
        "INVALID_STATUS": 1,
        "ENTITY_IS_DELETED": 1,
    }
    row8 = next(r for r in rejected.to_pylist() if r["sfcrm_row_number"] == 8)
    assert (
        row8["sfid"] == contact_id(20)
        and row8["last"] == "Last8"
        and "again at row 20" in row8["sfcrm_error_messages"][0]
    )
    assert sum(1 for r in writer.sent if r["Id"] == contact_id(20)) == 1
    assert next(r for r in writer.sent if r["Id"] == contact_id(20))["LastName"] == "Last20"


def test_dry_run_sends_nothing_and_counts_what_would_be_sent(tmp_path):
    table = _segment(30).to_pylist()
    table[4]["sfid"] = None
    counts, rejected = _export(pa.Table.from_pylist(table), None, tmp_path)
    assert (counts.total, counts.written, counts.updated, counts.rejected) == (30, 29, 29, 1)
    assert rejected.column("sfcrm_row_number").to_pylist() == [4]


def test_upsert_counts_created_and_updated(tmp_path):
    table = pa.table({"ext": [f"E{i}" for i in range(10)], "last": ["L"] * 10, "aud": ["existing"] * 10})
    counts, _ = _export(table, FakeWriter(created_ids={"E1", "E2"}), tmp_path, operation="upsert")
    assert (counts.written, counts.created, counts.updated) == (10, 2, 8)


def test_upsert_dry_run_cannot_tell_created_from_updated(tmp_path):
    table = pa.table({"ext": ["E1", "E2"], "last": ["L", None], "aud": [None, None]})
    counts, rejected = _export(table, None, tmp_path, operation="upsert")
    assert (counts.written, counts.created, counts.updated, counts.rejected) == (1, None, None, 1)
    assert rejected.column("sfcrm_error_code").to_pylist() == ["REQUIRED_FIELD_MISSING"]


def test_a_writer_losing_results_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="returned 0 results for 3 records"):
        _export(_segment(3), lambda records, progress: [], tmp_path)


class LimitedWriter(FakeWriter):
    """Succeeds for ``allowed`` records, then answers like the hook once the daily limit is spent."""

    def __init__(self, allowed: int):
        super().__init__()
        self.allowed = allowed
        self.invocations = 0

    def __call__(self, records, progress):
        self.invocations += 1
        results = []
        for i, _record in enumerate(records):
            if self.allowed > 0:
                self.allowed -= 1
                results.append(RecordResult(i, True, "003X", created=False))
            else:
                results.append(
                    RecordResult.failure(i, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                )
        progress(len(records))
        return results


def test_once_the_daily_limit_is_reached_nothing_more_is_sent(tmp_path):
    writer = LimitedWriter(allowed=300)
    counts, rejected = _export(_segment(1000), writer, tmp_path, chunk_rows=250)
    assert writer.invocations == 2  # the second call met the limit; later chunks were not sent
    assert (counts.written, counts.rejected) == (300, 700)
    assert dict(counts.rejected_by_code) == {"REQUEST_LIMIT_EXCEEDED": 700}
    assert rejected.column("sfcrm_row_number").to_pylist() == list(range(300, 1000))
    assert set(rejected.column("sfcrm_source").to_pylist()) == {"salesforce"}


@pytest.mark.parametrize("writer", [FakeWriter(), None], ids=["real", "dry-run"])
def test_values_that_cannot_be_sent_reject_their_rows_and_nothing_else(tmp_path, writer):
    table = _segment(6).append_column("score", pa.array([1.5, math.inf, math.nan, -math.inf, None, 2.0]))
    table = table.append_column("born", pa.array(["2001-02-03", "2001-02-30", None, "", "x", "1999-12-31"]))
    counts, rejected = _export(table, writer, tmp_path, extra={"score": "Score__c", "born": "Birthdate"})
    by_row = {
        r["sfcrm_row_number"]: (r["sfcrm_error_codes"], r["sfcrm_error_fields"]) for r in rejected.to_pylist()
    }
    assert by_row == {
        1: (["NON_FINITE_NUMBER", "INVALID_TYPE_ON_FIELD_IN_RECORD"], [["Score__c"], ["Birthdate"]]),
        3: (["NON_FINITE_NUMBER"], [["Score__c"]]),
        4: (["INVALID_TYPE_ON_FIELD_IN_RECORD"], [["Birthdate"]]),
    }
    assert (counts.total, counts.written, counts.rejected) == (6, 3, 3)
    if writer is not None:
        assert [(r.get("Score__c"), r.get("Birthdate")) for r in writer.sent] == [
            (1.5, "2001-02-03"),
            (None, None),  # NaN and null leave the fields as they are
            (2.0, "1999-12-31"),
        ]


class LostAnswerWriter(FakeWriter):
    """Upserts whose answer for the keys in ``lost`` came from a resend: ``created`` unknown."""

    def __init__(self, lost, created_ids=()):
        super().__init__(created_ids=created_ids)
        self.lost = set(lost)

    def __call__(self, records, progress):
        results = super().__call__(records, progress)
        return [
            RecordResult(r.index, True, r.id, created=None)
            if records[r.index]["Ext_Id__c"] in self.lost
            else r
            for r in results
        ]


def test_upsert_rows_whose_split_is_unknown_are_counted_and_listed(tmp_path):
    table = pa.table({"ext": [f"E{i}" for i in range(10)], "last": ["L"] * 10, "aud": ["existing"] * 10})
    writer = LostAnswerWriter(lost={"E3", "E4", "E5", "E8"}, created_ids={"E1", "E3"})
    counts, _ = _export(table, writer, tmp_path, operation="upsert", chunk_rows=4)
    assert (counts.written, counts.created, counts.updated, counts.created_or_updated) == (10, 1, 5, 4)
    assert counts.created_or_updated_rows == [[3, 5], [8, 8]]


def test_a_stop_before_the_export_sends_nothing_and_rejects_every_row_as_stopped(tmp_path):
    stop = threading.Event()
    stop.set()
    writer = FakeWriter()
    counts, rejected = _export(_segment(450), writer, tmp_path, stop=stop, chunk_rows=100)
    assert writer.calls == [] and counts.stopped
    assert (counts.total, counts.written, counts.rejected_by_code) == (450, 0, {"TASK_STOPPED": 450})
    assert rejected.column("sfcrm_row_number").to_pylist() == list(range(450))
    assert rejected.column("sfid").to_pylist() == rejected.column("sfcrm_identity").to_pylist()
    assert rejected.column("sfcrm_error_fields").to_pylist() == [[[]]] * 450


class StoppingWriter(FakeWriter):
    """Sets ``stop`` while its first call is in flight, as ``on_kill`` would."""

    def __init__(self, stop):
        super().__init__()
        self.stop = stop

    def __call__(self, records, progress):
        self.stop.set()
        return super().__call__(records, progress)


def test_a_stop_mid_export_keeps_what_was_written_and_rejects_the_rest(tmp_path):
    stop = threading.Event()
    writer = StoppingWriter(stop)
    table = _segment(1000).to_pylist()
    table[900]["sfid"] = None  # never reached: rejected as stopped, not as missing
    counts, rejected = _export(pa.Table.from_pylist(table), writer, tmp_path, stop=stop, chunk_rows=250)
    assert writer.calls == [200] and counts.stopped
    assert (counts.written, counts.rejected_by_code) == (200, {"TASK_STOPPED": 800})
    assert rejected.column("sfcrm_row_number").to_pylist() == list(range(200, 1000))


def test_a_row_filter_sends_only_the_rows_it_selects_and_counts_the_others(tmp_path):
    rows = _segment(40).to_pylist()
    for i, row in enumerate(rows):
        row["score"] = i
    rows[6]["sfid"] = None  # kept by the filter, rejected: missing identity
    rows[35]["sfid"] = None  # filtered out: never checked, not rejected
    table = pa.Table.from_pylist(rows)
    writer = FakeWriter()
    counts, rejected = _export(table, writer, tmp_path, row_filter="score <= 29 AND score NOT IN (3, 4)")
    kept = [i for i in range(40) if i <= 29 and i not in (3, 4)]
    assert [r["Id"] for r in writer.sent] == [contact_id(i) for i in kept if i != 6]
    assert (counts.total, counts.written, counts.rejected, counts.filtered) == (
        40,
        len(kept) - 1,
        1,
        40 - len(kept),
    )
    assert counts.total == counts.written + counts.rejected + counts.filtered
    assert rejected.column("sfcrm_row_number").to_pylist() == [6]
    assert len(writer.calls) == 1


def test_a_filtered_out_row_is_nobodys_duplicate(tmp_path):
    rows = _segment(20).to_pylist()
    for i, row in enumerate(rows):
        row["score"] = i
    rows[15]["sfid"] = contact_id(2)  # a later twin of row 2, but filtered out: row 2 is sent
    rows[12]["sfid"] = contact_id(1)  # a later twin of row 1, kept: row 1 loses
    counts, rejected = _export(pa.Table.from_pylist(rows), FakeWriter(), tmp_path, row_filter="score <> 15")
    assert rejected.to_pylist()[0]["sfcrm_row_number"] == 1
    assert rejected.to_pylist()[0]["sfcrm_error_code"] == "DUPLICATE_IN_SEGMENT"
    assert (counts.total, counts.written, counts.rejected, counts.filtered) == (20, 18, 1, 1)


def test_a_row_filter_in_a_dry_run_counts_like_a_real_run(tmp_path):
    rows = _segment(25).to_pylist()
    for i, row in enumerate(rows):
        row["score"] = i
    dry, _ = _export(pa.Table.from_pylist(rows), None, tmp_path, row_filter="score >= 5")
    assert (dry.total, dry.written, dry.filtered) == (25, 20, 5)
