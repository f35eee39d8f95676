"""Duplicate rules on Lead and Contact e-mail: off by default, switched on by the command line or
/__sandbox/duplicate-rules; DUPLICATES_DETECTED unless Sforce-Duplicate-Rule-Header allows saving."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfcrm_sandbox.process import start_sandbox
from tests.integration._bulk import ingest, results
from tests.integration._clients import api, authed, contact, create_custom_field, http, lead, unique

pytestmark = pytest.mark.integration

ALLOW = {"Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=false"}
DETECTED = {"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []}


@pytest.fixture
def rules_on(sandbox):
    sandbox.set_duplicate_rules(Lead=True, Contact=True)
    yield
    sandbox.set_duplicate_rules(Lead=False, Contact=False)


@pytest.fixture
def session(sandbox):
    return authed(sandbox)


def create(session, sandbox, records, headers=None):
    response = session.post(
        api(sandbox, "/composite/sobjects"), json={"records": records}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def address():
    return f"{unique('dup')}@example.com"


def test_rules_are_off_by_default(sandbox, session):
    email = address()
    assert [r["success"] for r in create(session, sandbox, [lead(Email=email)])] == [True]
    assert [r["success"] for r in create(session, sandbox, [lead(Email=email)])] == [True]
    assert {r["active"] for r in sandbox.set_duplicate_rules()} == {False}


def test_a_duplicate_email_is_refused_per_record(sandbox, session, rules_on):
    email = address()
    create(session, sandbox, [lead(Email=email)])
    answered = create(session, sandbox, [lead(Email=f"  {email.upper()} "), lead(Email=address())])
    assert answered[0] == {"success": False, "errors": [DETECTED]}
    assert answered[1]["success"] is True


def test_single_record_answers_carry_the_duplicate_result(sandbox, session, rules_on):
    email = address()
    (existing,) = create(session, sandbox, [contact(Email=email)])
    response = session.post(api(sandbox, "/sobjects/Contact"), json={"LastName": "Twin", "Email": email})
    assert response.status_code == 400
    (problem,) = response.json()
    assert (problem["errorCode"], problem["message"], problem["fields"]) == (
        "DUPLICATES_DETECTED",
        "Use one of these records?",
        [],
    )
    detail = problem["duplicateResult"]
    assert (detail["allowSave"], detail["duplicateRuleEntityType"]) == (True, "Contact")
    (match,) = detail["matchResults"]
    assert (match["entityType"], match["matchEngine"], match["size"], match["success"]) == (
        "Contact",
        "ExactMatchEngine",
        1,
        True,
    )
    record = match["matchRecords"][0]["record"]
    assert record == {
        "attributes": {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{existing['id']}"},
        "Id": existing["id"],
    }


def test_allow_save_writes_the_duplicate(sandbox, session, rules_on):
    email = address()
    create(session, sandbox, [lead(Email=email)])
    assert create(session, sandbox, [lead(Email=email)], headers=ALLOW)[0]["success"] is True
    single = session.post(
        api(sandbox, "/sobjects/Lead"), json={"LastName": "L", "Company": "C", "Email": email}, headers=ALLOW
    )
    assert single.status_code == 201
    refused = session.post(
        api(sandbox, "/sobjects/Lead"),
        json={"LastName": "L", "Company": "C", "Email": email},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=false"},
    )
    assert refused.status_code == 400


def test_rules_run_on_edit(sandbox, session, rules_on):
    taken, mine = address(), address()
    ids = [r["id"] for r in create(session, sandbox, [lead(Email=taken), lead(Email=mine)])]
    updates = [
        {"attributes": {"type": "Lead"}, "Id": ids[1], "Title": "keeps its own address"},
        {"attributes": {"type": "Lead"}, "Id": ids[1], "Email": taken},
    ]
    first = session.patch(api(sandbox, "/composite/sobjects"), json={"records": updates[:1]}).json()
    second = session.patch(api(sandbox, "/composite/sobjects"), json={"records": updates[1:]}).json()
    assert first[0]["success"] is True
    assert second[0]["errors"] == [DETECTED]


def test_an_upsert_that_updates_matches_only_itself(sandbox, sf, session, rules_on):
    key_field = create_custom_field(sf, "Lead", {"type": "Text", "length": 30, "externalId": True})
    email, key = address(), unique("k")
    records = [lead(Email=email, **{key_field: key})]
    for expected_created in (True, False):
        (result,) = session.patch(
            api(sandbox, f"/composite/sobjects/Lead/{key_field}"), json={"records": records}
        ).json()
        assert (result["success"], result.get("created")) == (True, expected_created)


def test_rules_are_per_object(sandbox, session):
    sandbox.set_duplicate_rules(Lead=True)
    try:
        email = address()
        create(session, sandbox, [contact(Email=email), lead(Email=email)])
        answered = create(session, sandbox, [contact(Email=email), lead(Email=email)])
        assert [r["success"] for r in answered] == [True, False]
    finally:
        sandbox.set_duplicate_rules(Lead=False)


def test_composite_subrequests_take_their_own_header(sandbox, session, rules_on):
    email = address()
    create(session, sandbox, [lead(Email=email)])
    body = {"LastName": "C", "Company": "C", "Email": email}
    subrequests = [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Lead", "referenceId": "plain", "body": body},
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/Lead",
            "referenceId": "allowed",
            "body": body,
            "httpHeaders": ALLOW,
        },
    ]
    answers = session.post(api(sandbox, "/composite"), json={"compositeRequest": subrequests}).json()
    assert [a["httpStatusCode"] for a in answers["compositeResponse"]] == [400, 201]
    assert answers["compositeResponse"][0]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"


def test_bulk_cannot_allow_duplicates(sandbox, session, rules_on):
    email = address()
    create(session, sandbox, [contact(Email=email)])
    session.headers.update(ALLOW)  # Bulk jobs take no such header: the rule still holds
    info = ingest(session, sandbox, f"LastName,Email\nBulk,{email}\n")
    failed = results(session, sandbox, info["id"], "failedResults")
    assert failed[1][1] == "DUPLICATES_DETECTED:Use one of these records?:--"


def test_simple_salesforce_sees_the_error_and_can_allow_saving(sandbox, sf, rules_on):
    email = address()
    sf.Contact.create({"LastName": "One", "Email": email})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({"LastName": "Two", "Email": email})
    assert refused.value.content[0]["errorCode"] == "DUPLICATES_DETECTED"
    assert sf.Contact.create({"LastName": "Two", "Email": email}, headers=ALLOW)["success"] is True


def test_the_rules_endpoint(sandbox):
    session = http(sandbox)
    url = f"{sandbox.base_url}/__sandbox/duplicate-rules"
    rules = session.get(url).json()["rules"]
    assert [(r["object"], r["field"], r["active"]) for r in rules] == [
        ("Lead", "Email", False),
        ("Contact", "Email", False),
    ]
    for bad in ({"Account": True}, {"Lead": "yes"}, ["Lead"]):
        response = session.post(url, json=bad)
        assert response.status_code == 400 and "error" in response.json()


@pytest.mark.parametrize(
    ("options", "active"),
    [({"duplicate_rules": True}, {"Lead", "Contact"}), ({"duplicate_rule": ["contact:email"]}, {"Contact"})],
)
def test_the_command_line_switches_rules_on(tmp_path, options, active):
    with start_sandbox(tmp_path, **options) as org:
        assert {r["object"] for r in org.set_duplicate_rules() if r["active"]} == active


def test_an_unknown_rule_stops_the_sandbox(tmp_path):
    with pytest.raises(RuntimeError, match="no duplicate rule 'Account:Name'"):
        start_sandbox(tmp_path, duplicate_rule=["Account:Name"])
