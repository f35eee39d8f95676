"""Composite API and sObject Tree: references, allOrNone, one API call, limits and errors."""

from __future__ import annotations

import pytest

from tests.integration._clients import VERSION, api, authed, unique

BASE = f"/services/data/v{VERSION}"


def sub(reference_id: str, method: str, path: str, body=None) -> dict:
    request = {"method": method, "url": BASE + path, "referenceId": reference_id}
    if body is not None:
        request["body"] = body
    return request


def composite(session, sandbox, subrequests, all_or_none=False):
    response = session.post(
        api(sandbox, "/composite"), json={"allOrNone": all_or_none, "compositeRequest": subrequests}
    )
    assert response.status_code == 200
    return {r["referenceId"]: r for r in response.json()["compositeResponse"]}


@pytest.fixture
def session(sandbox):
    return authed(sandbox)


def count(session, sandbox, name: str) -> int:
    soql = f"SELECT COUNT() FROM Account WHERE Name = '{name}'"
    return session.get(api(sandbox, "/query"), params={"q": soql}).json()["totalSize"]


@pytest.mark.parametrize("all_or_none", [False, True])
def test_a_failing_subrequest(session, sandbox, all_or_none):
    name = unique("Acc")
    answers = composite(
        session,
        sandbox,
        [
            sub("acc", "POST", "/sobjects/Account", {"Name": name}),
            sub("bad", "POST", "/sobjects/Contact", {"LastName": "x", "Email": "not-an-email"}),
            sub("after", "GET", "/sobjects/Account/@{acc.id}"),
            sub("uses_bad", "GET", "/sobjects/Contact/@{bad.id}"),
        ],
        all_or_none,
    )
    assert answers["bad"]["httpStatusCode"] == 400
    assert answers["bad"]["body"][0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    if all_or_none:
        assert {answers[r]["body"][0]["errorCode"] for r in ("acc", "after", "uses_bad")} == {
            "PROCESSING_HALTED"
        }
        assert count(session, sandbox, name) == 0  # rolled back
    else:
        assert answers["acc"]["httpStatusCode"] == 201 and answers["after"]["httpStatusCode"] == 200
        assert "Invalid reference specified" in answers["uses_bad"]["body"][0]["message"]
        assert count(session, sandbox, name) == 1


def test_outer_all_or_none_overrides_collections(session, sandbox):
    name = unique("Acc")
    records = [{"attributes": {"type": "Account"}, "Name": name}, {"attributes": {"type": "Account"}}]
    answers = composite(
        session,
        sandbox,
        [sub("batch", "POST", "/composite/sobjects", {"allOrNone": False, "records": records})],
        all_or_none=True,
    )
    assert [r["success"] for r in answers["batch"]["body"]] == [False, False]
    assert count(session, sandbox, name) == 0


def test_composite_is_one_api_call(session, sandbox):
    before = sandbox.stats()["api_calls"]
    composite(session, sandbox, [sub(f"q{i}", "GET", "/limits") for i in range(3)])
    assert sandbox.stats()["api_calls"] == before + 1


@pytest.mark.parametrize(
    ("subrequests", "code"),
    [
        ([sub(f"r{i}", "GET", "/limits") for i in range(26)], "LIMIT_EXCEEDED"),
        ([sub("same", "GET", "/limits"), sub("same", "GET", "/limits")], "DUPLICATE_VALUE"),
        ([sub("bad-id", "GET", "/limits")], "INVALID_INPUT"),
        ([], "JSON_PARSER_ERROR"),
    ],
)
def test_malformed_composite_requests(session, sandbox, subrequests, code):
    response = session.post(api(sandbox, "/composite"), json={"compositeRequest": subrequests})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == code


def tree_record(reference_id: str, sobject: str = "Account", **fields) -> dict:
    return {"attributes": {"type": sobject, "referenceId": reference_id}, **fields}


def test_tree_is_all_or_nothing(session, sandbox):
    name = unique("Tree")
    child = tree_record("c2", "Contact", LastName="x", Email="bad")
    body = {
        "records": [
            tree_record(
                "a1", Name=name, Contacts={"records": [tree_record("c1", "Contact", LastName="y"), child]}
            )
        ]
    }
    response = session.post(api(sandbox, "/composite/tree/Account"), json=body)
    assert response.status_code == 400
    assert response.json() == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "c2",
                "errors": [
                    {
                        "statusCode": "INVALID_EMAIL_ADDRESS",
                        "message": "Email: invalid email address: bad",
                        "fields": ["Email"],
                    }
                ],
            }
        ],
    }
    assert count(session, sandbox, name) == 0


@pytest.mark.parametrize(
    ("records", "code"),
    [
        ([tree_record(f"r{i}", Name="n") for i in range(201)], "LIMIT_EXCEEDED"),
        ([tree_record("same", Name="a"), tree_record("same", Name="b")], "INVALID_INPUT"),
        ([{"attributes": {"type": "Account"}, "Name": "no reference id"}], "INVALID_INPUT"),
        ([tree_record("x", "Contact", LastName="wrong root type")], "INVALID_INPUT"),
        ([tree_record("x", Name="n", Nope={"records": []})], "INVALID_FIELD"),
    ],
)
def test_malformed_trees(session, sandbox, records, code):
    response = session.post(api(sandbox, "/composite/tree/Account"), json={"records": records})
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"][0]["statusCode"] == code


def test_resource_directory_lists_exactly_what_answers(session, sandbox):
    directory = session.get(api(sandbox, "/")).json()
    assert "recent" not in directory and "jobs" in directory
    listed = [*directory.items(), *session.get(api(sandbox, "/jobs")).json().items()]
    for name, path in listed:
        response = session.get(sandbox.base_url + path)
        assert response.status_code != 404, name
    assert session.get(api(sandbox, "/recent")).json()[0]["errorCode"] == "NOT_FOUND"


def test_userinfo_needs_a_valid_token(sandbox):
    session = authed(sandbox)
    assert session.get(f"{sandbox.base_url}/services/oauth2/userinfo").json()["user_id"].startswith("005")
    session.headers["Authorization"] = "Bearer nope"
    refused = session.get(f"{sandbox.base_url}/services/oauth2/userinfo")
    assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")


def test_replication_window_errors(session, sandbox):
    response = session.get(
        api(sandbox, "/sobjects/Contact/updated"),
        params={"start": "2001-01-01T00:00:00+00:00", "end": "2001-01-02T00:00:00+00:00"},
    )
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
