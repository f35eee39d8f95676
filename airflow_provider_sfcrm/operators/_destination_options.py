"""The export's destination options: ``row_filter``, ``operation="publish"`` and the duplicate-rule header.

Kept apart from the operator to keep it short; the filter itself is
:mod:`airflow_provider_sfcrm.activation.row_filter`, the header :func:`~airflow_provider_sfcrm.activation.
batching.duplicate_rule_header`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_sfcrm.exceptions import SfCrmConfigError

PUBLISH = "publish"
#: The API-name suffix of a Platform Event.
EVENT_SUFFIX = "__e"


def is_platform_event(sobject: str) -> bool:
    return sobject.lower().endswith(EVENT_SUFFIX)


def check_operation(operation: str, sobject: str, *, sync_state: Any, duplicate_rule_header: Any) -> None:
    """Refuse, before anything is read, the combinations of operation, object and options that cannot
    work: ``publish`` is for Platform Events alone, and Platform Events are only published."""
    if operation == PUBLISH:
        if not is_platform_event(sobject):
            raise SfCrmConfigError(
                f'operation="publish" publishes Platform Events (API names ending {EVENT_SUFFIX}); '
                f"{sobject} is not one: use update, upsert or insert"
            )
        if sync_state:
            raise SfCrmConfigError(
                'operation="publish" takes no sync_state: a Platform Event is a message, not a record — '
                "it has no identity to compare, and every event published is delivered; give the "
                "changes to publish as the segment instead"
            )
        if duplicate_rule_header is not None:
            raise SfCrmConfigError('duplicate_rule_header does not apply to operation="publish"')
    elif is_platform_event(sobject):
        raise SfCrmConfigError(
            f"{sobject} is a Platform Event: events are published, not written with "
            f'operation={operation!r}; use operation="publish"'
        )


def checked_duplicate_rule_header(options: Any) -> Mapping[str, Any] | None:
    """The ``duplicate_rule_header`` option, checked (a mapping, or a JSON object rendered as text)."""
    import json

    from airflow_provider_sfcrm.activation.batching import duplicate_rule_header

    if isinstance(options, str):
        try:
            options = json.loads(options) if options.strip() else None
        except json.JSONDecodeError:
            raise SfCrmConfigError(
                f"duplicate_rule_header must be a mapping (or a JSON object), not {options!r}"
            ) from None
    try:
        duplicate_rule_header(options)
    except ValueError as exc:
        raise SfCrmConfigError(str(exc)) from None
    return options


def parsed_row_filter(text: Any) -> str | None:
    """The ``row_filter`` text after a syntax check (columns are checked once the segment is open)."""
    from airflow_provider_sfcrm.activation.row_filter import RowFilterError, parse_filter

    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        parse_filter(text)
    except RowFilterError as exc:
        raise SfCrmConfigError(str(exc)) from None
    return str(text)


def compiled_row_filter(text: str | None, schema: Any) -> Any:
    """The :class:`~airflow_provider_sfcrm.activation.row_filter.RowFilter` of ``text`` on a segment of
    ``schema`` (None without a filter); unknown columns and type mismatches are configuration errors."""
    from airflow_provider_sfcrm.activation.row_filter import RowFilterError, compile_filter

    if text is None:
        return None
    try:
        return compile_filter(text, schema)
    except RowFilterError as exc:
        raise SfCrmConfigError(str(exc)) from None
