"""SOSL search: ``search?q=FIND {...}`` and ``parameterizedSearch`` (GET and POST).

Parsing and matching are :mod:`~sfcrm_sandbox.models.sosl`; the field list, filters, order and limit
of each returned object run through the SOQL engine over the records that match the term. The answer
is ``{"searchRecords": [...]}``, each record with its ``attributes``, Id only unless fields were asked.
"""

from __future__ import annotations

import re
from typing import Any

from sfcrm_sandbox.models.objects import SEARCHABLE
from sfcrm_sandbox.models.queries import field_infos, with_id
from sfcrm_sandbox.models.soql import SoqlError, execute
from sfcrm_sandbox.models.soql import parse as parse_soql
from sfcrm_sandbox.models.sosl import (
    MAX_LIMIT,
    SCOPES,
    Returning,
    Search,
    SoslError,
    parse,
    parse_term,
    searched_fields,
)
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error
from sfcrm_sandbox.responses.query import record_attributes

_CLAUSE = re.compile(r"\b(WHERE|ORDER\s+BY|LIMIT|OFFSET)\b", re.IGNORECASE)


def _number(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return max(0, min(int(value), MAX_LIMIT))
    except (TypeError, ValueError):
        raise SoslError(f"{name} must be a number, not {value!r}", "INVALID_SEARCH") from None


class SearchResponses:
    """``search`` and ``parameterizedSearch``.

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def search(self, call: Call) -> Reply:
        try:
            return self._run(call, parse(call.query.get("q") or ""))
        except SoslError as exc:
            return api_error(400, exc.error_code, exc.message)

    def parameterized_search(self, call: Call) -> Reply:
        try:
            return self._run(call, self._parameters(call))
        except SoslError as exc:
            return api_error(400, exc.error_code, exc.message)

    def _parameters(self, call: Call) -> Search:
        """The search a ``parameterizedSearch`` request describes (query string, or JSON on POST)."""
        if call.method == "POST":
            body = call.body if isinstance(call.body, dict) else {}
            term, scope = body.get("q"), body.get("in") or "ALL"
            default_fields = body.get("fields") or []
            objects = [
                (o.get("name"), o.get("fields") or default_fields, o.get("limit"))
                for o in body.get("sobjects") or []
                if isinstance(o, dict)
            ]
            overall, default_limit = body.get("overallLimit"), body.get("defaultLimit")
        else:
            query = call.query
            term, scope = query.get("q"), query.get("in") or "ALL"
            default_fields = [f for f in (query.get("fields") or "").split(",") if f]
            objects = [
                (
                    name,
                    [f for f in (query.get(f"{name}.fields") or "").split(",") if f] or default_fields,
                    query.get(f"{name}.limit"),
                )
                for name in call.query_lists.get("sobject", [])
            ]
            overall, default_limit = query.get("overallLimit"), query.get("defaultLimit")
        if not isinstance(term, str) or not term.strip():
            # UNVERIFIED wording.
            raise SoslError("Missing the required parameter q", "INVALID_SEARCH")
        scope = str(scope).upper()
        if scope not in SCOPES:
            raise SoslError(f"Invalid value for in: {scope}", "INVALID_SEARCH")
        default = _number(default_limit, "defaultLimit")
        returning = tuple(
            Returning(str(name), ", ".join(fields) if fields else None, _number(limit, "limit") or default)
            for name, fields, limit in objects
        )
        if not returning and default_fields:
            returning = tuple(Returning(name, ", ".join(default_fields), default) for name in SEARCHABLE)
        return Search(parse_term(term), scope, returning, _number(overall, "overallLimit") or MAX_LIMIT)

    def _run(self, call: Call, search: Search) -> Reply:
        targets = search.returning or tuple(Returning(name) for name in SEARCHABLE)
        found: list[dict[str, Any]] = []
        for target in targets:
            spec = self.store.object_spec(target.sobject)
            if spec is None or spec.name not in SEARCHABLE:
                return api_error(400, "INVALID_TYPE", f"sObject type '{target.sobject}' is not supported.")
            try:
                rows, hidden_id = self._matches(spec.name, target, search)
            except SoqlError as exc:
                return api_error(400, exc.error_code, exc.message)
            found += [record_attributes(call.version, spec.name, row, hidden_id) for row in rows]
            if len(found) >= search.limit:
                break
        return Reply(200, {"searchRecords": found[: search.limit]})

    def _matches(self, sobject: str, target: Returning, search: Search) -> tuple[list[dict[str, Any]], bool]:
        visible = self.store.visible_fields(sobject)
        searched = searched_fields((spec for spec, _ in visible.values()), search.scope)
        tail = target.soql_tail or "Id"
        clause = _CLAUSE.search(tail)
        fields, clauses = (tail[: clause.start()], tail[clause.start() :]) if clause else (tail, "")
        if target.limit is not None and not re.search(r"\bLIMIT\b", clauses, re.IGNORECASE):
            clauses += f" LIMIT {target.limit}"
        parsed, hidden_id = with_id(parse_soql(f"SELECT {fields.strip() or 'Id'} FROM {sobject} {clauses}"))
        candidates = (
            row
            for row in self.store.stream(sobject)
            if search.term.matches(row.get(name) for name in searched)
        )
        result = execute(parsed, candidates, field_infos(self.store, sobject))
        return (result if isinstance(result, list) else []), hidden_id
