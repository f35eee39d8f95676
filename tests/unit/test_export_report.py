"""The rejected-rows file and the summary arithmetic."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.activation.report import ExportSummary, RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import RecordError

SOURCE = pa.schema([("sfid", pa.string()), ("n", pa.int64()), ("sfcrm_error_code", pa.string())])


def test_rejected_file_schema_and_rows(tmp_path):
    path = tmp_path / "rejected.parquet"
    rows = pa.table({"sfid": ["003A", None], "n": [1, 2], "sfcrm_error_code": ["OLD", "OLD"]}, schema=SOURCE)
    with RejectedRowsWriter(str(path), SOURCE) as writer:
        writer.write(
            rows,
            [7, 9],
            ["003A", None],
            [
                [RecordError("ENTITY_IS_DELETED", "entity is deleted")],
                [
                    RecordError("MISSING_IDENTITY", "no Id", ("Id",)),
                    RecordError("INVALID_STATUS", "bad", ("crm_1_seg__c",)),
                ],
            ],
            ["salesforce", "client"],
        )
    table = pq.read_table(path)
    assert table.schema.names == [
        "sfcrm_row_number",
        "sfcrm_identity",
        "sfcrm_error_code",
        "sfcrm_error_codes",
        "sfcrm_error_messages",
        "sfcrm_error_fields",
        "sfcrm_source",
        "sfid",
        "n",
    ]
    assert table.to_pylist() == [
        {
            "sfcrm_row_number": 7,
            "sfcrm_identity": "003A",
            "sfcrm_error_code": "ENTITY_IS_DELETED",
            "sfcrm_error_codes": ["ENTITY_IS_DELETED"],
            "sfcrm_error_messages": ["entity is deleted"],
            "sfcrm_error_fields": [[]],
            "sfcrm_source": "salesforce",
            "sfid": "003A",
            "n": 1,
        },
        {
            "sfcrm_row_number": 9,
            "sfcrm_identity": None,
            "sfcrm_error_code": "MISSING_IDENTITY",
            "sfcrm_error_codes": ["MISSING_IDENTITY", "INVALID_STATUS"],
            "sfcrm_error_messages": ["no Id", "bad"],
            "sfcrm_error_fields": [["Id"], ["crm_1_seg__c"]],
            "sfcrm_source": "client",
            "sfid": None,
            "n": 2,
        },
    ]
    assert writer.rejected == 2 and dict(writer.by_code) == {"ENTITY_IS_DELETED": 1, "MISSING_IDENTITY": 1}


def test_an_export_without_rejections_still_leaves_a_readable_file(tmp_path):
    path = tmp_path / "none.parquet"
    RejectedRowsWriter(str(path), SOURCE).close()
    assert pq.read_table(path).num_rows == 0


def test_rows_without_errors_are_refused(tmp_path):
    writer = RejectedRowsWriter(str(tmp_path / "x.parquet"), SOURCE)
    with pytest.raises(ValueError, match="at least one error"):
        writer.write(
            pa.table({"sfid": ["a"], "n": [1], "sfcrm_error_code": [None]}, schema=SOURCE),
            [0],
            ["a"],
            [[]],
            "client",
        )


def _summary(**overrides):
    values = dict(
        sobject="Contact",
        operation="update",
        total=10,
        written=7,
        created=0,
        updated=7,
        rejected=3,
        rejected_by_code={"MALFORMED_ID": 2, "ENTITY_IS_DELETED": 1},
        rejected_rows_path="/r.parquet",
    )
    values.update(overrides)
    return ExportSummary(**values)


def test_summary_adds_up_and_has_the_documented_keys():
    summary = _summary()
    assert list(summary.to_dict()) == [
        "sobject",
        "operation",
        "total",
        "written",
        "created",
        "updated",
        "created_or_updated",
        "created_or_updated_rows",
        "rejected",
        "rejected_by_code",
        "unchanged",
        "stale",
        "vanished",
        "filtered",
        "api_calls",
        "api_usage",
        "duration_s",
        "rejected_rows_path",
        "dry_run",
        "stopped",
        "sync_state",
        "as_of",
        "full_resync",
        "stale_rows_path",
        "api",
    ]
    assert summary.rejected_ratio == pytest.approx(0.3)
    message = summary.rejected_message(0.1)
    assert "3 of 10 rows (30.00%)" in message and "ENTITY_IS_DELETED=1, MALFORMED_ID=2" in message
    assert "/r.parquet" in message


@pytest.mark.parametrize(
    "overrides",
    [
        {"written": 8},
        {"rejected_by_code": {"MALFORMED_ID": 1}},
        {"unchanged": 1},
        {"stale": 2},
        {"filtered": 1},
    ],
)
def test_summary_that_does_not_add_up_is_a_bug(overrides):
    with pytest.raises(AssertionError):
        _summary(**overrides)


def test_progress_logs_counts_rate_and_eta_every_interval():
    now = [0.0]
    lines = []
    progress = ProgressReporter(
        1000, lambda fmt, *args: lines.append(fmt % args), interval_s=5, clock=lambda: now[0]
    )
    progress.advance(100)
    now[0] = 6.0
    progress.advance(200)
    now[0] = 7.0
    progress.advance(100)
    progress.finish()
    assert lines == [
        "Progress: 300 of 1000 rows (30.0%), 50 rows/s, ETA 0m14s",
        "Progress: 400 of 1000 rows (40.0%), 57 rows/s, ETA 0m10s",
    ]


def test_filtered_rows_count_in_the_total():
    summary = _summary(total=15, filtered=5)
    assert summary.total == summary.written + summary.rejected + summary.filtered
