"""SOQL resources: ``query``, ``queryAll``, ``tooling/query`` and ``nextRecordsUrl`` paging.

Parsing and evaluation live in :mod:`soql`; this module feeds it the org's rows (streamed from
SQLite, unset fields read as null), adds the ``attributes`` Salesforce puts on every record, and
pages results 2,000 rows at a time. Results longer than a page are kept for their
``nextRecordsUrl`` in a bounded cache, so memory does not grow with the number of queries.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from sfcrm_sandbox.protocol import Call, Reply, api_error
from sfcrm_sandbox.soql import FieldInfo, SoqlError, execute, parse
from sfcrm_sandbox.store import OrgStore

QUERY_PAGE = 2000
# Tooling ``CustomField`` columns the sandbox can answer, with their describe types.
_CUSTOM_FIELD_COLUMNS = {
    "Id": "id",
    "DeveloperName": "string",
    "TableEnumOrId": "string",
    "FullName": "string",
    "NamespacePrefix": "string",
    "ManageableState": "string",
    "CreatedDate": "datetime",
    "CreatedById": "reference",
    "LastModifiedDate": "datetime",
    "LastModifiedById": "reference",
}


def record_url(version: str, sobject: str, record_id: str | None, tooling: bool = False) -> str:
    prefix = "tooling/" if tooling else ""
    return f"/services/data/v{version}/{prefix}sobjects/{sobject}/{record_id}"


@dataclass
class _Cursor:
    rows: list[dict[str, Any]]
    sobject: str
    resource: str
    tooling: bool
    hidden_id: bool = False


class QueryCursors:
    """Results waiting for their next page; oldest dropped beyond ``max_cursors`` / ``max_rows``.

    A cursor is dropped as soon as its last page has been served.
    """

    def __init__(self, max_cursors: int = 16, max_rows: int = 3_000_000) -> None:
        self.max_cursors = max_cursors
        self.max_rows = max_rows
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    def add(self, cursor: _Cursor) -> str:
        locator = "01g" + secrets.token_hex(8)[:15]
        self._cursors[locator] = cursor
        while len(self._cursors) > 1 and (
            len(self._cursors) > self.max_cursors
            or sum(len(c.rows) for c in self._cursors.values()) > self.max_rows
        ):
            self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str) -> _Cursor | None:
        return self._cursors.get(locator)

    def drop(self, locator: str) -> None:
        self._cursors.pop(locator, None)

    def clear(self) -> None:
        self._cursors.clear()


class SoqlResource:
    """Answers SOQL requests against one org.

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store
        self.cursors = QueryCursors()

    def run(self, call: Call, *, include_deleted: bool, tooling: bool = False) -> Reply:
        soql = call.query.get("q")
        if not soql:
            return api_error(400, "MALFORMED_QUERY", "A query string (q) is required")
        try:
            parsed = parse(soql)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if tooling:
            if parsed.sobject.lower() != "customfield":
                return api_error(400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported.")
            sobject = "CustomField"
            infos = {name.lower(): FieldInfo(name, kind) for name, kind in _CUSTOM_FIELD_COLUMNS.items()}
            rows: Any = self.store.custom_field_rows()
        else:
            spec = self.store.object_spec(parsed.sobject)
            if spec is None:
                return api_error(
                    400,
                    "INVALID_TYPE",
                    f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a "
                    "custom object, be sure to append the '__c' after the entity name.",
                )
            sobject = spec.name
            infos = {
                lower: FieldInfo(f.name, f.type, filterable=f.filterable, sortable=f.sortable)
                for lower, (f, _) in self.store.visible_fields(sobject).items()
            }
            # The engine reads fields with .get(): a field the stored record leaves unset reads as null.
            rows = self.store.stream(sobject, include_deleted=include_deleted)
        hidden_id = not parsed.is_count and "id" not in {name.lower() for name in parsed.fields}
        if hidden_id:
            # Salesforce puts every record's url in its attributes, Id selected or not: select it
            # quietly and take it out again when building the page.
            parsed = replace(
                parsed, fields=(*parsed.fields, "Id"), field_positions=(*parsed.field_positions, 0)
            )
        try:
            # Synchronous on the event loop: the row stream cannot interleave with a write.
            result = execute(parsed, rows, infos)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if isinstance(result, int):
            return Reply(200, self._body(call, _Cursor([], sobject, "", tooling), result, [], None))
        resource = "tooling/query" if tooling else ("queryAll" if include_deleted else "query")
        return self._page(call, _Cursor(result, sobject, resource, tooling, hidden_id), 0, None)

    def more(self, call: Call) -> Reply:
        locator, _, start = call.params["locator"].partition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not start.isdigit():
            return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(call, cursor, int(start), locator)

    def _page(self, call: Call, cursor: _Cursor, start: int, locator: str | None) -> Reply:
        end = start + QUERY_PAGE
        page = [self._with_attributes(call, cursor, row) for row in cursor.rows[start:end]]
        next_url = None
        if end < len(cursor.rows):
            if locator is None:
                locator = self.cursors.add(cursor)
            next_url = f"/services/data/v{call.version}/{cursor.resource}/{locator}-{end}"
        elif locator is not None:
            self.cursors.drop(locator)
        return Reply(200, self._body(call, cursor, len(cursor.rows), page, next_url))

    @staticmethod
    def _with_attributes(call: Call, cursor: _Cursor, row: dict[str, Any]) -> dict[str, Any]:
        attributes = {"type": cursor.sobject}
        if row.get("Id"):
            attributes["url"] = record_url(call.version, cursor.sobject, row["Id"], cursor.tooling)
        record = {"attributes": attributes, **row}
        if cursor.hidden_id:
            del record["Id"]
        return record

    @staticmethod
    def _body(
        call: Call, cursor: _Cursor, total: int, page: list[dict[str, Any]], next_url: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"totalSize": total, "done": next_url is None}
        if next_url:
            body["nextRecordsUrl"] = next_url
        if cursor.tooling:
            body = {"size": total, **body, "queryLocator": None, "entityTypeName": cursor.sobject}
        body["records"] = page
        return body
