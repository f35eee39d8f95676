"""SOQL endpoints: ``query``, ``queryAll``, ``tooling/query`` and ``nextRecordsUrl`` paging.

Parsing and evaluation live in :mod:`~sfcrm_sandbox.models.soql`, running them against the org in
:mod:`~sfcrm_sandbox.models.queries`; this module adds the ``attributes`` Salesforce puts on every
record, and pages results 2,000 rows at a time.
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.cursors import Cursor, QueryCursors
from sfcrm_sandbox.models.queries import object_query, with_id
from sfcrm_sandbox.models.soql import FieldInfo, SoqlError, execute, parse
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error, record_url

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


class QueryResponses:
    """``query``, ``queryAll``, their ``nextRecordsUrl`` pages and ``tooling/query``.

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store
        self.cursors = QueryCursors()

    def query(self, call: Call) -> Reply:
        return self._run(call, include_deleted=False)

    def query_all(self, call: Call) -> Reply:
        return self._run(call, include_deleted=True)

    def tooling_query(self, call: Call) -> Reply:
        return self._run(call, include_deleted=False, tooling=True)

    def _run(self, call: Call, *, include_deleted: bool, tooling: bool = False) -> Reply:
        soql = call.query.get("q")
        if not soql:
            return api_error(400, "MALFORMED_QUERY", "A query string (q) is required")
        try:
            if tooling:
                parsed = parse(soql)
                if parsed.sobject.lower() != "customfield":
                    raise SoqlError("INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported.")
                sobject = "CustomField"
                parsed, hidden_id = with_id(parsed)
                infos = {name.lower(): FieldInfo(name, kind) for name, kind in _CUSTOM_FIELD_COLUMNS.items()}
                result = execute(parsed, self.store.custom_field_rows(), infos)
            else:
                prepared = object_query(self.store, soql)
                sobject, hidden_id = prepared.sobject, prepared.hidden_id
                result = prepared.run(self.store, include_deleted=include_deleted)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if isinstance(result, int):
            return Reply(200, self._body(call, Cursor([], sobject, "", tooling), result, [], None))
        resource = "tooling/query" if tooling else ("queryAll" if include_deleted else "query")
        return self._page(call, Cursor(result, sobject, resource, tooling, hidden_id), 0, None)

    def query_more(self, call: Call) -> Reply:
        locator, _, start = call.params["locator"].partition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not start.isdigit():
            return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(call, cursor, int(start), locator)

    def _page(self, call: Call, cursor: Cursor, start: int, locator: str | None) -> Reply:
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
    def _with_attributes(call: Call, cursor: Cursor, row: dict[str, Any]) -> dict[str, Any]:
        attributes = {"type": cursor.sobject}
        if row.get("Id"):
            attributes["url"] = record_url(call.version, cursor.sobject, row["Id"], cursor.tooling)
        record = {"attributes": attributes, **row}
        if cursor.hidden_id:
            del record["Id"]
        return record

    @staticmethod
    def _body(
        call: Call, cursor: Cursor, total: int, page: list[dict[str, Any]], next_url: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"totalSize": total, "done": next_url is None}
        if next_url:
            body["nextRecordsUrl"] = next_url
        if cursor.tooling:
            body = {"size": total, **body, "queryLocator": None, "entityTypeName": cursor.sobject}
        body["records"] = page
        return body
