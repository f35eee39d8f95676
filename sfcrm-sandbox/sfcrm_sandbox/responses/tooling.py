"""Tooling API: create and read ``CustomField`` (``tooling/query`` is in :mod:`.query`)."""

from __future__ import annotations

from sfcrm_sandbox.models.custom_fields import CustomFieldError, custom_field_spec
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.names import custom_field_api_name, custom_field_name_problem
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found, record_url


class ToolingResponses:
    """``tooling/sobjects/CustomField``: new fields start invisible to the user (no FLS yet).

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def get_field(self, call: Call) -> Reply:
        field_id = canonical_id(call.params["id"])
        row = next((r for r in self.store.custom_field_rows() if r["Id"] == field_id), None)
        if row is None:
            return not_found()
        spec = self.store.custom_field(row["TableEnumOrId"], row["FullName"].split(".", 1)[1])
        assert spec is not None
        kind = _METADATA_TYPE[(spec.type, spec.extra_type_info)]
        if kind == "TextArea" and spec.length > 255:
            kind = "LongTextArea"
        metadata = {
            "label": spec.label,
            "type": kind,
            "length": spec.length,
            "externalId": spec.external_id,
            "unique": spec.unique,
        }
        return Reply(
            200,
            {
                "attributes": {
                    "type": "CustomField",
                    "url": record_url(call.version, "CustomField", row["Id"], True),
                },
                **row,
                "Metadata": metadata,
            },
        )

    def create_field(self, call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else None
        if body is None:
            return api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object", [])
        full_name = body.get("FullName")
        metadata = body.get("Metadata")
        if not isinstance(full_name, str) or "." not in full_name or not isinstance(metadata, dict):
            return api_error(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [FullName, Metadata]",
                ["FullName", "Metadata"],
            )
        object_name, _, field_name = full_name.partition(".")
        spec = self.store.object_spec(object_name)
        if spec is None or not self.store.customizable(spec.name):
            return api_error(
                400, "FIELD_INTEGRITY_EXCEPTION", f"Cannot create a field on object {object_name}", []
            )
        problem = custom_field_name_problem(field_name)
        if problem:
            # UNVERIFIED wording: Setup's message for the same rules.
            return api_error(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"The field name {field_name!r} is not valid: it {problem}",
                [],
            )
        field_name = custom_field_api_name(field_name)
        if self.store.custom_field(spec.name, field_name) or spec.has_field(field_name):
            # UNVERIFIED exact text.
            return api_error(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {field_name} on {spec.name}.",
                [],
            )
        try:
            field_spec = custom_field_spec(field_name, metadata)
        except CustomFieldError as exc:
            return api_error(400, exc.error_code, exc.message, [])
        field_id = self.store.add_custom_field(spec.name, field_spec)
        return Reply(201, {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []})


_METADATA_TYPE = {
    ("string", None): "Text",
    ("textarea", "plaintextarea"): "TextArea",
    ("textarea", "richtextarea"): "Html",
    ("email", None): "Email",
}
