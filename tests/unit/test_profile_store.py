"""The example profile store: deterministic, sized on demand, and a plausible membership history."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
sys.path.insert(0, str(DAGS_FOLDER))

from sfcrm_examples.profile_store import (  # noqa: E402
    AUDIENCES,
    WINDOW_DAYS,
    WINDOW_START,
    format_timestamp,
    generate_profile_store,
    profiles_to_create,
    set_salesforce_ids,
)

# Which status may follow which, for one person in one audience.
ALLOWED_NEXT = {
    None: {"realized"},
    "realized": {"existing", "exited"},
    "existing": {"exited"},
    "exited": {"realized"},
}


def dump(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "profile_store.sqlite"
    generate_profile_store(path, profiles=400)
    return path


def test_same_seed_same_contents_and_another_seed_differs(tmp_path: Path):
    first, second, other = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "c.sqlite"
    generate_profile_store(first, profiles=200, seed=1)
    generate_profile_store(second, profiles=200, seed=1)
    generate_profile_store(other, profiles=200, seed=2)
    digest = [hashlib.sha256(dump(p).encode()).hexdigest() for p in (first, second, other)]
    assert digest[0] == digest[1] != digest[2]


@pytest.mark.parametrize("profiles", [1, 50, 3000])
def test_size_is_a_parameter(tmp_path: Path, profiles: int):
    counts = generate_profile_store(tmp_path / "store.sqlite", profiles=profiles)
    assert counts["profiles"] == profiles
    assert counts["audiences"] == len(AUDIENCES) == 3
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM profiles").fetchone()[0] == profiles
        assert db.execute("SELECT COUNT(*) FROM audience_memberships").fetchone()[0] == counts["memberships"]


def test_regenerating_replaces_the_file(tmp_path: Path):
    path = tmp_path / "store.sqlite"
    generate_profile_store(path, profiles=100)
    generate_profile_store(path, profiles=10)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM profiles").fetchone()[0] == 10


def test_people_are_contacts_or_leads_and_leads_have_a_company(store: Path):
    with sqlite3.connect(store) as db:
        kinds = dict(db.execute("SELECT crm_object, COUNT(*) FROM profiles GROUP BY crm_object").fetchall())
        assert set(kinds) == {"Contact", "Lead"} and min(kinds.values()) > 50
        assert db.execute(
            "SELECT COUNT(*) FROM profiles WHERE crm_object = 'Lead' AND company IS NULL"
        ).fetchone() == (0,)
        assert db.execute(
            "SELECT COUNT(*) FROM profiles WHERE last_name IS NULL OR email NOT LIKE '%@%'"
        ).fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM profiles WHERE salesforce_id IS NOT NULL").fetchone() == (0,)


def test_two_weeks_of_changes_in_every_audience_with_valid_transitions(store: Path):
    end = WINDOW_START + timedelta(days=WINDOW_DAYS)
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT profile_id, audience_id, status, changed_at FROM audience_memberships"
            " ORDER BY profile_id, audience_id, changed_at"
        ).fetchall()
    assert {audience for _, audience, _, _ in rows} == {a.audience_id for a in AUDIENCES}
    days = set()
    previous: dict[tuple[str, str], str | None] = {}
    for profile_id, audience_id, status, changed_at in rows:
        moment = datetime.fromisoformat(changed_at).replace(tzinfo=timezone.utc)
        assert WINDOW_START <= moment < end
        days.add(moment.date())
        key = (profile_id, audience_id)
        assert status in ALLOWED_NEXT[previous.get(key)], (key, previous.get(key), status)
        previous[key] = status
    assert len(days) == WINDOW_DAYS
    assert {status for _, _, status, _ in rows} == {"realized", "existing", "exited"}


def test_ids_are_written_back_and_people_outside_the_crm_are_left_out(tmp_path: Path):
    path = tmp_path / "store.sqlite"
    generate_profile_store(path, profiles=300, not_in_crm_share=0.1)
    contacts = profiles_to_create(path, "Contact")
    with sqlite3.connect(path) as db:
        outside = db.execute(
            "SELECT COUNT(*) FROM profiles WHERE crm_object = 'Contact' AND in_crm = 0"
        ).fetchone()[0]
        everyone = db.execute("SELECT COUNT(*) FROM profiles WHERE crm_object = 'Contact'").fetchone()[0]
    assert outside > 0 and len(contacts) == everyone - outside
    set_salesforce_ids(path, {p["profile_id"]: f"003{n:015d}" for n, p in enumerate(contacts[:5])})
    assert len(profiles_to_create(path, "Contact")) == len(contacts) - 5


def test_timestamps_are_utc_text_that_sorts_like_time():
    moment = datetime(2026, 1, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-01-01 23:30:00"
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05"
