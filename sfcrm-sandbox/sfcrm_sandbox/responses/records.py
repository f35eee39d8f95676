"""Single records: create, get, update, delete by Id, and get / upsert / delete by external id.

A problem with the record answers 400 or 404 with a JSON error array made from its per-record
error; the helpers the sObject Collections share (:mod:`.collections`) live here too.
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.keys import key_value
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.write_plan import RequestRejected
from sfcrm_sandbox.models.writes import Writer
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found, record_url


def not_accessible(name: str) -> Reply:
    """404 for a key field, or an Id, that names nothing this user can reach."""
    return not_found(f"Provided external ID field does not exist or is not accessible: {name}")


def _single_error(call: Call, err: dict[str, Any]) -> dict[str, Any]:
    """A per-record error as a single-record request answers it; a duplicate rule's adds its
    ``duplicateResult`` (the matched records with their urls)."""
    answer = {"message": err["message"], "errorCode": err["statusCode"], "fields": err["fields"]}
    detail = err.get("duplicateResult")
    if detail is not None:
        for match in detail["matchResults"]:
            for record in (m["record"] for m in match["matchRecords"]):
                record["attributes"]["url"] = record_url(call.version, match["entityType"], record["Id"])
        answer["duplicateResult"] = detail
    return answer


def _not_an_object() -> Reply:
    return api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")


class RecordAccess:
    """What the record endpoints share: reading field lists, rendering records, saving through the writer.

    :param store: the org's data.
    :param writer: applies writes (with fault-injected record locks).
    """

    def __init__(self, store: OrgStore, writer: Writer) -> None:
        self.store = store
        self.writer = writer

    def _object(self, name: str) -> ObjectSpec | None:
        return self.store.object_spec(name)

    @staticmethod
    def _render(call: Call, sobject: str, data: dict[str, Any], names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": sobject, "url": record_url(call.version, sobject, data["Id"])}
        }
        for name in names:
            out[name] = data.get(name)
        return out

    def _field_names(self, sobject: str, wanted: str | None) -> list[str] | Reply:
        """Canonical names of the comma-separated ``wanted`` fields (every visible one when empty)."""
        visible = self.store.visible_fields(sobject)
        if not wanted:
            return [spec.name for spec, _ in visible.values()]
        names = []
        for raw in wanted.split(","):
            entry = visible.get(raw.strip().lower())
            if entry is None:
                return api_error(
                    400, "INVALID_FIELD", f"No such column '{raw.strip()}' on entity '{sobject}'"
                )
            names.append(entry[0].name)
        return names

    def _external_field(self, sobject: str, name: str) -> FieldSpec | None:
        entry = self.store.visible_fields(sobject).get(name.lower())
        return entry[0] if entry else None

    def _save(
        self, call: Call, records: list[Any], **kwargs: Any
    ) -> tuple[list[dict[str, Any]], int] | Reply:
        try:
            return self.writer.save(
                records, auto_assign=call.auto_assign, allow_duplicates=call.allow_duplicates, **kwargs
            )
        except RequestRejected as rejected:
            return api_error(rejected.status, rejected.error_code, rejected.message)


class RecordResponses(RecordAccess):
    """``sobjects/{sobject}`` (create), ``sobjects/{sobject}/{id}`` and ``.../{field}/{value}``."""

    @staticmethod
    def _single_failure(call: Call, result: dict[str, Any]) -> Reply:
        err = result["errors"][0]
        # The record itself deleted → 404; a lookup field pointing at a deleted record → 400, like
        # any other invalid value (the error then names that field).
        status = 404 if err["statusCode"] == "ENTITY_IS_DELETED" and not err["fields"] else 400
        if err["statusCode"] == "INVALID_CROSS_REFERENCE_KEY" and not err["fields"]:
            return not_found()
        return Reply(status, [_single_error(call, e) for e in result["errors"]])

    def create_record(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        if not isinstance(call.body, dict):
            return _not_an_object()
        saved = self._save(call, [call.body], mode="insert", sobject=spec.name, details=True)
        if isinstance(saved, Reply):
            return saved
        (result,), written = saved
        if not result["success"]:
            return self._single_failure(call, result)
        # A platform event's result carries its OPERATION_ENQUEUED status in errors.
        return Reply(201, {"id": result["id"], "success": True, "errors": result["errors"]}, written)

    def _live_record(self, sobject: str, raw_id: str) -> tuple[dict[str, Any] | None, Reply | None]:
        record_id = canonical_id(raw_id)
        if record_id is None or self.store.object_of_id(record_id) != sobject:
            return None, not_accessible(raw_id)
        found = self.store.get(record_id)
        if found is None:
            return None, not_found()
        if found[1]:
            return None, api_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return found[2], None

    def get_record(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        data, failure = self._live_record(spec.name, call.params["id"])
        if failure:
            return failure
        names = self._field_names(spec.name, call.query.get("fields"))
        if isinstance(names, Reply):
            return names
        return Reply(200, self._render(call, spec.name, data, names))

    def update_record(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        if not isinstance(call.body, dict):
            return _not_an_object()
        raw_id = call.params["id"]
        if canonical_id(raw_id) is None:
            return not_accessible(raw_id)
        record = {k: v for k, v in call.body.items() if k.lower() != "id"}
        record.update({"attributes": {"type": spec.name}, "Id": raw_id})
        saved = self._save(call, [record], mode="update", details=True)
        if isinstance(saved, Reply):
            return saved
        (result,), written = saved
        if not result["success"]:
            return self._single_failure(call, result)
        return Reply(204, None, written)

    def delete_record(self, call: Call) -> Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        _, failure = self._live_record(spec.name, call.params["id"])
        if failure:
            return failure
        (result,), written = self.writer.delete([call.params["id"]])
        if not result["success"]:
            return self._single_failure(call, result)
        return Reply(204, None, written)

    def _by_external_id(self, call: Call) -> tuple[Any, FieldSpec, list[str]] | Reply:
        spec = self._object(call.params["sobject"])
        if spec is None:
            return not_found()
        ext = self._external_field(spec.name, call.params["field"])
        if ext is None or not (ext.external_id or ext.name == "Id" or ext.id_lookup):
            return not_accessible(call.params["field"])
        if ext.name == "Id":
            value = call.params["value"]
            ids = [record_id] if (record_id := canonical_id(value)) else []
            live = self.store.get_many(ids)
            return spec, ext, [i for i in ids if i in live and not live[i][1]]
        matches = self.store.find_keys(spec.name, ext.name.lower(), [key_value(call.params["value"])])
        return spec, ext, matches.get(key_value(call.params["value"]), [])

    def _multiple(self, call: Call, sobject: str, ids: list[str]) -> Reply:
        return Reply(300, [record_url(call.version, sobject, i) for i in ids])

    def _one_by_external_id(self, call: Call) -> Reply | tuple[ObjectSpec, str]:
        """The one live record a key names, or the reply when it names none (404) or several (300)."""
        found = self._by_external_id(call)
        if isinstance(found, Reply):
            return found
        spec, _, ids = found
        if not ids:
            return not_found()
        if len(ids) > 1:
            return self._multiple(call, spec.name, ids)
        return spec, ids[0]

    def get_by_external_id(self, call: Call) -> Reply:
        found = self._one_by_external_id(call)
        if isinstance(found, Reply):
            return found
        spec, record_id = found
        names = self._field_names(spec.name, call.query.get("fields"))
        if isinstance(names, Reply):
            return names
        _, _, data = self.store.get(record_id)
        return Reply(200, self._render(call, spec.name, data, names))

    def upsert_record(self, call: Call) -> Reply:
        found = self._by_external_id(call)
        if isinstance(found, Reply):
            return found
        spec, ext, ids = found
        if not isinstance(call.body, dict):
            return _not_an_object()
        if len(ids) > 1:
            return self._multiple(call, spec.name, ids)
        if ext.name == "Id":
            # Upsert on Id: update when it exists, otherwise insert without it.
            record = {**call.body, "attributes": {"type": spec.name}}
            mode = "update" if ids else "insert"
            if ids:
                record["Id"] = ids[0]
            saved = self._save(
                call, [record], mode=mode, sobject=spec.name if mode == "insert" else None, details=True
            )
            created = not ids
        else:
            record = {k: v for k, v in call.body.items() if k.lower() != ext.name.lower()}
            record[ext.name] = call.params["value"]
            saved = self._save(
                call, [record], mode="upsert", sobject=spec.name, external_id_field=ext, details=True
            )
            created = None
        if isinstance(saved, Reply):
            return saved
        (result,), written = saved
        if not result["success"]:
            return self._single_failure(call, result)
        created = result.get("created", created)
        body = {"id": result["id"], "success": True, "errors": [], "created": bool(created)}
        if created:
            return Reply(201, body, written)
        # Since API v46 an update through upsert answers 200 with the result; before, 204 and no body.
        return Reply(200, body, written) if float(call.version) >= 46 else Reply(204, None, written)

    def delete_by_external_id(self, call: Call) -> Reply:
        found = self._one_by_external_id(call)
        if isinstance(found, Reply):
            return found
        (result,), written = self.writer.delete([found[1]])
        if not result["success"]:
            return self._single_failure(call, result)
        return Reply(204, None, written)
