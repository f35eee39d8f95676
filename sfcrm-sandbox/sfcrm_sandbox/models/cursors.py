"""Query results waiting for their next page (``nextRecordsUrl``), in a bounded cache.

Salesforce keeps a query's remaining rows behind a locator; the sandbox keeps at most a few
million rows of them, oldest dropped first, so memory does not grow with the number of queries.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class Cursor:
    rows: list[dict[str, Any]]
    sobject: str
    resource: str
    tooling: bool
    hidden_id: bool = False
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
