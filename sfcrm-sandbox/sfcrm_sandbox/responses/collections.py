"""sObject Collections: create, update, upsert, delete and retrieve up to 200 records per request.

Records are processed in request order and answered one result each; ``allOrNone`` rolls the
whole request back when any record fails. Malformed requests answer 400 with a JSON error array
(``docs/salesforce-facts.md``, "sObject Collections").
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found
from sfcrm_sandbox.responses.records import RecordAccess, not_accessible

MAX_COLLECTION = 200
MAX_RETRIEVE = 2000
# Salesforce's text; the 400 status is UNVERIFIED.
_TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"


class CollectionResponses(RecordAccess):
    """``composite/sobjects`` and ``composite/sobjects/{sobject}[/{field}]``."""

    def _records_of(self, call: Call) -> tuple[list[Any], bool] | Reply:
        body = call.body
        if not isinstance(body, dict):
            return api_error(
                400, "JSON_PARSER_ERROR", "The request body must be a JSON object with 'records'"
            )
        records = body.get("records")
        if records is not None and not isinstance(records, list):
            return api_error(400, "JSON_PARSER_ERROR", "'records' must be a JSON array")
        if not records:
            return api_error(400, "REQUIRED_FIELD_MISSING", "At least 1 record is required", [])
        if len(records) > MAX_COLLECTION:
            return api_error(400, "EXCEEDED_ID_LIMIT", _TOO_MANY)
        return records, bool(body.get("allOrNone", False))

    def _save_collection(self, call: Call, **kwargs: Any) -> Reply:
        """One sObject Collections write: the request's records and ``allOrNone``, per-record results."""
        parsed = self._records_of(call)
        if isinstance(parsed, Reply):
            return parsed
        records, all_or_none = parsed
        saved = self._save(call, records, all_or_none=all_or_none, **kwargs)
        return saved if isinstance(saved, Reply) else Reply(200, saved[0], saved[1])

    def collection_create(self, call: Call) -> Reply:
        return self._save_collection(call, mode="insert")

    def collection_update(self, call: Call) -> Reply:
        return self._save_collection(call, mode="update")

    def collection_upsert(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        ext = self._external_field(spec.name, call.params["field"])
        if ext is None:
            return not_accessible(call.params["field"])
        if not ext.external_id:
            # UNVERIFIED wording; only external-id fields key a collections upsert (not Id).
            return api_error(
                400,
                "INVALID_FIELD",
                f"Field name provided, {ext.name} is not an External ID or indexed field for {spec.name}",
            )
        return self._save_collection(call, mode="upsert", sobject=spec.name, external_id_field=ext)

    def collection_delete(self, call: Call) -> Reply:
        ids = [i for i in (call.query.get("ids") or "").split(",") if i]
        if not ids:
            return api_error(400, "REQUIRED_FIELD_MISSING", "At least 1 Id is required.", [])
        if len(ids) > MAX_COLLECTION:
            return api_error(400, "EXCEEDED_ID_LIMIT", _TOO_MANY)
        all_or_none = (call.query.get("allOrNone") or "false").lower() == "true"
        results, written = self.writer.delete(ids, all_or_none=all_or_none)
        return Reply(200, results, written)

    def collection_retrieve(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        if call.method == "POST":
            body = call.body if isinstance(call.body, dict) else {}
            ids, wanted = body.get("ids") or [], body.get("fields") or []
        else:
            ids = [i for i in (call.query.get("ids") or "").split(",") if i]
            wanted = [f for f in (call.query.get("fields") or "").split(",") if f]
        if not ids:
            return api_error(400, "REQUIRED_FIELD_MISSING", "At least 1 Id is required.", [])
        if not wanted:
            return api_error(400, "REQUIRED_FIELD_MISSING", "At least 1 field is required.", [])
        if len(ids) > MAX_RETRIEVE:
            return api_error(400, "EXCEEDED_ID_LIMIT", "Cannot retrieve more than 2000 records in one call")
        names = self._field_names(spec.name, ",".join(wanted))
        if isinstance(names, Reply):
            return names
        normalized = [canonical_id(i) for i in ids]
        found = self.store.get_many([i for i in normalized if i])
        out: list[Any] = []
        for record_id in normalized:
            record = found.get(record_id) if record_id else None
            if record is None or record[1] or record[0] != spec.name:
                out.append(None)
            else:
                out.append(self._render(call, spec.name, record[2], ["Id", *[n for n in names if n != "Id"]]))
        return Reply(200, out)
