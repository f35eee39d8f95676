"""API names of new custom fields, custom objects and platform events, as Salesforce's creation
rules state them.

Setup refuses a name unless it "can only contain underscores and alphanumeric characters",
"begins with a letter", "does not include spaces", "does not end with an underscore", "does not
contain two consecutive underscores", and is at most 40 characters; the API name is that name
plus ``__c`` (fields, objects) or ``__e`` (platform events) (``docs/salesforce-facts.md``, "API
names").
"""

from __future__ import annotations

import string

CUSTOM_SUFFIX = "__c"
EVENT_SUFFIX = "__e"
MAX_CUSTOM_NAME_LENGTH = 40
_ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
_LETTERS = frozenset(string.ascii_letters)


def custom_field_name_problem(api_name: str, suffix: str = CUSTOM_SUFFIX) -> str | None:
    """Why ``api_name`` (``<name>__c``, or ``<name><suffix>``) cannot name a new custom field or
    object, or None when it can."""
    if not api_name.lower().endswith(suffix):
        return f"must end in {suffix}"
    name = api_name[: -len(suffix)]
    if not name:
        return f"has no name before {suffix}"
    if any(ch not in _ALPHANUMERIC and ch != "_" for ch in name):
        return "may contain only letters, digits and underscores"
    if name[0] not in _LETTERS:
        return "must begin with a letter"
    if name.endswith("_"):
        return "must not end with an underscore"
    if "__" in name:
        return "must not contain two consecutive underscores"
    if len(name) > MAX_CUSTOM_NAME_LENGTH:
        return f"must be at most {MAX_CUSTOM_NAME_LENGTH} characters before {suffix}"
    return None


def custom_field_api_name(api_name: str, suffix: str = CUSTOM_SUFFIX) -> str:
    """``api_name`` with its suffix spelled ``__c`` (or ``suffix``; the caller checked it with the
    rules above)."""
    return api_name[: -len(suffix)] + suffix
