"""BulkSpool: records become CSV parts within the upload limit; conclude() counts and merges the rejects."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.activation.bulk_csv import row_hash
from airflow_provider_sfcrm.activation.bulk_spool import (
    CLIENT_REJECTED,
    BulkSpool,
    BulkSpoolExport,
    conclude,
    conclude_sections,
    job_columns,
    part_data,
    part_hashes,
    read_manifest,
)
from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
from airflow_provider_sfcrm.activation.report import RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import RecordError, RecordResult
from airflow_provider_sfcrm.activation.row_filter import compile_filter
from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
from airflow_provider_sfcrm.activation.segment import ExportCounts, SegmentExport
from tests.unit._export_describe import describe
from tests.unit.test_export_segment import FakeWriter, TableSource, _segment, contact_id

SCHEMA = pa.schema([("ext", pa.string()), ("last", pa.string()), ("score", pa.float64())])


def _mapping():
    return build_mapping(
        sobject="Contact",
        operation="upsert",
        field_mapping={"ext": "Ext_Id__c", "last": "LastName", "score": "Score__c"},
        audiences={"aud": "crm_1_seg"},
        status_values={},
        external_id_field="Ext_Id__c",
    )


def test_the_header_is_identity_fields_then_audience_fields():
    assert job_columns(_mapping()) == ["Ext_Id__c", "LastName", "Score__c", "crm_1_seg__c"]


def test_records_are_split_into_parts_and_unsendable_ones_fail_at_once(tmp_path):
    header = ["Ext_Id__c", "LastName", "Score__c"]
    spool = BulkSpool(tmp_path, header, max_part_bytes=60)
    progress = []
    records = [{"Ext_Id__c": f"E{i}", "LastName": f"Name{i}", "Score__c": i / 2} for i in range(6)]
    records[3]["Score__c"] = float("nan")
    results = spool.write(records, progress.append)
    assert [r.success for r in results] == [True, True, True, False, True, True]
    assert results[3].status_codes == ("NON_FINITE_NUMBER",) and results[3].errors[0].fields == ("Score__c",)
    assert progress == [6]
    kept = [n for n in range(6) if n != 3]
    spool.keep(
        pa.Table.from_pylist([{"ext": f"E{n}", "last": "x", "score": 0.0} for n in kept], SCHEMA), kept
    )
    manifest = spool.finish(ExportCounts(total=7, rejected=2, rejected_by_code=Counter({"X": 2})))

    assert manifest.part_rows == [2, 2, 1]  # 27 header bytes + 16 per row: two rows per 60-byte part
    assert read_manifest(tmp_path) == manifest
    assert part_data(tmp_path, 0) == b"Ext_Id__c,LastName,Score__c\nE0,Name0,0.0\nE1,Name1,0.5\n"
    assert part_data(tmp_path, 2) == b"Ext_Id__c,LastName,Score__c\nE5,Name5,2.5\n"
    assert list(part_hashes(tmp_path, 1)) == [
        row_hash(["E2", "Name2", "1.0"]),
        row_hash(["E4", "Name4", "2.0"]),
    ]


def test_conclude_counts_the_results_and_merges_both_kinds_of_rejects_by_row(tmp_path):
    mapping = _mapping()
    spool = BulkSpool(tmp_path, job_columns(mapping), max_part_bytes=10_000)
    rows = [0, 2, 3, 5]
    spool.write([{"Ext_Id__c": f"E{n}", "LastName": "L"} for n in rows], lambda n: None)
    sent = pa.Table.from_pylist([{"ext": f"E{n}", "last": "L", "score": float(n)} for n in rows], SCHEMA)
    spool.keep(sent, rows)
    with RejectedRowsWriter(str(tmp_path / CLIENT_REJECTED), SCHEMA) as client:
        client.write(
            pa.Table.from_pylist([{"ext": "E1", "last": None, "score": 1.0}], SCHEMA),
            [1],
            ["E1"],
            [[RecordError("REQUIRED_FIELD_MISSING", "LastName")]],
            "client",
        )
    manifest = spool.finish(
        ExportCounts(total=6, rejected=1, rejected_by_code=Counter({"REQUIRED_FIELD_MISSING": 1}))
    )
    results = [
        RecordResult(0, True, id="003a", created=True),
        RecordResult(1, False, errors=(RecordError("DUPLICATE_VALUE", "dup", ("Ext_Id__c",)),)),
        RecordResult(2, True, id="003b", created=False),
        RecordResult(3, True, id="003c", created=None),
    ]

    counts = conclude(tmp_path, manifest, results, mapping, str(tmp_path / "rejected.parquet"))

    assert (counts.total, counts.written, counts.created, counts.updated, counts.created_or_updated) == (
        6,
        3,
        1,
        1,
        1,
    )
    assert counts.created_or_updated_rows == [[5, 5]]
    assert counts.rejected == 2 and counts.rejected_by_code == {
        "REQUIRED_FIELD_MISSING": 1,
        "DUPLICATE_VALUE": 1,
    }
    rejected = pq.read_table(tmp_path / "rejected.parquet").to_pylist()
    assert [
        (r["sfcrm_row_number"], r["sfcrm_error_code"], r["sfcrm_source"], r["score"]) for r in rejected
    ] == [
        (1, "REQUIRED_FIELD_MISSING", "client", 1.0),
        (2, "DUPLICATE_VALUE", "salesforce", 2.0),
    ]
    assert rejected[1]["sfcrm_identity"] == "E2" and rejected[1]["sfcrm_error_fields"] == [["Ext_Id__c"]]


def test_conclude_sections_counts_each_section_by_its_operation_and_keeps_the_plan_counts(tmp_path):
    mapping = _mapping()
    sections = []
    for operation, rows in (("update", [None, 4]), ("upsert", [0, 1])):  # None: a vanished person
        directory = tmp_path / operation
        directory.mkdir()
        spool = BulkSpool(directory, job_columns(mapping), max_part_bytes=10_000)
        names = [f"E{n}" if n is not None else "gone" for n in rows]
        spool.write([{"Ext_Id__c": name, "LastName": "L"} for name in names], lambda n: None)
        table = pa.Table.from_pylist([{"ext": name, "last": "L", "score": 1.0} for name in names], SCHEMA)
        spool.keep(table, rows)
        spool.finish(ExportCounts())
        sections.append(directory)
    with RejectedRowsWriter(str(tmp_path / CLIENT_REJECTED), SCHEMA):
        pass
    counts = ExportCounts(total=8, unchanged=3, stale=1, vanished=1)
    manifest = spool.finish(counts)
    manifest = dataclasses.replace(manifest, part_rows=[2, 2])
    refused = RecordResult(0, False, errors=(RecordError("ENTITY_IS_DELETED", "deleted"),))
    results = [
        (sections[0], "update", [refused, RecordResult(1, True)]),
        (sections[1], "upsert", [RecordResult(0, True, created=True), RecordResult(1, True, created=False)]),
    ]

    counts = conclude_sections(tmp_path, manifest, results, mapping, str(tmp_path / "rejected.parquet"))

    assert (counts.written, counts.created, counts.updated, counts.rejected) == (3, 1, 2, 1)
    assert (counts.unchanged, counts.stale, counts.vanished) == (3, 1, 1)
    assert counts.total == counts.written + counts.rejected + counts.unchanged + counts.stale
    rejected = pq.read_table(tmp_path / "rejected.parquet").to_pylist()
    assert [(r["sfcrm_row_number"], r["sfcrm_identity"], r["sfcrm_error_code"]) for r in rejected] == [
        (None, "gone", "ENTITY_IS_DELETED")
    ]


def _chosen_export(
    table, tmp_path, *, choose=None, write=None, row_filter=None, operation="update", plain=False
):
    """A :class:`BulkSpoolExport` run (``plain``: a :class:`SegmentExport`, the REST path's): its
    counts, rejected rows and spool directory."""
    field_mapping = {"sfid": "Id", "last": "LastName"} if operation == "update" else {"last": "LastName"}
    mapping = check_mapping_against_describe(
        build_mapping(
            sobject="Contact",
            operation=operation,
            field_mapping=field_mapping,
            audiences={"aud": "crm_1_seg"},
        ),
        describe(),
    )
    directory = tmp_path / "spool"
    directory.mkdir()
    options = dict(
        batch_size=200, row_filter=compile_filter(row_filter, table.schema) if row_filter else None
    )
    with RejectedRowsWriter(str(tmp_path / "rejected.parquet"), table.schema) as rejected:
        source, rules = TableSource(table, 7), rules_from_describe(mapping, describe())
        if plain:
            counts = SegmentExport(source, rules, rejected, write=write, **options).run()
        else:
            spool = BulkSpool(directory, job_columns(mapping), max_part_bytes=10_000)
            export = BulkSpoolExport(
                source, rules, rejected, spool=spool, write=write, choose=choose, **options
            )
            counts = export.run()
    return counts, pq.read_table(tmp_path / "rejected.parquet"), directory


def _filtered_with_duplicates() -> pa.Table:
    """40 rows; the filter ``score <> 15 AND score < 38`` selects 37 of them, 2 of which lose to a
    later twin (rows 1 and 20) and one has no identity (row 6: a reject the second pass finds)."""
    rows = _segment(40).to_pylist()
    for i, row in enumerate(rows):
        row["score"] = i
    rows[6]["sfid"] = None
    rows[12]["sfid"] = contact_id(1)  # row 1 loses to row 12
    rows[15]["sfid"] = contact_id(2)  # filtered out: row 2 loses to nobody
    rows[21]["sfid"] = contact_id(20)  # row 20 loses to row 21
    return pa.Table.from_pylist(rows)


FILTER = "score <> 15 AND score < 38"


@pytest.mark.parametrize("spool", [False, True])
def test_choose_is_asked_once_with_the_rows_the_first_pass_found_to_send(tmp_path, spool):
    asked = []
    writer = FakeWriter()

    def choose(rows_to_send, segment_rows):
        asked.append((rows_to_send, segment_rows))
        return spool

    counts, _, directory = _chosen_export(
        _filtered_with_duplicates(), tmp_path, choose=choose, write=writer, row_filter=FILTER
    )

    assert asked == [(37 - 2, 40)]  # selected, less the duplicates; row 6 counted all the same
    assert (counts.total, counts.filtered, counts.rejected) == (40, 3, 3)
    if spool:  # spooled: the writer is never called, the rows wait for the jobs' results
        assert writer.calls == [] and counts.written == 0
        assert sorted(path.name for path in directory.iterdir()) == ["part-0.csv", "sent.parquet"]
    else:  # nothing spooled: the rows went to the writer and are counted as answered
        assert len(writer.sent) == counts.written == 34
        assert list(directory.iterdir()) == []


def test_a_run_choose_sends_over_rest_is_the_rest_export(tmp_path):
    table = _filtered_with_duplicates()
    (tmp_path / "rest").mkdir()
    (tmp_path / "chosen").mkdir()
    rest_writer, chosen_writer = FakeWriter(deleted={contact_id(30)}), FakeWriter(deleted={contact_id(30)})
    rest = _chosen_export(table, tmp_path / "rest", plain=True, write=rest_writer, row_filter=FILTER)
    chosen = _chosen_export(
        table, tmp_path / "chosen", choose=lambda *_: False, write=chosen_writer, row_filter=FILTER
    )

    assert chosen[0] == rest[0]  # every count, created/updated included
    assert chosen[1].equals(rest[1])  # the same rejected rows, Salesforce's refusal among them
    assert chosen[1].column("sfcrm_error_code").to_pylist().count("ENTITY_IS_DELETED") == 1
    assert (chosen_writer.sent, chosen_writer.calls) == (rest_writer.sent, rest_writer.calls)


def test_without_an_identity_the_rows_to_send_are_those_the_filter_selects(tmp_path):
    table = _segment(10).append_column("score", pa.array(range(10)))
    asked = []
    counts, _, _ = _chosen_export(
        table,
        tmp_path,
        choose=lambda *counted: asked.append(counted) or False,
        write=FakeWriter(),
        row_filter="score >= 4",
        operation="insert",
    )
    assert asked == [(6, 10)]
    assert (counts.written, counts.filtered) == (6, 4)


def test_choose_needs_the_writer_that_sends_the_rows_it_does_not_spool(tmp_path):
    with pytest.raises(ValueError, match="choose needs the writer"):
        _chosen_export(_segment(3), tmp_path, choose=lambda *_: False)
