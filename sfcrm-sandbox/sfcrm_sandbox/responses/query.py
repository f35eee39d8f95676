"""SOQL endpoints: ``query``, ``queryAll``, ``tooling/query`` and ``nextRecordsUrl`` paging.

Parsing and evaluation live in :mod:`~sfcrm_sandbox.models.soql`; this module feeds it the org's
rows (streamed from SQLite, unset fields read as null), adds the ``attributes`` Salesforce puts on
every record, and pages results 2,000 rows at a time.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from sfcrm_sandbox.models.compound import compound_fields, with_compound_values
from sfcrm_sandbox.models.cursors import Cursor, QueryCursors, batch_size
from sfcrm_sandbox.models.objects import CUSTOM_FIELD
from sfcrm_sandbox.models.soql import FieldInfo, Query, SoqlError, execute, parse
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error, record_url


def field_infos(store: OrgStore, sobject: str) -> dict[str, FieldInfo]:
    """What the SOQL engine needs of the fields of ``sobject`` the integration user can see."""
    return {
        lower: FieldInfo(
            f.name,
            f.type,
            f.filterable,
            f.sortable,
            f.groupable,
            relationship=f.relationship_name,
            reference_to=f.reference_to,
        )
        for lower, (f, _) in store.visible_fields(sobject).items()
    }


class StoreRelationships:
    """Follows parent paths (``Account.Name``) through the org's records, as the user sees them.

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store
        # One query reads the same parents again and again (every contact of one account); a new
        # instance per query, so it never serves a parent as it was before a later write.
        self.record = lru_cache(maxsize=20_000)(self._record)

    def fields_of(self, sobject: str) -> dict[str, FieldInfo] | None:
        spec = self.store.object_spec(sobject)
        return None if spec is None else field_infos(self.store, spec.name)

    def _record(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        found = self.store.get(record_id)
        return (found[0], found[2]) if found else None


def _parent(version: str, value: Any) -> Any:
    """A parent record the engine nested (``{"attributes": {"type", "id"}, ...}``) as Salesforce shows it:
    its attributes carry the record's url; other values pass through."""
    if not isinstance(value, dict) or "attributes" not in value:
        return value
    kind, parent_id = value["attributes"]["type"], value["attributes"]["id"]
    nested = {k: _parent(version, v) for k, v in value.items() if k != "attributes"}
    return {"attributes": {"type": kind, "url": record_url(version, kind, parent_id)}, **nested}


def with_record_ids(parsed: Query) -> tuple[Query, bool]:
    """``parsed`` selecting ``Id`` too, and whether it was added (then it is left out of the results).

    Salesforce puts every record's url in its attributes, Id selected or not.
    """
    if parsed.is_count or parsed.is_aggregate or "id" in {name.lower() for name in parsed.fields}:
        return parsed, False
    return replace(parsed, fields=(*parsed.fields, "Id"), field_positions=(*parsed.field_positions, 0)), True


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
            parsed = parse(soql)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        relationships: StoreRelationships | None = None
        if tooling:
            if parsed.sobject.lower() != "customfield":
                return api_error(400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported.")
            sobject = "CustomField"
            infos = {
                f.name.lower(): FieldInfo(f.name, f.type, f.filterable, f.sortable, f.groupable)
                for f in CUSTOM_FIELD.fields
            }
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
            relationships = StoreRelationships(self.store)
            infos = field_infos(self.store, sobject)
            # The engine reads fields with .get(): a field the stored record leaves unset reads as null.
            rows = self.store.stream(sobject, include_deleted=include_deleted)
            compound = compound_fields(self.store.visible_fields(sobject), parsed.fields)
            if compound:
                rows = with_compound_values(rows, compound)
        parsed, hidden_id = with_record_ids(parsed)
        try:
            # Synchronous on the event loop: the row stream cannot interleave with a write.
            result = execute(parsed, rows, infos, today=self.store.clock.today(), relationships=relationships)
        except SoqlError as exc:
            return api_error(400, exc.error_code, exc.message)
        if isinstance(result, int):
            return Reply(200, self._body(call, Cursor([], sobject, "", tooling), result, [], None))
        resource = "tooling/query" if tooling else ("queryAll" if include_deleted else "query")
        long_texts = 0 if tooling else self._long_text_fields(sobject, parsed)
        if parsed.is_aggregate:
            sobject = "AggregateResult"
        batch = batch_size(call.headers.get("sforce-query-options"), long_texts)
        nested = any("." in name for name in parsed.fields)
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
