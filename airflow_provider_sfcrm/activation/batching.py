"""Pure helpers for sObject Collections writes: batch cutting, headers and API records."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_sfcrm.activation.ids import is_well_formed
from airflow_provider_sfcrm.activation.json_values import UnsendableValueError, json_value
from airflow_provider_sfcrm.activation.names import API_NAME

#: Salesforce's cap on records per sObject Collections request.
MAX_BATCH_SIZE = 200
#: Salesforce allows 25 concurrent long-running requests per org; more workers only earn refusals.
MAX_WORKERS = 25
#: Key prefix of AssignmentRule Ids (the value ``Sforce-Auto-Assign`` accepts besides TRUE/FALSE).
ASSIGNMENT_RULE_PREFIX = "01Q"

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


def batch_ranges(count: int, batch_size: int) -> list[range]:
    """Cut ``count`` records into consecutive index ranges of at most ``batch_size``."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise ValueError(f"batch_size must be an integer from 1 to {MAX_BATCH_SIZE}, got {batch_size!r}")
    return [range(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """``Sforce-Limit-Info: api-usage=10018/100000; ...`` → ``(10018, 100000)``; ``None`` if absent."""
    match = _LIMIT_INFO.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def auto_assign_header(auto_assign: bool | str) -> str:
    """The ``Sforce-Auto-Assign`` value: ``FALSE``, ``TRUE`` or a validated AssignmentRule Id."""
    if isinstance(auto_assign, bool):
        return "TRUE" if auto_assign else "FALSE"
    if (
        isinstance(auto_assign, str)
        and is_well_formed(auto_assign)
        and auto_assign.startswith(ASSIGNMENT_RULE_PREFIX)
    ):
        return auto_assign
    raise ValueError(
        f"auto_assign must be True, False or an AssignmentRule Id (15/18 characters starting "
        f"{ASSIGNMENT_RULE_PREFIX!r}), got {auto_assign!r}"
    )


#: ``duplicate_rule_header`` options → the fields of Salesforce's ``Sforce-Duplicate-Rule-Header``.
DUPLICATE_RULE_OPTIONS = {
    "allow_save": "allowSave",
    "include_record_details": "includeRecordDetails",
    "run_as_current_user": "runAsCurrentUser",
}


def duplicate_rule_header(options: Mapping[str, Any] | None) -> str | None:
    """The ``Sforce-Duplicate-Rule-Header`` value of ``options`` (``{"allow_save": True}`` →
    ``allowSave=true``); None when no option is set (the header is not sent: Salesforce's defaults,
    every field false, apply). Options left out or None are not sent.

    :raises ValueError: an unknown option, or a value that is not True, False or None.
    """
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ValueError(f"duplicate_rule_header must be a mapping of options, not {options!r}")
    unknown = sorted(set(options) - set(DUPLICATE_RULE_OPTIONS))
    if unknown:
        raise ValueError(
            f"duplicate_rule_header: unknown option(s) {unknown}; known: {', '.join(DUPLICATE_RULE_OPTIONS)}"
        )
    parts = []
    for option, field in DUPLICATE_RULE_OPTIONS.items():
        value = options.get(option)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ValueError(f"duplicate_rule_header: {option} must be True, False or None, not {value!r}")
        parts.append(f"{field}={'true' if value else 'false'}")
    return "; ".join(parts) or None


def to_api_record(record: Mapping[str, Any], sobject: str) -> dict[str, Any]:
    """A new dict with ``attributes.type`` set and JSON-safe values; the caller's dict is untouched.

    A mapping value is a parent set by its external id (``{"Account": {"Ext_Id__c": "A-1"}}``): it
    must hold exactly one field (and optionally ``attributes``).

    Raises :class:`~.values.UnsendableValueError` naming the first field whose value cannot be sent.
    """
    api_record: dict[str, Any] = {"attributes": {"type": sobject}}
    for name, value in record.items():
        if name != "attributes":
            api_record[name] = (
                _parent_key(value, name) if isinstance(value, Mapping) else json_value(value, name)
            )
    return api_record


def _parent_key(value: Mapping[str, Any], name: str) -> dict[str, Any]:
    keys = [key for key in value if key != "attributes"]
    if len(keys) != 1 or not isinstance(keys[0], str) or not API_NAME.fullmatch(keys[0]):
        raise UnsendableValueError(
            name, 'a parent set by its external id holds one field, e.g. {"Ext_Id__c": "A-1"}'
        )
    kept = {"attributes": dict(value["attributes"])} if isinstance(value.get("attributes"), Mapping) else {}
    return {**kept, keys[0]: json_value(value[keys[0]], f"{name}.{keys[0]}")}


def count_by_code(codes: Sequence[str]) -> dict[str, int]:
    """How many times each status code occurs, most frequent first (for summaries)."""
    return dict(sorted(Counter(codes).items(), key=lambda item: (-item[1], item[0])))
