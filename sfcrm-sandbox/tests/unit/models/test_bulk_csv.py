"""The Bulk APIs' CSV: dialects, line endings, the rows' width, empty and null values, quoting."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.bulk_csv import DELIMITERS, CsvFormat, CsvRejected, read_csv, record_of


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.mark.parametrize("name", sorted(DELIMITERS))
def test_every_delimiter_reads_and_writes(name):
    fmt = CsvFormat(name, "LF")
    d = DELIMITERS[name]
    data = read_csv(lines(f"LastName{d}Title\nSmith{d}Boss\n"), fmt)
    assert data.header == ["LastName", "Title"]
    assert list(data.rows) == [["Smith", "Boss"]]
    written = fmt.row(["a", f"b{d}c"])
    assert written == f'"a"{d}"b{d}c"\n'


def test_quoted_values_keep_delimiters_quotes_and_newlines():
    data = read_csv(lines('LastName,Description\n"Smith, Jr.","said ""hi""\nthen left"\n'), CsvFormat())
    assert list(data.rows) == [["Smith, Jr.", 'said "hi"\nthen left']]


@pytest.mark.parametrize(("setting", "text"), [("LF", "A,B\r\n1,2\r\n"), ("CRLF", "A,B\n1,2\n")])
def test_line_endings_other_than_the_jobs_are_refused(setting, text):
    with pytest.raises(
        CsvRejected, match=f"LineEnding is invalid on user data. Current LineEnding setting is {setting}"
    ):
        read_csv(lines(text), CsvFormat("COMMA", setting))


def test_crlf_data_reads_under_crlf_and_writes_crlf():
    fmt = CsvFormat("COMMA", "CRLF")
    data = read_csv(lines("A,B\r\n1,2\r\n3,4\r\n"), fmt)
    assert list(data.rows) == [["1", "2"], ["3", "4"]]
    assert fmt.row(["x"]) == '"x"\r\n'


def test_a_row_of_another_width_is_refused_when_reached_and_blank_lines_are_skipped():
    data = read_csv(lines("A,B\n1,2\n\n3\n"), CsvFormat())
    rows = data.rows
    assert next(rows) == ["1", "2"]
    with pytest.raises(CsvRejected, match="Row 4 has 1 values, the header has 2"):
        next(rows)


def test_a_byte_order_mark_and_an_empty_header():
    assert read_csv(lines("\ufeffLastName\nX\n"), CsvFormat()).header == ["LastName"]
    with pytest.raises(CsvRejected, match="header"):
        read_csv([], CsvFormat())


def test_empty_values_are_left_out_and_na_is_null():
    assert record_of(["LastName", "Title", "Email"], ["Smith", "", "#N/A"]) == {
        "LastName": "Smith",
        "Email": None,
    }
