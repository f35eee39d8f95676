"""Record Ids as Salesforce documents them (``docs/salesforce-facts.md``, "Record Ids").

An Id is 15 case-sensitive characters from ``0-9 A-Z a-z``, or those 15 followed by a
three-character suffix that records which of them are upper-case letters: the 18-character form
the API returns, which survives case-insensitive tools. Its first three characters are the key
prefix of the record's object. Written from those documented rules for the sandbox alone: the
sandbox is the oracle clients are tested against, so it must not borrow their code.
"""

from __future__ import annotations

import string
from functools import lru_cache

ID_CHARACTERS = frozenset(string.digits + string.ascii_uppercase + string.ascii_lowercase)
#: The 32 symbols the suffix is written in: A-Z for 0-25, then 0-5 for 26-31.
SUFFIX_SYMBOLS = string.ascii_uppercase + "012345"
_UPPER_CASE = frozenset(string.ascii_uppercase)

#: Key prefixes of the objects the sandbox org has (Salesforce's record-Id prefix table).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "User": "005",
    "Organization": "00D",
    "Profile": "00e",
    "CustomField": "00N",
    "OpportunityContactRole": "00K",
    "CustomObject": "01I",
    "Lead": "00Q",
    "CampaignMember": "00v",
    "FieldPermissions": "01k",
    "AccountContactRelation": "07k",
    "ObjectPermissions": "110",
    "PermissionSetAssignment": "0Pa",
    "PermissionSet": "0PS",
    "Campaign": "701",
}
_OBJECT_OF_PREFIX = {prefix: sobject for sobject, prefix in KEY_PREFIXES.items()}


def case_suffix(id15: str) -> str:
    """The suffix that makes a 15-character Id case-safe.

    The 15 characters are read as three groups of five. In each group, character *n* (counted
    from 0, left to right) contributes 2**n when it is an upper-case letter A-Z; the group's sum,
    0 to 31, is written as one :data:`SUFFIX_SYMBOLS` symbol.
    """
    symbols = []
    for group_start in (0, 5, 10):
        weight, total = 1, 0
        for character in id15[group_start : group_start + 5]:
            if character in _UPPER_CASE:
                total += weight
            weight *= 2
        symbols.append(SUFFIX_SYMBOLS[total])
    return "".join(symbols)


def canonical_id(value: object) -> str | None:
    """The 18-character form of ``value`` when it is a well-formed Id, else None.

    Well formed: 15 Id characters; or 18, whose last three are the case suffix of the first 15,
    in upper or lower case (the suffix is case-insensitive; the 15 characters are not). The
    canonical form has the suffix in upper case.
    """
    if not isinstance(value, str) or len(value) not in (15, 18):
        return None
    return _canonical(value)


@lru_cache(maxsize=65536)
def _canonical(text: str) -> str | None:
    head = text[:15]
    if not ID_CHARACTERS.issuperset(head):
        return None
    suffix = case_suffix(head)
    if len(text) == 18 and text[15:].upper() != suffix:
        return None
    return head + suffix


def object_of_id(record_id: str) -> str | None:
    """The object whose key prefix starts ``record_id``, or None for prefixes the org does not know."""
    return _OBJECT_OF_PREFIX.get(record_id[:3])


def is_id_of(value: object, sobject: str) -> bool:
    """True when ``value`` is a well-formed Id of a record of ``sobject``."""
    return canonical_id(value) is not None and object_of_id(str(value)) == sobject
