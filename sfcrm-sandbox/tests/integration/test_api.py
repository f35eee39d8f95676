"""Sandbox discovery, OAuth, bearer auth, limits and describe, as Salesforce documents them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceResourceNotFound

from tests.integration._clients import VERSION, api, authed, http, token_form

pytestmark = pytest.mark.integration


def test_versions_need_no_auth(sandbox):
    response = http(sandbox).get(f"{sandbox.base_url}/services/data/")
    assert response.status_code == 200
    versions = {v["version"]: v for v in response.json()}
    assert versions["59.0"] == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
    assert versions["66.0"]["label"] == "Spring '26"
    assert "Sforce-Limit-Info" not in response.headers


def test_version_resources(sandbox):
    body = authed(sandbox).get(api(sandbox, "/")).json()
    assert body["sobjects"] == f"/services/data/v{VERSION}/sobjects"
    assert {"query", "queryAll", "limits", "composite", "tooling"} <= set(body)


@pytest.mark.parametrize(("version", "status"), [("30.0", 410), ("21.0", 410), ("20.0", 404), ("99.0", 404)])
def test_retired_and_unknown_versions(sandbox, version, status):
    response = authed(sandbox).get(f"{sandbox.base_url}/services/data/v{version}/sobjects")
    assert response.status_code == status
    assert isinstance(response.json(), list) and response.json()[0]["errorCode"]


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
def test_token_success_fields(sandbox, grant):
    form = (
        token_form(sandbox)
        if grant == "password"
        else {
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
    )
    response = http(sandbox).post(f"{sandbox.base_url}/services/oauth2/token", data=form)
    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(body)
    assert body["instance_url"] == sandbox.base_url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    org_id, user_id = body["id"].rsplit("/", 2)[-2:]
    assert body["id"].startswith(f"{sandbox.base_url}/id/")
    assert org_id.startswith("00D") and user_id.startswith("005") and len(org_id) == len(user_id) == 18


def test_client_credentials_with_basic_auth(sandbox):
    response = http(sandbox).post(
        f"{sandbox.base_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200 and response.json()["access_token"]


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"password": "sandbox-password"}, "invalid_grant", "authentication failure"),
        ({"username": "someone@else.test"}, "invalid_grant", "authentication failure"),
        ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_token_errors(sandbox, overrides, error, description):
    response = http(sandbox).post(
        f"{sandbox.base_url}/services/oauth2/token", data=token_form(sandbox, **overrides)
    )
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_token_refuses_json_body(sandbox):
    response = http(sandbox).post(f"{sandbox.base_url}/services/oauth2/token", json=token_form(sandbox))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_bad_session_is_401_array(sandbox, authorization):
    session = http(sandbox)
    if authorization:
        session.headers["Authorization"] = authorization
    response = session.get(api(sandbox, "/sobjects/Contact/describe"))
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_simple_salesforce_maps_bad_session(sandbox):
    sf = Salesforce(
        instance_url=sandbox.base_url, session_id="00Dbogus!token", session=http(sandbox), version=VERSION
    )
    with pytest.raises(SalesforceExpiredSession):
        sf.Contact.describe()


def test_limit_header_and_limits_agree(sandbox, sf):
    sf.limits()
    used, total = sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total
    limits = sf.limits()
    daily = limits["DailyApiRequests"]
    assert daily["Max"] == total
    # The limits call itself is counted, so Remaining reflects at most one more request.
    assert daily["Remaining"] in (total - used, total - used - 1)
    assert sf.api_usage["api-usage"].used == used + 1


def test_every_rest_response_has_limit_header(sandbox):
    session = authed(sandbox)
    for path in ("/limits", "/sobjects/Nope/describe", "/query?q=SELECT+Nope+FROM"):
        assert session.get(api(sandbox, path)).headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_global_describe(sf):
    body = sf.describe()
    assert body["maxBatchSize"] == 200 and body["encoding"] == "UTF-8"
    prefixes = {o["name"]: o["keyPrefix"] for o in body["sobjects"]}
    assert prefixes["Contact"] == "003" and prefixes["Lead"] == "00Q" and prefixes["Account"] == "001"
    assert {"Campaign", "CampaignMember", "User", "PermissionSet", "FieldPermissions"} <= set(prefixes)


def test_object_basic_info(sandbox):
    body = authed(sandbox).get(api(sandbox, "/sobjects/Lead")).json()
    assert body["objectDescribe"]["name"] == "Lead" and body["objectDescribe"]["keyPrefix"] == "00Q"
    assert "recentItems" in body


@pytest.mark.parametrize(
    ("sobject", "field", "expected"),
    [
        ("Contact", "LastName", {"type": "string", "length": 80, "byteLength": 240, "nillable": False}),
        ("Contact", "FirstName", {"type": "string", "length": 40, "nillable": True}),
        ("Contact", "Email", {"type": "email", "length": 80}),
        (
            "Contact",
            "MailingStreet",
            {
                "type": "textarea",
                "length": 255,
                "extraTypeInfo": "plaintextarea",
                "filterable": True,
                "sortable": True,
                "groupable": True,
            },
        ),
        (
            "Contact",
            "Description",
            {
                "type": "textarea",
                "length": 32000,
                "extraTypeInfo": "plaintextarea",
                "filterable": False,
                "sortable": False,
                "groupable": False,
            },
        ),
        ("Contact", "Id", {"type": "id", "createable": False, "updateable": False}),
        ("Contact", "SystemModstamp", {"type": "datetime", "createable": False}),
        ("Lead", "Company", {"type": "string", "length": 255, "nillable": False, "createable": True}),
        ("Lead", "Status", {"type": "picklist", "defaultedOnCreate": True, "nillable": False}),
        ("Lead", "IsConverted", {"type": "boolean", "createable": False, "updateable": False}),
        ("Lead", "OwnerId", {"type": "reference", "referenceTo": ["User"]}),
    ],
)
def test_describe_fields(sf, sobject, field, expected):
    fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
    assert {k: fields[field][k] for k in expected} == expected


def test_describe_has_real_keys(sf):
    body = sf.Contact.describe()
    assert {
        "name",
        "label",
        "keyPrefix",
        "custom",
        "createable",
        "updateable",
        "queryable",
        "fields",
        "urls",
    } <= set(body)
    assert body["urls"]["rowTemplate"] == f"/services/data/v{VERSION}/sobjects/Contact/{{ID}}"
    field = body["fields"][0]
    for key in (
        "aggregatable",
        "byteLength",
        "calculated",
        "externalId",
        "htmlFormatted",
        "idLookup",
        "soapType",
        "permissionable",
        "picklistValues",
        "referenceTo",
        "relationshipName",
        "unique",
    ):
        assert key in field


def test_describe_if_modified_since(sandbox):
    session = authed(sandbox)
    first = session.get(api(sandbox, "/sobjects/Contact/describe"))
    last_modified = first.headers["Last-Modified"]
    unchanged = session.get(
        api(sandbox, "/sobjects/Contact/describe"), headers={"If-Modified-Since": last_modified}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""
    older = session.get(
        api(sandbox, "/sobjects/Contact/describe"),
        headers={"If-Modified-Since": "Mon, 30 Nov 2020 08:34:54 MST"},
    )
    assert older.status_code == 200 and older.json()["name"] == "Contact"


@pytest.mark.parametrize("path", ["/sobjects/Nope__c/describe", "/sobjects/Nope__c", "/no/such/resource"])
def test_unknown_resources_are_404_not_found(sandbox, path):
    response = authed(sandbox).get(api(sandbox, path))
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_simple_salesforce_maps_unknown_object(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nope__c.describe()


def test_wrong_method_is_405(sandbox):
    response = authed(sandbox).put(api(sandbox, "/sobjects/Contact/describe"), json={})
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_malformed_json_body(sandbox):
    response = authed(sandbox).post(
        api(sandbox, "/composite/sobjects"), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_identity_url(sandbox):
    session = http(sandbox)
    body = session.post(f"{sandbox.base_url}/services/oauth2/token", data=token_form(sandbox)).json()
    identity = session.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert identity["username"] == sandbox.username
    assert body["id"].endswith(identity["user_id"])


def test_stats_count_authenticated_calls_by_route(sandbox, sf):
    before = sandbox.stats()
    sf.Contact.describe()
    sf.restful("composite/sobjects", method="PATCH", json={"records": [{"attributes": {"type": "Contact"}}]})
    http(sandbox).get(api(sandbox, "/limits"))  # not authenticated: not counted
    after = sandbox.stats()
    assert after["api_calls"] == before["api_calls"] + 2
    routes_before, routes_after = before["api_calls_by_route"], after["api_calls_by_route"]
    assert routes_after["PATCH /composite/sobjects"] == routes_before.get("PATCH /composite/sobjects", 0) + 1
    assert routes_after["GET /sobjects/{sobject}/describe"] >= 1
    assert set(after["records"]) >= {"Contact", "Lead"}


def test_cli_serves_simple_salesforce_with_requests_ca_bundle(tmp_path, monkeypatch):
    """Acceptance: ``serve --port 0`` ready within 5 s; with REQUESTS_CA_BUNDLE simple-salesforce works."""
    data_dir = tmp_path / "org"
    script = os.path.join(os.path.dirname(sys.executable), "sfcrm-sandbox")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "sfcrm_sandbox"]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", "--data-dir", str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline().strip()
        assert time.monotonic() - started < 5
        assert line.startswith("sfcrm-sandbox ready https://127.0.0.1:")
        base_url, ca = line[len("sfcrm-sandbox ready ") :].split(" ca=")
        assert ca == str(data_dir / "ca.pem")
        form = {
            "grant_type": "password",
            "client_id": "sfcrm-sandbox-client-id",
            "client_secret": "sfcrm-sandbox-client-secret",
            "username": "integration.user@sfcrm-sandbox.local",
            "password": "sandbox-passwordSANDBOXTOKEN0001",
        }
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
        token = requests.post(f"{base_url}/services/oauth2/token", data=form, timeout=10).json()[
            "access_token"
        ]
        sf = Salesforce(instance_url=base_url, session_id=token)
        created = sf.Contact.create({"LastName": "Acceptance", "Email": "acceptance@example.com"})
        assert created["success"]
        records = sf.query_all("SELECT Id, LastName FROM Contact WHERE Email = 'acceptance@example.com'")
        assert [r["Id"] for r in records["records"]] == [created["id"]]
        assert any(f["name"] == "LastName" for f in sf.Contact.describe()["fields"])
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
