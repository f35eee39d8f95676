"""The embedded profile store the example DAGs read from: a SQLite file, generated deterministically.

It stands in for a customer-data warehouse: ``profiles`` (one row per person, with the Salesforce Id
of the person's Contact or Lead once it exists in the CRM), ``audiences`` (the three audiences and
their Mapping IDs) and ``audience_memberships`` (one row per status change: ``realized`` when a
person qualifies, ``existing`` when a later evaluation confirms it, ``exited`` when they leave),
covering two weeks from :data:`WINDOW_START`.

Generate one with ``python dags/sfcrm_examples/profile_store.py PATH [--profiles N] [--seed S]``.
The same seed and size always give the same file contents. Salesforce Ids are filled in later by
:mod:`sfcrm_examples.seed_org`, which creates the matching Contacts and Leads in an org.

Only the standard library is used here, so the generator runs without Airflow.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


@dataclass(frozen=True)
class Audience:
    """An audience of the store and the Mapping ID of its status field in Salesforce."""

    audience_id: str
    name: str
    mapping_id: str
    share: float  # probability that a person is a member at some point in the window


AUDIENCES: tuple[Audience, ...] = (
    Audience("high_value", "High-value customers", "crm_1_seg", 0.20),
    Audience("cart_abandoners", "Abandoned a cart", "crm_2_seg", 0.30),
    Audience("newsletter", "Newsletter subscribers", "crm_3_seg", 0.45),
)
STATUSES = ("realized", "existing", "exited")
WINDOW_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
WINDOW_DAYS = 14
DEFAULT_PROFILES = 3000
DEFAULT_SEED = 20260101
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

SCHEMA = """
CREATE TABLE profiles (
    profile_id    TEXT PRIMARY KEY,
    crm_object    TEXT NOT NULL CHECK (crm_object IN ('Contact', 'Lead')),
    in_crm        INTEGER NOT NULL,  -- 0: captured offline, never synced to Salesforce
    salesforce_id TEXT UNIQUE,       -- the Contact/Lead Id, once the person exists in the CRM
    first_name    TEXT,
    last_name     TEXT NOT NULL,
    email         TEXT,
    company       TEXT
);
CREATE TABLE audiences (
    audience_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    mapping_id  TEXT NOT NULL
);
CREATE TABLE audience_memberships (
    profile_id  TEXT NOT NULL REFERENCES profiles (profile_id),
    audience_id TEXT NOT NULL REFERENCES audiences (audience_id),
    status      TEXT NOT NULL CHECK (status IN ('realized', 'existing', 'exited')),
    changed_at  TEXT NOT NULL,       -- UTC, 'YYYY-MM-DD HH:MM:SS'
    PRIMARY KEY (profile_id, audience_id, changed_at)
);
CREATE INDEX audience_memberships_changed_at ON audience_memberships (changed_at);
"""

_FIRST_NAMES = (
    "Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Maya", "Nils", "Olga", "Pablo", "Qing", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Abara", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Yilmaz", "Zhang",
)  # fmt: skip
_COMPANIES = (
    "Acme Corp", "Globex", "Initech", "Umbrella Logistics", "Stark Foods", "Wayne Media",
    "Tyrell Systems", "Soylent Retail", "Hooli", "Vandelay Imports",
)  # fmt: skip


def format_timestamp(moment: datetime) -> str:
    """A datetime as the store writes timestamps: UTC, ``YYYY-MM-DD HH:MM:SS``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(TIMESTAMP_FORMAT)


