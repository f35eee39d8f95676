"""What the org should hold after syncing an example profile store, computed in plain Python.

The oracle of the example DAG tests and of ``make e2e``: it reads the store's change log with
``sqlite3`` and applies the reference semantics itself, sharing no code with the examples' queries
or the provider, so that a wrong query or a wrong derivation cannot agree with itself.
Keys are ``(profile_id, audience_id)``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path


def derive(before: str | None, member: bool) -> str | None:
    """The reference semantics: the status a later sync gives, from the one before and membership."""
    if member:
        return "existing" if before in ("realized", "existing") else "realized"
    return "exited" if before in ("realized", "existing", "exited") else None


def memberships(store: Path, as_of: datetime) -> set[tuple[str, str]]:
    """``(profile, audience)`` pairs whose latest status before ``as_of`` is not ``exited``, in Python."""
    latest = {
        key: status
        for key, (_, status) in expected_changes(
            store, datetime(2000, 1, 1, tzinfo=timezone.utc), as_of
        ).items()
    }
    return {key for key, status in latest.items() if status != "exited"}


def expected_after_syncs(store: Path, as_ofs: list[datetime]) -> dict[tuple[str, str], str | None]:
    """Each (profile, audience)'s status after membership syncs as of ``as_ofs``, in order."""
    statuses: dict[tuple[str, str], str | None] = {}
    for as_of in as_ofs:
        members = memberships(store, as_of)
        for key in set(statuses) | members:
            statuses[key] = derive(statuses.get(key), key in members)
    return statuses


def expected_changes(store: Path, start: datetime, end: datetime) -> dict[tuple[str, str], tuple[str, str]]:
    """Each (profile, audience)'s latest ``(changed_at, status)`` in ``[start, end)``, in Python."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    with sqlite3.connect(store) as db:
        for profile_id, audience_id, status, changed_at in db.execute(
            "SELECT profile_id, audience_id, status, changed_at FROM audience_memberships"
        ):
            moment = datetime.fromisoformat(changed_at).replace(tzinfo=timezone.utc)
            if start <= moment < end:
                key = (profile_id, audience_id)
                if key not in latest or latest[key][0] < changed_at:
                    latest[key] = (changed_at, status)
    return latest


def expected_statuses(store: Path, start: datetime, end: datetime) -> dict[tuple[str, str], str]:
    """Each (profile, audience)'s latest status change in ``[start, end)``, computed in Python."""
    return {key: status for key, (_, status) in expected_changes(store, start, end).items()}
