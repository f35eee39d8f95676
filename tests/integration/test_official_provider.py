"""Conformance: the official ``apache-airflow-providers-salesforce``, unmodified, against the sandbox.

Its connection is exactly what ``sfcrm-sandbox connection --for salesforce`` prints (a ``salesforce``
connection whose ``proxies`` extra sends Salesforce's hosts to the sandbox, and ``REQUESTS_CA_BUNDLE``
naming the sandbox's CA), once per login flow: SOAP with the security token, OAuth username-password,
OAuth client credentials. Only the Bulk operator is left out (the Bulk APIs are another issue's).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
from airflow.providers.salesforce.operators.salesforce_apex_rest import SalesforceApexRestOperator
from sfcrm_sandbox.recipes import AUTH_FLOWS
from simple_salesforce import SalesforceResourceNotFound

pytestmark = pytest.mark.integration


@pytest.fixture(params=AUTH_FLOWS)
def hook(request, monkeypatch, proxied_sandbox) -> SalesforceHook:
    connection = proxied_sandbox.salesforce_connection_dict(request.param)
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxied_sandbox.ca_path))
    return SalesforceHook(salesforce_conn_id="salesforce_default")


def _make_query(hook: SalesforceHook) -> None:
    result = hook.make_query("SELECT Id, Username FROM User WHERE IsActive = true")
    assert result["done"] and result["totalSize"] == len(result["records"]) >= 2


def _make_query_aggregate(hook: SalesforceHook) -> None:
    result = hook.make_query("SELECT COUNT(Id) FROM User")
    assert result["records"][0]["expr0"] >= 2


def _describe_object(hook: SalesforceHook) -> None:
    described = hook.describe_object("Contact")
    assert described["name"] == "Contact" and described["keyPrefix"] == "003"


def _get_available_fields(hook: SalesforceHook) -> None:
    assert {"Id", "LastName", "Email"} <= set(hook.get_available_fields("Contact"))


def _get_object_from_salesforce(hook: SalesforceHook) -> None:
    result = hook.get_object_from_salesforce("User", ["Id", "Username"])
    assert {r["attributes"]["type"] for r in result["records"]} == {"User"}


def _test_connection(hook: SalesforceHook) -> None:
    assert hook.test_connection() == (True, "Connection successfully tested")


def _get_conn(hook: SalesforceHook) -> None:
    conn = hook.get_conn()
    assert conn.sf_instance == "sfcrm-sandbox.my.salesforce.com"
    created = conn.Contact.create({"LastName": "Official provider"})
    assert conn.Contact.get(created["id"])["LastName"] == "Official provider"


def _apex_rest_operator(hook: SalesforceHook) -> None:
    # The sandbox org has no Apex classes: the operator's call reaches it and gets Salesforce's answer.
    operator = SalesforceApexRestOperator(
        task_id="apex", endpoint="audiences/sync", method="POST", payload={}
    )
    with pytest.raises(SalesforceResourceNotFound) as info:
        operator.execute(context={})
    assert info.value.content[0]["message"] == "Could not find a match for URL /audiences/sync"


CHECKS: dict[str, Callable[[SalesforceHook], None]] = {
    "get_conn": _get_conn,
    "test_connection": _test_connection,
    "make_query": _make_query,
    "make_query_aggregate": _make_query_aggregate,
    "describe_object": _describe_object,
    "get_available_fields": _get_available_fields,
    "get_object_from_salesforce": _get_object_from_salesforce,
    "SalesforceApexRestOperator": _apex_rest_operator,
}


@pytest.mark.parametrize("check", CHECKS)
def test_official_provider(hook, check):
    CHECKS[check](hook)


def test_a_wrong_password_fails_test_connection(monkeypatch, proxied_sandbox):
    connection = proxied_sandbox.salesforce_connection_dict("token")
    connection["password"] = "wrong"
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxied_sandbox.ca_path))
    ok, message = SalesforceHook(salesforce_conn_id="salesforce_default").test_connection()
    assert not ok and "INVALID_LOGIN" in message and "wrong" not in message


@pytest.mark.parametrize("auth", AUTH_FLOWS)
def test_the_printed_recipe_works_as_printed(monkeypatch, proxied_sandbox, auth):
    """``sfcrm-sandbox connection --for salesforce`` prints shell exports; applied as a shell would."""
    import shlex
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "sfcrm_sandbox", "connection", "--data-dir", str(proxied_sandbox.data_dir)]
        + ["--for", "salesforce", "--auth", auth, "--conn-id", "salesforce_recipe"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    exported = [shlex.split(line)[1] for line in printed.splitlines() if line.startswith("export ")]
    for assignment in exported:
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, value)
    assert {a.partition("=")[0] for a in exported} == {"AIRFLOW_CONN_SALESFORCE_RECIPE", "REQUESTS_CA_BUNDLE"}
    assert SalesforceHook(salesforce_conn_id="salesforce_recipe").test_connection()[0]
