"""Tooling API: create and read ``CustomField`` and ``CustomObject`` (``tooling/query`` is in
:mod:`.query`). New fields start invisible to the user (no field-level security yet), new objects
too (no object permissions yet)."""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.custom_fields import MetadataError, custom_field_spec, field_metadata
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.names import custom_field_api_name, custom_field_name_problem
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found, record_url

_CREATED = {"success": True, "errors": [], "warnings": [], "infos": []}


def _body(call: Call) -> tuple[str, dict[str, Any]] | Reply:
    """``FullName`` and ``Metadata`` of a create request, or the error reply."""
    body = call.body if isinstance(call.body, dict) else None
    if body is None:
        return api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object", [])
    full_name, metadata = body.get("FullName"), body.get("Metadata")
    if not isinstance(full_name, str) or not isinstance(metadata, dict):
        return api_error(
            400,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [FullName, Metadata]",
            ["FullName", "Metadata"],
        )
    return full_name, metadata


def _bad_name(kind: str, name: str, problem: str) -> Reply:
    # UNVERIFIED wording: Setup's message for the same rules.
    return api_error(
        400, "FIELD_INTEGRITY_EXCEPTION", f"The {kind} name {name!r} is not valid: it {problem}", []
    )


def _duplicate(name: str, where: str) -> Reply:
    # UNVERIFIED exact text.
    return api_error(400, "DUPLICATE_DEVELOPER_NAME", f"There is already {where} named {name}.", [])


class ToolingResponses:
    """``tooling/sobjects/CustomField`` and ``tooling/sobjects/CustomObject``.

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def _record(self, call: Call, sobject: str, row: dict[str, Any], metadata: dict[str, Any]) -> Reply:
        url = record_url(call.version, sobject, row["Id"], True)
        return Reply(200, {"attributes": {"type": sobject, "url": url}, **row, "Metadata": metadata})

    # --- CustomField --------------------------------------------------------------------------

    def get_field(self, call: Call) -> Reply:
        field_id = canonical_id(call.params["id"])
        row = next((r for r in self.store.custom_field_rows() if r["Id"] == field_id), None)
        if row is None:
            return not_found()
        sobject, _, name = row["FullName"].partition(".")
        spec = self.store.custom_field(sobject, name)
        if spec is None:  # a platform event's field while the event is not defined
            return not_found()
        return self._record(call, "CustomField", row, field_metadata(spec))

    def create_field(self, call: Call) -> Reply:
        parsed = _body(call)
        if isinstance(parsed, Reply):
            return parsed
        full_name, metadata = parsed
        object_name, dot, field_name = full_name.partition(".")
        spec = self.store.find_object(object_name) if dot else None
        if spec is None or not self.store.customizable(spec.name):
            return api_error(
                400, "FIELD_INTEGRITY_EXCEPTION", f"Cannot create a field on object {object_name}", []
            )
        problem = custom_field_name_problem(field_name)
        if problem:
            return _bad_name("field", field_name, problem)
        field_name = custom_field_api_name(field_name)
        if self.store.custom_field(spec.name, field_name) or spec.has_field(field_name):
            return _duplicate(field_name, f"a field on {spec.name}")
        try:
            field_spec = custom_field_spec(field_name, metadata)
        except MetadataError as exc:
            return api_error(400, exc.error_code, exc.message, [])
        field_id = self.store.add_custom_field(spec.name, field_spec)
        return Reply(201, {"id": field_id, **_CREATED})

    # --- CustomObject -------------------------------------------------------------------------

    def get_object(self, call: Call) -> Reply:
        object_id = canonical_id(call.params["id"])
        row = next((r for r in self.store.custom_object_rows() if r["Id"] == object_id), None)
        if row is None:
            return not_found()
        return self._record(call, "CustomObject", row, self.store.custom_object_metadata(row["FullName"]))

    def create_object(self, call: Call) -> Reply:
        parsed = _body(call)
        if isinstance(parsed, Reply):
            return parsed
        full_name, metadata = parsed
        problem = custom_field_name_problem(full_name)
        if problem:
            return _bad_name("object", full_name, problem)
        name = custom_field_api_name(full_name)
        if self.store.find_object(name) is not None:
            return _duplicate(name, "an object")
        try:
            object_id = self.store.add_custom_object(name, metadata)
        except MetadataError as exc:
            return api_error(400, exc.error_code, exc.message, [])
        return Reply(201, {"id": object_id, **_CREATED})
