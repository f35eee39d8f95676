"""Salesforce record Ids: 15-character case-sensitive and 18-character checksummed forms."""

from __future__ import annotations

import re
import string

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_UPPER_AS_ONE = str.maketrans(
    string.ascii_uppercase + string.ascii_lowercase + string.digits, "1" * 26 + "0" * 36
)
_ID_CHARS = re.compile(r"^[0-9A-Za-z]+\Z")

# Key prefixes (first three characters of an Id) of standard objects whose prefixes are fixed in
# every org: the setup objects the hook checks Ids of, and common data objects. The object written
# by an export is told by its describe's ``keyPrefix`` (custom objects get theirs per org, ``a0…``).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "Campaign": "701",
    "CampaignMember": "00v",
    "User": "005",
    "Organization": "00D",
    "Profile": "00e",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "FieldPermissions": "01k",
    "CustomField": "00N",
}


def checksum(id15: str) -> str:
    """The three-character suffix that turns a 15-character Id into its 18-character form.

    Each 5-character chunk gives a 5-bit number whose bit *i* is set when character *i* is an
    upper-case letter; the number indexes ``A..Z0..5``. Raises ``ValueError`` for anything but
    15 letters and digits.
    """
    # Hot path (every Id a segment carries, every record the sandbox creates): one translate and
    # three int() parses instead of a generator per chunk. Reversed slices put character 0 in bit 0.
    flags = id15.translate(_UPPER_AS_ONE)
    try:
        if len(id15) != 15:
            raise ValueError
        return (
            _CHECKSUM_ALPHABET[int(flags[4::-1], 2)]
            + _CHECKSUM_ALPHABET[int(flags[9:4:-1], 2)]
            + _CHECKSUM_ALPHABET[int(flags[14:9:-1], 2)]
        )
    except ValueError:
        raise ValueError(f"a 15-character Salesforce Id has only letters and digits, got {id15!r}") from None


def to18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character Id (an 18-character Id is returned as is)."""
    if len(record_id) == 18:
        return record_id
    if len(record_id) != 15:
        raise ValueError(f"a Salesforce Id has 15 or 18 characters, got {len(record_id)}")
    if not _ID_CHARS.match(record_id):
        raise ValueError(f"a Salesforce Id has only letters and digits, got {record_id!r}")
    return record_id + checksum(record_id)


def is_well_formed(record_id: object) -> bool:
    """True when ``record_id`` is a 15-character Id, or an 18-character Id with a valid checksum."""
    if not isinstance(record_id, str) or len(record_id) not in (15, 18) or not _ID_CHARS.match(record_id):
        return False
    if len(record_id) == 15:
        return True
    # The checksum is case-insensitive: Salesforce accepts it in either case.
    return checksum(record_id[:15]) == record_id[15:].upper()


def has_prefix_of(record_id: str, sobject: str) -> bool:
    """True when the Id's key prefix is the one of ``sobject`` (unknown objects never match)."""
    prefix = KEY_PREFIXES.get(sobject)
    return prefix is not None and record_id[:3] == prefix
