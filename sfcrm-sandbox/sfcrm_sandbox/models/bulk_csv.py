"""The CSV the Bulk APIs read and write (``docs/salesforce-facts.md``, "Bulk APIs").

A job names its column delimiter (``COMMA``, ``TAB``, ``PIPE``, ``SEMICOLON``, ``CARET``,
``BACKQUOTE``) and line ending (``LF``, ``CRLF``); uploaded data whose lines end otherwise fails
the job ("LineEnding is invalid on user data"). The first row names the fields. An empty value
leaves the field as it is (unset on insert), ``#N/A`` sets it to null. Salesforce writes results
and query rows with every value quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
#: The value that sets a field to null (an empty value leaves the field unchanged).
NULL_VALUE = "#N/A"
_BOM = "\ufeff"


class CsvRejected(Exception):
    """Uploaded CSV Salesforce refuses as a whole; ``message`` is the job's or batch's error message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CsvFormat:
    """A job's CSV dialect.

    :param delimiter_name: ``COMMA`` ... ``BACKQUOTE``.
    :param line_ending_name: ``LF`` or ``CRLF``.
    """

    delimiter_name: str = "COMMA"
    line_ending_name: str = "LF"

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.delimiter_name]

    @property
    def line_ending(self) -> str:
        return LINE_ENDINGS[self.line_ending_name]

    def row(self, values: Iterable[Any]) -> str:
        """One line, every value quoted, ended by the job's line ending (how Salesforce writes results)."""
        buffer = io.StringIO()
        csv.writer(
            buffer, delimiter=self.delimiter, lineterminator=self.line_ending, quoting=csv.QUOTE_ALL
        ).writerow(values)
        return buffer.getvalue()

    def check_line_ending(self, text: str) -> None:
        """Refuse data whose first line does not end with the job's line ending."""
        end = text.find("\n")
        if end < 0:
            return
        crlf = end > 0 and text[end - 1] == "\r"
        if crlf != (self.line_ending_name == "CRLF"):
            # Salesforce's message (observed), naming the job's setting.
            raise CsvRejected(
                f"ClientInputError : LineEnding is invalid on user data. "
                f"Current LineEnding setting is {self.line_ending_name}"
            )


@dataclass
class CsvData:
    """Uploaded CSV being read: its header line as sent, the field names, then the rows.

    :param header_line: the first line without its line ending (results repeat it as sent).
    :param header: the column names.
    :param rows: the remaining rows, read lazily; a row whose width differs from the header's
        raises :class:`CsvRejected` when reached.
    """

    header_line: str
    header: list[str]
    rows: Iterator[list[str]]


def read_csv(lines: Iterable[str], fmt: CsvFormat, *, strict_line_ending: bool = True) -> CsvData:
    """Parse uploaded CSV (``lines`` as from a text file opened with ``newline=""``).

    :param strict_line_ending: refuse lines that do not end as ``fmt`` says (Bulk API 2.0 does;
        Bulk API 1.0 takes either).
    """
    lines = iter(lines)
    first = next(lines, "")
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    if strict_line_ending:
        fmt.check_line_ending(first)
    header_line = first.rstrip("\r\n")
    header = next(csv.reader([header_line], delimiter=fmt.delimiter), [])
    if not header or not any(name.strip() for name in header):
        raise CsvRejected("InvalidBatch : The header row is empty")
    reader = csv.reader(lines, delimiter=fmt.delimiter)

    def rows() -> Iterator[list[str]]:
        for number, row in enumerate(reader, start=2):
            if not row:
                continue  # blank lines, such as a final one
            if len(row) != len(header):
                # UNVERIFIED wording: Salesforce fails the batch on a row of another width.
                raise CsvRejected(
                    f"InvalidBatch : Row {number} has {len(row)} values, the header has {len(header)}"
                )
            yield row

    return CsvData(header_line, [name.strip() for name in header], rows())


def record_of(header: list[str], row: list[str]) -> dict[str, Any]:
    """The record a row describes: empty values left out, ``#N/A`` as null."""
    return {
        name: (None if value == NULL_VALUE else value)
        for name, value in zip(header, row, strict=True)
        if value != ""
    }
