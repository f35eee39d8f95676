"""SOQL endpoints: ``query``, ``queryAll``, ``tooling/query`` and ``nextRecordsUrl`` paging.

Parsing and evaluation live in :mod:`~sfcrm_sandbox.models.soql`, running them against the org in
:mod:`~sfcrm_sandbox.models.queries`; this module adds the ``attributes`` Salesforce puts on every
record, and pages results (2,000 rows, or ``Sforce-Query-Options: batchSize``).
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.cursors import Cursor, QueryCursors, batch_size
from sfcrm_sandbox.models.objects import CUSTOM_FIELD
from sfcrm_sandbox.models.queries import object_query, with_id
from sfcrm_sandbox.models.soql import FieldInfo, Query, SoqlError, execute, parse
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error, record_url


def _parent(version: str, value: Any) -> Any:
    """A parent record the engine nested (``{"attributes": {"type", "id"}, ...}``) as Salesforce shows it:
    its attributes carry the record's url; other values pass through."""
    if not isinstance(value, dict) or "attributes" not in value:
        return value
    kind, parent_id = value["attributes"]["type"], value["attributes"]["id"]
    nested = {k: _parent(version, v) for k, v in value.items() if k != "attributes"}
    return {"attributes": {"type": kind, "url": record_url(version, kind, parent_id)}, **nested}


def record_attributes(
    version: str,
    sobject: str,
    row: dict[str, Any],
    hidden_id: bool,
    tooling: bool = False,
    nested: bool = False,
) -> dict[str, Any]:
    """A result row with Salesforce's ``attributes`` (type and url) in front.

    :param nested: the row holds parent records (paths such as ``Account.Name`` were selected).
    """
    attributes = {"type": sobject}
    if row.get("Id"):
        attributes["url"] = record_url(version, sobject, row["Id"], tooling)
    record = {"attributes": attributes, **row}
    if nested:
        record.update((k, _parent(version, v)) for k, v in row.items())
    if hidden_id:
        del record["Id"]
    return record


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
                infos = {
                    f.name.lower(): FieldInfo(f.name, f.type, f.filterable, f.sortable, f.groupable)
                    for f in CUSTOM_FIELD.fields
                }
                result = execute(parsed, self.store.custom_field_rows(), infos)
                nested = False
            else:
                prepared = object_query(self.store, soql)
                parsed, sobject, hidden_id = prepared.query, prepared.sobject, prepared.hidden_id
                result = prepared.run(self.store, include_deleted=include_deleted)
                nested = prepared.nested
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if isinstance(result, int):
            return Reply(200, self._body(call, Cursor([], sobject, "", tooling), result, [], None))
        resource = "tooling/query" if tooling else ("queryAll" if include_deleted else "query")
        long_texts = 0 if tooling else self._long_text_fields(sobject, parsed)
        if parsed.is_aggregate:
            sobject = "AggregateResult"
        batch = batch_size(call.headers.get("sforce-query-options"), long_texts)
        cursor = Cursor(result, sobject, resource, tooling, hidden_id, batch, nested=nested)
        return self._page(call, cursor, 0, None)

    def _long_text_fields(self, sobject: str, parsed: Query) -> int:
        """How many custom long text areas the query selects (they cap its page size)."""
        visible = self.store.visible_fields(sobject)
        specs = [visible[name.lower()][0] for name in parsed.fields if name.lower() in visible]
        return sum(1 for spec in specs if spec.custom and spec.type == "textarea" and spec.length > 255)

    def query_more(self, call: Call) -> Reply:
        locator, _, start = call.params["locator"].partition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not start.isdigit():
            return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(call, cursor, int(start), locator)

    def _page(self, call: Call, cursor: Cursor, start: int, locator: str | None) -> Reply:
        end = start + cursor.batch
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
        return record_attributes(
            call.version, cursor.sobject, row, cursor.hidden_id, cursor.tooling, cursor.nested
        )

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
