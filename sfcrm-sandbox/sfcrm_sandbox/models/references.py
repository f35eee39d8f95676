"""Composite API references: ``@{referenceId.path}`` in a subrequest's URL, body or headers stands for
a value of an earlier subrequest's response body (``docs/salesforce-facts.md``, "Composite").

A path is dot-separated names with ``[n]`` indexes: ``@{NewAccount.id}``,
``@{Found.records[0].Id}``. A string that is exactly one reference takes the value itself (a
number stays a number); a reference inside a longer string is replaced by the value's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_MISSING = object()


class UnresolvedReference(Exception):
    """A reference to no earlier subrequest, or to a value its response does not have."""

    def __init__(self, reference: str, reference_id: str) -> None:
        super().__init__(f"Invalid reference specified. No value for {reference} found in {reference_id}.")
        self.reference = reference
        self.reference_id = reference_id


def _lookup(body: Any, path: str) -> Any:
    value = body
    for name, index in _STEP.findall(path):
        if name:
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        else:
            position = int(index)
            value = value[position] if isinstance(value, list) and position < len(value) else _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _value(match: re.Match[str], bodies: Mapping[str, Any]) -> Any:
    reference_id, path = match.group(1), match.group(2)
    reference = reference_id + path
    if reference_id not in bodies or not path:
        raise UnresolvedReference(reference, reference_id)
    value = _lookup(bodies[reference_id], path)
    if value is _MISSING or isinstance(value, (dict, list)):
        raise UnresolvedReference(reference, reference_id)
    return value


def resolve(value: Any, bodies: Mapping[str, Any]) -> Any:
    """``value`` (a URL, a JSON body or headers) with every reference replaced.

    :param bodies: the response bodies of the earlier subrequests that succeeded, by referenceId.
    :raises UnresolvedReference: for the first reference that names nothing.
    """
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _value(whole, bodies)
        return _REFERENCE.sub(lambda m: _text(_value(m, bodies)), value)
    if isinstance(value, list):
        return [resolve(item, bodies) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, bodies) for key, item in value.items()}
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)
