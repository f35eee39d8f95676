"""Validation of names that end up in URLs or SOQL (object, field and external-id names)."""

from __future__ import annotations

import re

API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def validate_api_name(name: object, what: str = "name") -> str:
    """Return ``name`` when it is a safe Salesforce API name, else raise ``ValueError`` naming it.

    Object, field and external-id names are put into request paths and SOQL, so anything other
    than letters, digits and underscores (starting with a letter) is refused before it gets there.
    """
    # fullmatch, not match: ``$`` would also accept a trailing newline ("Contact\n").
    if not isinstance(name, str) or not API_NAME.fullmatch(name):
        raise ValueError(
            f"invalid Salesforce {what} {name!r}: use letters, digits and underscores, starting with a letter"
        )
    return name
