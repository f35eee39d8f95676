"""Bulk records through the org's one write path: each operation, outcomes in row order, errors as REST's."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.bulk_rows import Outcome, Target
from sfcrm_sandbox.models.writes import Writer
from tests.unit.models._bulk import bulk_org, external_key, live


@pytest.fixture
def org(tmp_path):
    yield from bulk_org(tmp_path)


def insert(org, *records, sobject="Contact"):
    return org.writer.apply(Target(sobject, "insert"), list(records))


def test_insert_answers_in_row_order_with_rest_error_codes(org):
    outcomes = insert(org, {"LastName": "A"}, {"LastName": "B", "Email": "nope"}, {"Title": "x"})
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[0].created and outcomes[0].record_id.startswith("003")
    assert outcomes[1].error["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert outcomes[2].error["statusCode"] == "REQUIRED_FIELD_MISSING"
    # The same records through the REST path fail with the same codes.
    rest, _ = Writer(org.store).save(
        [
            {"attributes": {"type": "Contact"}, "LastName": "B", "Email": "nope"},
            {"attributes": {"type": "Contact"}},
        ],
        mode="insert",
    )
    assert [r["errors"][0]["statusCode"] for r in rest] == ["INVALID_EMAIL_ADDRESS", "REQUIRED_FIELD_MISSING"]


def test_update_by_id_and_wrong_object_ids(org):
    (made,) = insert(org, {"LastName": "A"})
    (account,) = insert(org, {"Name": "Acme"}, sobject="Account")
    outcomes = org.writer.apply(
        Target("Contact", "update"),
        [{"Id": made.record_id, "Title": "Boss"}, {"Id": account.record_id, "Title": "x"}],
    )
    assert outcomes[0] == Outcome(made.record_id, created=False)
    assert outcomes[1].error["statusCode"] == "MALFORMED_ID"
    assert live(org)[0]["Title"] == "Boss"


def test_upsert_on_an_external_id_reports_created(org):
    external_key(org)
    key = org.store.custom_field("Contact", "Key__c")
    target = Target("Contact", "upsert", key)
    first = org.writer.apply(target, [{"Key__c": "k1", "LastName": "A"}])
    again = org.writer.apply(target, [{"Key__c": "k1", "LastName": "B"}, {"Key__c": "k2", "LastName": "C"}])
    assert first[0].created and not again[0].created and again[1].created
    assert again[0].record_id == first[0].record_id
    assert sorted(c["LastName"] for c in live(org)) == ["B", "C"]


def test_upsert_on_id_updates_rows_with_an_id_and_inserts_the_others_in_row_order(org):
    (made,) = insert(org, {"LastName": "A"})
    outcomes = org.writer.apply(
        Target("Contact", "upsert"),
        [{"Id": "", "LastName": "New"}, {"Id": made.record_id, "Title": "T"}, {"LastName": "Other"}],
    )
    assert [(o.ok, o.created) for o in outcomes] == [(True, True), (True, False), (True, True)]
    assert outcomes[1].record_id == made.record_id
    assert len(live(org)) == 3


@pytest.mark.parametrize(("operation", "in_query_all"), [("delete", True), ("hardDelete", False)])
def test_delete_recycles_and_hard_delete_erases(org, operation, in_query_all):
    made = insert(org, {"LastName": "A"}, {"LastName": "B"})
    (account,) = insert(org, {"Name": "Acme"}, sobject="Account")
    outcomes = org.writer.apply(
        Target("Contact", operation), [{"Id": made[0].record_id}, {"id": account.record_id}, {"Id": "bad"}]
    )
    assert outcomes[0].ok
    assert [o.error["statusCode"] for o in outcomes[1:]] == ["MALFORMED_ID", "MALFORMED_ID"]
    remaining = [data["Id"] for _, _, data in org.store.scan("Contact", include_deleted=True)]
    assert (made[0].record_id in remaining) is in_query_all
    assert len(live(org)) == 1 and len(live(org, "Account")) == 1


def test_assignment_rules_run_only_when_the_job_names_one(org):
    leads = [{"LastName": "L", "Company": "C"}]
    (plain,) = org.writer.apply(Target("Lead", "insert"), leads)
    (assigned,) = org.writer.apply(Target("Lead", "insert", assign=True), leads)
    owners = {data["Id"]: data["OwnerId"] for data in live(org, "Lead")}
    assert owners[plain.record_id] == org.store.user_id
    assert owners[assigned.record_id] == org.store.router_user_id


def test_a_record_the_org_refuses_whole_fails_its_chunk_not_the_job(org):
    outcomes = insert(org, {"attributes": {"type": "Nope"}, "LastName": "A"}, {"LastName": "B"})
    assert [o.error["statusCode"] for o in outcomes] == ["INVALID_TYPE", "INVALID_TYPE"]
    assert insert(org, {"LastName": "C"})[0].ok


def test_error_text_is_code_message_fields():
    with_fields = Outcome(None, error={"statusCode": "X", "message": "m", "fields": ["A", "B"]})
    without = Outcome(None, error={"statusCode": "Y", "message": "n: o", "fields": []})
    assert with_fields.error_text() == "X:m:A B --"
    assert without.error_text() == "Y:n: o:--"
