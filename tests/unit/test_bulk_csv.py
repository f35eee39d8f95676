"""Bulk API 2.0 CSV: records as job data, result CSVs mapped back to the uploaded rows by their values."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from airflow_provider_sfcrm.activation.bulk_csv import (
    BULK_JOB_UNPROCESSED,
    ResultIndex,
    RowEncoder,
    csv_text,
    encode_rows,
    job_results,
    parse_error,
    record_row,
    row_hash,
)
from airflow_provider_sfcrm.activation.json_values import NON_FINITE_NUMBER, UnsendableValueError
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordError


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Ann", "Ann"),
        (None, "#N/A"),
        ("", "#N/A"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1.5, "1.5"),
        (1e20, "100000000000000000000"),
        (dt.date(2026, 11, 30), "2026-11-30"),
        ('say "hi", then\nleave', 'say "hi", then\nleave'),
    ],
)
def test_values_become_bulk_csv_text(value, text):
    assert csv_text(value, "Field__c") == text


def test_a_value_that_cannot_be_sent_names_its_field():
    with pytest.raises(UnsendableValueError, match="'Score__c'") as raised:
        csv_text(float("inf"), "Score__c")
    assert raised.value.code == NON_FINITE_NUMBER


@pytest.mark.parametrize("columns", [None, frozenset(["Id", "FirstName", "Email"])])
def test_a_field_left_out_is_empty_and_an_unknown_field_is_refused(columns):
    header = ["Id", "FirstName", "Email"]
    assert record_row({"Id": "003x", "Email": None}, header, columns) == ["003x", "", "#N/A"]
    with pytest.raises(ValueError, match=r"\['Title'\]"):
        record_row({"Id": "003x", "Title": "Dr"}, header, columns)
    with pytest.raises(ValueError, match=r"\['Account.Ext_Id__c'\]"):
        record_row({"Id": "003x", "Account": {"Ext_Id__c": "A-1"}}, header, columns)


def test_text_subclasses_and_other_plain_values_take_the_general_path():
    class Name(str):
        pass

    header = ["LastName", "Score__c", "Active__c"]
    assert record_row({"LastName": Name("Ng"), "Score__c": 1e21, "Active__c": True}, header) == [
        "Ng",
        "1000000000000000000000",
        "true",
    ]
    assert record_row({"LastName": Name(""), "Score__c": 0.5, "Active__c": None}, header) == [
        "#N/A",
        "0.5",
        "#N/A",
    ]


def test_a_parent_set_by_its_external_id_is_its_relationship_column():
    header = ["LastName", "Account.Ext_Id__c"]
    record = {"LastName": "Ng", "Account": {"attributes": {"type": "Account"}, "Ext_Id__c": "A-1"}}
    assert record_row(record, header) == ["Ng", "A-1"]
    assert record_row({"LastName": "Li", "Account": {"Ext_Id__c": None}}, header) == ["Li", "#N/A"]


def test_rows_are_encoded_with_quotes_only_where_needed():
    data = encode_rows(["Id", "LastName"], [["003a", "Doe"], ["003b", 'O"Neil, Jr']])
    assert data == b'Id,LastName\n003a,Doe\n003b,"O""Neil, Jr"\n'
    encode_row = RowEncoder()  # one row at a time, the same bytes, one writer for all
    rows = [["003b", 'O"Neil, Jr'], ["003c", "two\nlines"], ["003a", "Doe"]]
    assert [encode_row(row) for row in rows] == [encode_rows([], [row]) for row in rows]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --",
            RecordError("INVALID_EMAIL_ADDRESS", "Email: invalid email address: x", ("Email",)),
        ),
        ("ENTITY_IS_DELETED:entity is deleted:--", RecordError("ENTITY_IS_DELETED", "entity is deleted", ())),
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName Company --",
            RecordError(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ("LastName", "Company")
            ),
        ),
        ("SOMETHING odd", RecordError("SOMETHING odd", "", ())),
        ("", RecordError("UNKNOWN_ERROR", "", ())),
    ],
)
def test_sf_error_is_parsed_into_code_message_and_fields(text, error):
    assert parse_error(text) == error


def _result_csv(own: list[str], header: list[str], rows: list[tuple[list[str], list[str]]]) -> bytes:
    quoted = lambda values: ",".join('"' + v.replace('"', '""') + '"' for v in values)  # noqa: E731
    lines = [quoted(own) + "," + ",".join(header)] + [quoted(mine + values) for mine, values in rows]
    return ("\n".join(lines) + "\n").encode()


def test_results_find_their_rows_whatever_their_order():
    header = ["Id", "LastName"]
    uploaded = [[f"003{i:015d}", f"Name {i}, the {i}th"] for i in range(500)]
    hashes = np.array([row_hash(values) for values in uploaded], np.int64)
    failed_at = set(random.Random(1).sample(range(500), 40))
    unprocessed_at = {n for n in range(500) if n % 97 == 5} - failed_at
    missing_at = 499 if 499 not in failed_at | unprocessed_at else 498
    done = [n for n in range(500) if n not in failed_at | unprocessed_at | {missing_at}]
    random.Random(2).shuffle(done)
    successful = _result_csv(
        ["sf__Id", "sf__Created"], header, [([uploaded[n][0], "false"], uploaded[n]) for n in done]
    )
    failed = _result_csv(
        ["sf__Id", "sf__Error"],
        header,
        [
            (["", "ENTITY_IS_DELETED:entity is deleted:--"], uploaded[n])
            for n in sorted(failed_at, reverse=True)
        ],
    )
    unprocessed = encode_rows(header, [uploaded[n] for n in sorted(unprocessed_at)])

    results = job_results(
        ResultIndex(hashes),
        500,
        successful=successful,
        failed=failed,
        unprocessed=unprocessed,
        columns=2,
        job_note="job 750x ended Failed: out of batches",
    )

    assert [r.index for r in results] == list(range(500))
    for n, result in enumerate(results):
        if n in failed_at:
            assert result.status_codes == ("ENTITY_IS_DELETED",) and not result.success
        elif n in unprocessed_at:
            assert result.status_codes == (BULK_JOB_UNPROCESSED,)
            assert "job 750x ended Failed: out of batches" in result.errors[0].message
        elif n == missing_at:
            assert result.status_codes == (UNKNOWN_OUTCOME,)
        else:
            assert result.success and result.id == uploaded[n][0] and result.created is False


def test_identical_rows_each_get_one_result():
    header = ["LastName"]
    uploaded = [["Same"], ["Same"], ["Other"], ["Same"]]
    index = ResultIndex(np.array([row_hash(v) for v in uploaded], np.int64))
    successful = _result_csv(
        ["sf__Id", "sf__Created"], header, [(["003a", "true"], ["Same"]), (["003b", "true"], ["Same"])]
    )
    failed = _result_csv(["sf__Id", "sf__Error"], header, [(["", "X:y:--"], ["Same"])])
    results = job_results(
        index, 4, successful=successful, failed=failed, unprocessed=b"LastName\n", columns=1, job_note="n"
    )
    assert [(r.success, r.id) for r in results] == [
        (True, "003a"),
        (True, "003b"),
        (False, None),
        (False, None),
    ]
    assert results[2].status_codes == (UNKNOWN_OUTCOME,) and results[3].status_codes == ("X",)
