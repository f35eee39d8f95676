"""Duplicate rules: which exist, switching them, and what they say about a write (no server)."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.duplicates import (
    DuplicateRules,
    UnknownRule,
    duplicates_detected,
    public_error,
    rule_of,
)
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.writes import Writer


@pytest.mark.parametrize("text", ["Lead", "lead:email", " Contact : Email "])
def test_rules_by_name(text):
    assert rule_of(text).field == "Email"


@pytest.mark.parametrize("text", ["Account", "Lead:Phone", ""])
def test_unknown_rules(text):
    with pytest.raises(UnknownRule):
        rule_of(text)


def test_switching_rules():
    rules = DuplicateRules(["contact"])
    assert [r["active"] for r in rules.state()] == [False, True]
    rules.set_active("Lead", True)
    rules.set_active("Contact", False)
    assert rules.active("Lead") and not rules.active("Contact")


def test_the_detail_stays_out_of_public_errors():
    err = duplicates_detected(rule_of("Lead"), ["00Qak0000000001AAA"])
    assert err["duplicateResult"]["matchResults"][0]["size"] == 1
    assert public_error(err) == {
        "statusCode": "DUPLICATES_DETECTED",
        "message": "Use one of these records?",
        "fields": [],
    }


@pytest.fixture
def writer(tmp_path):
    store = OrgStore(tmp_path / "org.sqlite3", "u@example.com")
    yield Writer(store)
    store.close()


def lead(email):
    return {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C", "Email": email}


def test_a_write_matches_saved_records_by_email_without_regard_to_case(writer):
    writer.store.duplicate_rules.set_active("Lead", True)
    (saved,), _ = writer.save([lead("Ann@Example.com")], mode="insert")
    results, written = writer.save([lead(" ann@example.COM "), lead("bob@example.com")], mode="insert")
    assert [r["success"] for r in results] == [False, True] and written == 1
    (detailed,), _ = writer.save([lead("ann@example.com")], mode="insert", details=True)
    match = detailed["errors"][0]["duplicateResult"]["matchResults"][0]["matchRecords"][0]
    assert match["record"]["Id"] == saved["id"]
    (allowed,), _ = writer.save([lead("ann@example.com")], mode="insert", allow_duplicates=True)
    assert allowed["success"] is True


def test_records_of_the_same_request_do_not_match_each_other(writer):
    writer.store.duplicate_rules.set_active("Lead", True)
    results, _ = writer.save([lead("same@example.com"), lead("same@example.com")], mode="insert")
    assert [r["success"] for r in results] == [True, True]


def test_data_written_before_the_index_existed_is_indexed_once(tmp_path):
    store = OrgStore(tmp_path / "org.sqlite3", "u@example.com")
    Writer(store).save([lead("old@example.com")], mode="insert")
    store.db.execute("DELETE FROM keyval WHERE field = 'email'")
    store.db.execute("DELETE FROM meta WHERE key = 'match_index'")
    store.close()
    store = OrgStore(tmp_path / "org.sqlite3", "u@example.com")
    store.duplicate_rules.set_active("Lead", True)
    (result,), _ = Writer(store).save([lead("OLD@example.com")], mode="insert")
    assert result["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    store.close()
