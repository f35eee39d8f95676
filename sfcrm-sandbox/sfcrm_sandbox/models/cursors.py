"""Query results waiting for their next page (``nextRecordsUrl``), in a bounded cache.

Salesforce keeps a query's remaining rows behind a locator; the sandbox keeps at most a few
million rows of them, oldest dropped first, so memory does not grow with the number of queries.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000
#: Selecting two or more custom long text areas caps a page at 200 records.
LONG_TEXT_BATCH = 200


def batch_size(query_options: str | None, long_text_fields: int = 0) -> int:
    """Records per page for a ``Sforce-Query-Options`` header (``batchSize=500``).

    Salesforce takes 200 to 2,000 (default 2,000) and does not promise the size asked for: the
    sandbox brings an out-of-range value into that range and ignores one that is not a number
    (UNVERIFIED: what Salesforce does with those). Two or more custom long text areas selected
    cap a page at 200.
    """
    size = DEFAULT_BATCH
    for option in (query_options or "").replace(";", ",").split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize":
            try:
                size = min(MAX_BATCH, max(MIN_BATCH, int(value.strip())))
            except ValueError:
                size = DEFAULT_BATCH
    return min(size, LONG_TEXT_BATCH) if long_text_fields >= 2 else size


@dataclass
class Cursor:
    """A query's result and how to page it (``batch`` records per page)."""

    rows: list[dict[str, Any]]
    sobject: str
    resource: str
    tooling: bool
    hidden_id: bool = False
    batch: int = DEFAULT_BATCH
    nested: bool = False  # rows hold parent records (paths such as Account.Name were selected)


class QueryCursors:
    """Results waiting for their next page; oldest dropped beyond ``max_cursors`` / ``max_rows``.

    A cursor is dropped as soon as its last page has been served.
    """

    def __init__(self, max_cursors: int = 16, max_rows: int = 3_000_000) -> None:
        self.max_cursors = max_cursors
        self.max_rows = max_rows
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()

    def add(self, cursor: Cursor) -> str:
        locator = "01g" + secrets.token_hex(8)[:15]
        self._cursors[locator] = cursor
        while len(self._cursors) > 1 and (
            len(self._cursors) > self.max_cursors
            or sum(len(c.rows) for c in self._cursors.values()) > self.max_rows
        ):
            self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str) -> Cursor | None:
        return self._cursors.get(locator)

    def drop(self, locator: str) -> None:
        self._cursors.pop(locator, None)

    def clear(self) -> None:
        self._cursors.clear()