def _membership_changes(rng: random.Random, start: datetime, days: int) -> Iterator[tuple[str, datetime]]:
    """One person's status changes in one audience, in time order.

    A person qualifies (``realized``), is confirmed by the next evaluation a day or two later
    (``existing``) or drops out (``exited``), may exit later, and may qualify again.
    """
    end = start + timedelta(days=days)
    # A third of the members qualify in the first day's evaluation; the rest join over the window.
    if rng.random() < 0.35:
        moment = start + timedelta(seconds=rng.randrange(86_400))
    else:
        moment = start + timedelta(seconds=rng.randrange(days * 86_400))
    status = "realized"
    while moment < end:
        yield status, moment
        if status == "realized":
            status = "existing" if rng.random() < 0.75 else "exited"
            moment += timedelta(days=1, seconds=rng.randrange(2 * 86_400))
        elif status == "existing":
            if rng.random() >= 0.35:
                return
            status = "exited"
            moment += timedelta(days=1, seconds=rng.randrange(6 * 86_400))
        else:
            if rng.random() >= 0.30:
                return
            status = "realized"
            moment += timedelta(days=1, seconds=rng.randrange(5 * 86_400))


def generate_profile_store(
    path: str | Path,
    *,
    profiles: int = DEFAULT_PROFILES,
    seed: int = DEFAULT_SEED,
    start: datetime = WINDOW_START,
    days: int = WINDOW_DAYS,
    lead_share: float = 0.4,
    not_in_crm_share: float = 0.01,
) -> dict[str, int]:
    """(Re)create the store at ``path``; return row counts.

    :param profiles: number of people.
    :param seed: the random seed; the same seed and arguments give the same contents.
    :param start: the first moment of the membership window (UTC).
    :param days: length of the window in days.
    :param lead_share: share of people who are Leads (the rest are Contacts).
    :param not_in_crm_share: share of people who never reached Salesforce (no Id: an activation
        rejects them as ``MISSING_IDENTITY``, which shows how rejected rows are reported).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    profile_rows = []
    membership_rows = []
    for number in range(1, profiles + 1):
        profile_id = f"P{number:07d}"
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        is_lead = rng.random() < lead_share
        profile_rows.append(
            (
                profile_id,
                "Lead" if is_lead else "Contact",
                0 if rng.random() < not_in_crm_share else 1,
                None,
                first,
                last,
                f"{first}.{last}.{number}@example.com".lower(),
                rng.choice(_COMPANIES) if is_lead else None,
            )
        )
        for audience in AUDIENCES:
            if rng.random() < audience.share:
                for status, moment in _membership_changes(rng, start, days):
                    membership_rows.append(
                        (profile_id, audience.audience_id, status, format_timestamp(moment))
                    )
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", profile_rows)
        db.executemany(
            "INSERT INTO audiences VALUES (?, ?, ?)",
            [(a.audience_id, a.name, a.mapping_id) for a in AUDIENCES],
        )
        db.executemany("INSERT INTO audience_memberships VALUES (?, ?, ?, ?)", membership_rows)
    db.close()
    return {"profiles": len(profile_rows), "audiences": len(AUDIENCES), "memberships": len(membership_rows)}


def profiles_to_create(path: str | Path, crm_object: str) -> list[dict[str, str | None]]:
    """People of ``crm_object`` who belong in the CRM but have no Salesforce Id yet (store order)."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT profile_id, first_name, last_name, email, company FROM profiles"
            " WHERE crm_object = ? AND in_crm = 1 AND salesforce_id IS NULL ORDER BY profile_id",
            (crm_object,),
        ).fetchall()
    db.close()
    return [dict(row) for row in rows]


def set_salesforce_ids(path: str | Path, ids_by_profile: Mapping[str, str]) -> None:
    """Record the Salesforce Id of each person's Contact or Lead."""
    with sqlite3.connect(path) as db:
        db.executemany(
            "UPDATE profiles SET salesforce_id = ? WHERE profile_id = ?",
            [(sf_id, profile_id) for profile_id, sf_id in ids_by_profile.items()],
        )
    db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the example profile store (SQLite).")
    parser.add_argument("path", type=Path)
    parser.add_argument("--profiles", type=int, default=DEFAULT_PROFILES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    counts = generate_profile_store(args.path, profiles=args.profiles, seed=args.seed)
    print(f"profile store {args.path}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


if __name__ == "__main__":
    main()
