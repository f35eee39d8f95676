"""Acceptance: Airflow's official ``SalesforceBulkOperator`` (apache-airflow-providers-salesforce,
Bulk API 1.0 through simple-salesforce's ``bulk``), unmodified, against the sandbox.

The operator cannot take a session id: its hook logs in. With a connection that has a consumer key
and secret and no security token, simple-salesforce uses the OAuth username-password flow and
posts to ``https://{domain}.salesforce.com/services/oauth2/token``. A ``domain`` of
``<host>:<port>/services/oauth2/token#`` turns that into the sandbox's token endpoint (requests
drops the URL fragment), whose answer names the sandbox as the instance every later call goes to.
The sandbox's CA is trusted through ``REQUESTS_CA_BUNDLE`` (the operator's session reads the
environment). Nothing of the operator, its hook or simple-salesforce is changed.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration._hook_helpers import ensure_external_id_field, hook_for

pytestmark = pytest.mark.integration

SalesforceBulkOperator = pytest.importorskip(
    "airflow.providers.salesforce.operators.bulk",
    reason="apache-airflow-providers-salesforce is a test dependency",
).SalesforceBulkOperator


@pytest.fixture
def official_conn(monkeypatch, sandbox) -> str:
    """A ``salesforce`` connection the official hook logs in with, pointing at the sandbox."""
    host = sandbox.base_url.removeprefix("https://")
    conn = {
        "conn_type": "salesforce",
        "login": sandbox.username,
        # The username-password flow takes the security token appended to the password.
        "password": sandbox.password + sandbox.security_token,
        "extra": {
            "consumer_key": sandbox.client_id,
            "consumer_secret": sandbox.client_secret,
            "domain": f"{host}/services/oauth2/token#",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_OFFICIAL", json.dumps(conn))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_path))
    return "salesforce_official"


def run(conn_id, operation, payload, **kwargs):
    operator = SalesforceBulkOperator(
        task_id=f"bulk_{operation}",
        operation=operation,
        object_name="Contact",
        payload=payload,
        salesforce_conn_id=conn_id,
        **kwargs,
    )
    return operator.execute(context={})


def test_insert_update_upsert_leave_the_org_as_the_payloads_describe(monkeypatch, sandbox, official_conn):
    hook = hook_for(monkeypatch, sandbox)
    key = ensure_external_id_field(hook, sandbox)
    name = f"Official{uuid.uuid4().hex[:8]}"
    batches_before = sandbox.calls_to("POST /async/job/{job}/batch")

    inserted = run(
        official_conn,
        "insert",
        [{"LastName": name, "FirstName": f"F{i}", key: f"{name}-{i}"} for i in range(5)]
        + [{"FirstName": "no last name"}],
        batch_size=2,
    )
    assert [r["success"] for r in inserted] == [True] * 5 + [False]
    assert inserted[5]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = [r["id"] for r in inserted[:5]]

    updated = run(
        official_conn, "update", [{"Id": ids[0], "Title": "Updated"}, {"Id": ids[1], "Title": "Updated"}]
    )
    assert all(r["success"] for r in updated)

    upserted = run(
        official_conn,
        "upsert",
        [{key: f"{name}-2", "Title": "Upserted"}, {key: f"{name}-9", "LastName": name, "FirstName": "F9"}],
        external_id_field=key,
    )
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]

    rows = hook.query_all(
        f"SELECT FirstName, Title, {key} FROM Contact WHERE LastName = '{name}' ORDER BY FirstName"
    )
    assert [(r["FirstName"], r["Title"]) for r in rows] == [
        ("F0", "Updated"),
        ("F1", "Updated"),
        ("F2", "Upserted"),
        ("F3", None),
        ("F4", None),
        ("F9", None),
    ]
    # It went through Bulk API 1.0: batches of at most batch_size records (3), then one each.
    assert sandbox.calls_to("POST /async/job/{job}/batch") - batches_before == 3 + 1 + 1
