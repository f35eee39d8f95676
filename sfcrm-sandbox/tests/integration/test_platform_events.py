"""Platform events: defined with --platform-event, published through REST, sObject Collections,
Composite and Bulk, validated like records, never read back through the API; what was published is
at GET /__sandbox/events/<name>."""

from __future__ import annotations

import uuid

import pytest

from sfcrm_sandbox.process import start_sandbox
from tests.integration._bulk import ingest
from tests.integration._clients import api, authed, contact, salesforce

pytestmark = pytest.mark.integration

EVENT = "Notification__e"
EVENT_ID = "e00xx0000000001AAA"


def event(**fields):
    return {"attributes": {"type": EVENT}, **fields}


def publish(session, sandbox, records, **body):
    response = session.post(api(sandbox, "/composite/sobjects"), json={"records": records, **body})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def session(sandbox):
    sandbox.reset()
    return authed(sandbox)


def test_a_published_event_is_enqueued_and_listed(sandbox, session):
    response = session.post(
        api(sandbox, f"/sobjects/{EVENT}"), json={"Message__c": "hello", "Severity__c": "low"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["success"]) == (EVENT_ID, True)
    (enqueued,) = body["errors"]
    assert (enqueued["statusCode"], enqueued["fields"]) == ("OPERATION_ENQUEUED", [])
    assert uuid.UUID(enqueued["message"])
    (message,) = sandbox.events(EVENT)
    assert message["EventUuid"] == enqueued["message"]
    assert (message["Message__c"], message["Severity__c"]) == ("hello", "low")
    assert isinstance(message["ReplayId"], int) and message["CreatedDate"].endswith("+0000")


def test_collections_publish_one_result_per_event_in_order(sandbox, session):
    results = publish(
        session,
        sandbox,
        [event(Message__c=f"m{i}") for i in range(3)] + [event(Nope__c="x"), event(Message__c="m3")],
    )
    assert [r["success"] for r in results] == [True, True, True, False, True]
    assert results[3]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert all(r["errors"][0]["statusCode"] == "OPERATION_ENQUEUED" for i, r in enumerate(results) if i != 3)
    messages = sandbox.events(EVENT)
    assert [m["Message__c"] for m in messages] == ["m0", "m1", "m2", "m3"]
    replays = [m["ReplayId"] for m in messages]
    assert replays == sorted(replays) and len(set(replays)) == 4
    assert [r["errors"][0]["message"] for r in results if r["success"]] == [m["EventUuid"] for m in messages]


def test_a_thousand_events_keep_their_order(sandbox, session):
    for start in range(0, 1000, 200):
        results = publish(session, sandbox, [event(Message__c=str(i)) for i in range(start, start + 200)])
        assert all(r["success"] for r in results)
    assert [m["Message__c"] for m in sandbox.events(EVENT)] == [str(i) for i in range(1000)]
    assert sandbox.stats()["events"][EVENT] == 1000


def test_events_and_records_in_one_request(sandbox, session):
    results = publish(session, sandbox, [contact(), event(Message__c="with a contact"), contact()])
    assert [r["id"][:3] for r in results] == ["003", "e00", "003"]
    assert [m["Message__c"] for m in sandbox.events(EVENT)] == ["with a contact"]


def test_all_or_none_does_not_hold_back_events_that_publish_immediately(sandbox, session):
    results = publish(session, sandbox, [event(Message__c="kept"), contact(Email="broken")], allOrNone=True)
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert [m["Message__c"] for m in sandbox.events(EVENT)] == ["kept"]


def test_composite_publishes_each_subrequest(sandbox, session):
    subrequests = [
        {
            "method": "POST",
            "url": f"/services/data/v62.0/sobjects/{EVENT}",
            "referenceId": f"e{i}",
            "body": {"Message__c": f"c{i}"},
        }
        for i in range(2)
    ]
    response = session.post(api(sandbox, "/composite"), json={"compositeRequest": subrequests})
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 201]
    assert all(a["body"]["errors"][0]["statusCode"] == "OPERATION_ENQUEUED" for a in answers)
    assert [m["Message__c"] for m in sandbox.events(EVENT)] == ["c0", "c1"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Nope__c": "x"}, "INVALID_FIELD"),
        ({"Message__c": "x" * 256}, "STRING_TOO_LONG"),
        ({"ReplayId": "7"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Id": EVENT_ID}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ],
)
def test_event_fields_are_validated(sandbox, session, fields, code):
    response = session.post(api(sandbox, f"/sobjects/{EVENT}"), json=fields)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    assert sandbox.events(EVENT) == []


def test_events_are_not_updated_deleted_or_queried(sandbox, session):
    patched = session.patch(api(sandbox, f"/sobjects/{EVENT}/{EVENT_ID}"), json={"Message__c": "x"})
    assert patched.status_code == 400 and patched.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    updated = session.patch(
        api(sandbox, "/composite/sobjects"), json={"records": [event(Id=EVENT_ID, Message__c="x")]}
    ).json()
    assert updated[0]["errors"][0]["statusCode"] == "INVALID_TYPE_FOR_OPERATION"
    deleted = session.delete(api(sandbox, "/composite/sobjects"), params={"ids": EVENT_ID}).json()
    assert deleted[0]["errors"][0] == {
        "statusCode": "INVALID_TYPE_FOR_OPERATION",
        "message": f"entity type {EVENT} does not support delete",
        "fields": [],
    }
    queried = session.get(api(sandbox, "/query"), params={"q": f"SELECT Message__c FROM {EVENT}"})
    assert queried.status_code == 400 and queried.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert session.get(api(sandbox, f"/sobjects/{EVENT}/{EVENT_ID}")).status_code == 404
    upsert = session.patch(
        api(sandbox, f"/composite/sobjects/{EVENT}/Message__c"), json={"records": [event()]}
    )
    assert upsert.status_code in (400, 404)


def test_an_event_is_described(sandbox, session):
    described = session.get(api(sandbox, f"/sobjects/{EVENT}/describe")).json()
    assert (described["keyPrefix"], described["custom"], described["queryable"]) == ("e00", True, False)
    assert (described["createable"], described["updateable"], described["deletable"]) == (True, False, False)
    fields = {f["name"]: f for f in described["fields"]}
    assert {"ReplayId", "EventUuid", "CreatedDate", "CreatedById", "Message__c", "Severity__c"} <= set(fields)
    assert (fields["Message__c"]["type"], fields["Message__c"]["length"]) == ("string", 255)
    assert fields["ReplayId"]["createable"] is False
    names = [o["name"] for o in session.get(api(sandbox, "/sobjects")).json()["sobjects"]]
    assert EVENT in names


def test_reset_forgets_events_and_replay_ids_keep_growing(sandbox, session):
    publish(session, sandbox, [event(Message__c="before")])
    before = sandbox.events(EVENT)[-1]["ReplayId"]
    sandbox.reset()
    assert sandbox.events(EVENT) == []
    publish(session, sandbox, [event(Message__c="after")])
    assert sandbox.events(EVENT)[0]["ReplayId"] > before


def test_unknown_event_lists_are_not_found(sandbox):
    response = authed(sandbox).get(f"{sandbox.base_url}/__sandbox/events/Contact")
    assert response.status_code == 404


def test_bulk_publishes_events(sandbox, session):
    info = ingest(session, sandbox, "Message__c,Severity__c\nfrom bulk,high\n", object=EVENT)
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0)
    assert [(m["Message__c"], m["Severity__c"]) for m in sandbox.events(EVENT)] == [("from bulk", "high")]


def test_simple_salesforce_publishes(sandbox):
    sandbox.reset()
    result = salesforce(sandbox).Notification__e.create({"Message__c": "from simple-salesforce"})
    assert result["success"] is True and result["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    assert sandbox.events(EVENT)[0]["Message__c"] == "from simple-salesforce"


def test_typed_and_required_event_fields(tmp_path):
    definition = "Order_Placed__e:Order__c!,Amount__c=Number(8,2),Rush__c=Checkbox,At__c=DateTime"
    with start_sandbox(tmp_path, platform_event=[definition]) as org:
        session = authed(org)
        missing = session.post(api(org, "/sobjects/Order_Placed__e"), json={"Amount__c": 5})
        assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
        too_big = session.post(
            api(org, "/sobjects/Order_Placed__e"), json={"Order__c": "o", "Amount__c": 1e6}
        )
        assert too_big.json()[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
        sent = session.post(
            api(org, "/sobjects/Order_Placed__e"),
            json={
                "Order__c": "o-1",
                "Amount__c": "12.345",
                "Rush__c": True,
                "At__c": "2026-01-02T03:04:05+01:00",
            },
        )
        assert sent.status_code == 201
        (message,) = org.events("Order_Placed__e")
        assert (message["Amount__c"], message["Rush__c"], message["At__c"]) == (
            12.35,
            True,
            "2026-01-02T02:04:05.000+0000",
        )


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("Notification__c:Message__c", "must end in __e"),
        ("Notification__e:Message", "must end in __c"),
        ("Notification__e:Count__c=Money", "is not one of"),
    ],
)
def test_bad_definitions_stop_the_sandbox(tmp_path, definition, message):
    with pytest.raises(RuntimeError, match=message):
        start_sandbox(tmp_path, platform_event=[definition])
