"""REST API versions the org answers (``docs/salesforce-facts.md``, "API versions").

Three releases a year, each with its version: v59.0 is Winter '24, v66.0 Spring '26. Versions 21.0
to 30.0 are retired (the REST API answers them 410 GONE); the sandbox answers 31.0 to 67.0.
"""

from __future__ import annotations

import re

OLDEST_VERSION, LATEST_VERSION = 31, 67
FIRST_RETIRED_VERSION = 21
#: SOAP ``login()`` is not available from API v65.0 on (it is retired in Summer '27 altogether).
LAST_SOAP_LOGIN_VERSION = 64
_SEASONS = ("Winter", "Spring", "Summer")
_VERSION = re.compile(r"(\d+)\.0")


def version_label(major: int) -> str:
    """The release name of API version ``major`` (``59`` → ``Winter '24``)."""
    index = major - 59
    return f"{_SEASONS[index % 3]} '{24 + index // 3:02d}"


def major_of(version: str) -> int | None:
    """``62`` for ``"62.0"``; None for anything that is not a version number."""
    match = _VERSION.fullmatch(version)
    return int(match.group(1)) if match else None


def is_supported(major: int) -> bool:
    return OLDEST_VERSION <= major <= LATEST_VERSION


def is_retired(major: int) -> bool:
    return FIRST_RETIRED_VERSION <= major < OLDEST_VERSION
