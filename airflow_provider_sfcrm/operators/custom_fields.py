"""Checks (and optionally creates) the audience (Mapping ID) fields on an object before any write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_sfcrm.activation.field_check import (
    MAX_FIELD_LENGTH,
    MIN_FIELD_LENGTH,
    FieldStatus,
    FieldVerdict,
    found_message,
    normalise_audience_request,
    problems_message,
    verdicts_as_dicts,
)
from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError, SfCrmFieldValidationError
from airflow_provider_sfcrm.triggers.custom_fields import fetch_verdicts

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

#: Salesforce's range of visible lines for a Text Area (Long) field.
MIN_VISIBLE_LINES, MAX_VISIBLE_LINES = 2, 50

# Error codes (and message words) with which the Tooling API refuses a field name already taken.
_DUPLICATE_CODES = frozenset({"DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE", "DUPLICATE_NAME"})


def _is_duplicate(exc: SfCrmApiError) -> bool:
    return exc.error_code in _DUPLICATE_CODES or "already exist" in str(exc).lower()


class SalesforceCustomFieldValidationOperator(BaseOperator):
    """Checks that every audience's Mapping ID names a usable Text Area (Long) field on the object.

    Fails with one :class:`SfCrmFieldValidationError` listing **all** problems, one line per field
    with its fix. With ``create_missing=True`` it first creates each missing field through the
    Tooling API and grants read/edit on it; it never alters a field that already exists. Returns
    ``{mapping_id: verdict dict}`` (small, JSON-serialisable) for XCom.

    :param sobject: the object (``Lead``, ``Contact``, ``Account``, ``Thing__c``...) (templated).
    :param mapping_ids: the audiences' Mapping IDs, with or without ``__c``; a list, or one
        comma-separated string (templated).
    :param sfcrm_conn_id: the Salesforce CRM connection.
    :param create_missing: create the fields that are missing (as Text Area (Long)) and grant access.
    :param field_length: length of created fields, 256–131,072.
    :param visible_lines: visible lines of created fields, 2–50.
    :param permission_set_id: the PermissionSet to grant access to; None = the connection user's
        profile-owned permission set.
    """

    template_fields: Sequence[str] = ("sobject", "mapping_ids")
    ui_color = "#e3f1fb"

    def __init__(
        self,
        *,
        sobject: str,
        mapping_ids: Sequence[str] | str,
        sfcrm_conn_id: str = "sfcrm_default",
        create_missing: bool = False,
        field_length: int = 32768,
        visible_lines: int = 6,
        permission_set_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sobject = sobject
        self.mapping_ids = mapping_ids
        self.sfcrm_conn_id = sfcrm_conn_id
        self.create_missing = create_missing
        self.field_length = field_length
        self.visible_lines = visible_lines
        self.permission_set_id = permission_set_id

    def _validate_arguments(self) -> tuple[str, list[str]]:
        try:
            sobject, mapping_ids = normalise_audience_request(self.sobject, self.mapping_ids)
        except ValueError as exc:
            raise SfCrmConfigError(f"{self.task_id}: {exc}") from exc
        for name, value, low, high in (
            ("field_length", self.field_length, MIN_FIELD_LENGTH, MAX_FIELD_LENGTH),
            ("visible_lines", self.visible_lines, MIN_VISIBLE_LINES, MAX_VISIBLE_LINES),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SfCrmConfigError(
                    f"{self.task_id}: {name} must be an integer from {low} to {high}, got {value!r}"
                )
        return sobject, mapping_ids

    def execute(self, context: Context) -> dict[str, dict[str, Any]]:
        sobject, mapping_ids = self._validate_arguments()
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        hook = SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)
        verdicts = fetch_verdicts(hook, sobject, mapping_ids)
        if self.create_missing and any(v.status is FieldStatus.MISSING for v in verdicts.values()):
            self._create_missing_fields(hook, sobject, verdicts)
            verdicts = fetch_verdicts(hook, sobject, mapping_ids)

        report = verdicts_as_dicts(verdicts)
        if any(not v.ok for v in verdicts.values()):
            raise SfCrmFieldValidationError(problems_message(sobject, verdicts), report)
        self.log.info("Field check: %s", found_message(sobject, verdicts))
        return report

    def _create_missing_fields(
        self, hook: SalesforceCrmHook, sobject: str, verdicts: dict[str, FieldVerdict]
    ) -> None:
        # Several Mapping IDs may name one field: create each field once.
        missing = {
            v.field_name.lower(): v.field_name for v in verdicts.values() if v.status is FieldStatus.MISSING
        }
        permission_set_id = self.permission_set_id or hook.get_user_permission_set_id()
        for field_name in missing.values():
            base = field_name[: -len("__c")]
            metadata = {
                "type": "LongTextArea",
                "label": base,
                "length": self.field_length,
                "visibleLines": self.visible_lines,
                "description": f"Audience status (realized / existing / exited) for Mapping ID {base}; "
                "created by airflow-provider-sfcrm",
            }
            try:
                field_id = hook.create_custom_field(sobject, field_name, metadata)
                self.log.info("Created %s.%s (Text Area (Long), id %s)", sobject, field_name, field_id)
            except SfCrmApiError as exc:
                if not _is_duplicate(exc):
                    raise
                # It exists but field-level security hides it from us: grant access, never alter it.
                self.log.info(
                    "%s.%s already exists but is hidden from the connection's user; granting access instead",
                    sobject,
                    field_name,
                )
            hook.grant_field_access(sobject, field_name, permission_set_id, read=True, edit=True)
            self.log.info(
                "Granted Read and Edit on %s.%s to permission set %s", sobject, field_name, permission_set_id
            )
