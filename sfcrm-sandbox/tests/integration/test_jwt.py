"""The JWT bearer grant over HTTPS: a good assertion gets a working session, each bad one its OAuth error."""

from __future__ import annotations

import time

import pytest

from tests.integration._clients import api, http
from tests.jwt_assertions import load_key, signed_jwt

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def claims(sandbox, **overrides):
    body = {
        "iss": sandbox.client_id,
        "sub": sandbox.username,
        "aud": sandbox.base_url,
        "exp": int(time.time()) + 180,
    }
    body.update(overrides)
    return body


def post(sandbox, assertion):
    return http(sandbox).post(
        f"{sandbox.base_url}/services/oauth2/token", data={"grant_type": GRANT, "assertion": assertion}
    )


def test_a_good_assertion_opens_a_session(sandbox):
    response = post(sandbox, signed_jwt(claims(sandbox), load_key(sandbox.jwt_key_path)))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert body["instance_url"] == sandbox.base_url and body["token_type"] == "Bearer"
    session = http(sandbox)
    session.headers["Authorization"] = f"Bearer {body['access_token']}"
    assert session.get(api(sandbox, "/limits")).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"iss": "another-app"}, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://login.salesforce.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
    ids=["unknown-client", "wrong-audience", "expired", "unknown-user"],
)
def test_bad_claims_are_refused_with_salesforces_errors(sandbox, overrides, error, description):
    response = post(sandbox, signed_jwt(claims(sandbox, **overrides), load_key(sandbox.jwt_key_path)))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_an_assertion_signed_by_another_key_is_refused(sandbox, tmp_path):
    from sfcrm_sandbox.testing import make_jwt_key_pair

    other_key, _ = make_jwt_key_pair(tmp_path)
    response = post(sandbox, signed_jwt(claims(sandbox), load_key(other_key)))
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "invalid assertion"},
    )


def test_a_sandbox_without_a_certificate_refuses_every_assertion(sandbox_factory, sandbox):
    bare = sandbox_factory()
    response = post(bare, signed_jwt(claims(bare), load_key(sandbox.jwt_key_path)))
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_a_bad_certificate_file_stops_the_sandbox_with_a_clear_message(sandbox_factory, tmp_path):
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello")
    with pytest.raises(RuntimeError, match="bad --jwt-cert file: .* is not a PEM X.509 certificate"):
        sandbox_factory(jwt_cert=bad)


def test_an_unmodified_simple_salesforce_logs_in_with_its_own_jwt_flow(sandbox_factory, tmp_path):
    """simple-salesforce signs its own assertion (aud https://login.salesforce.com) and posts it to
    login.salesforce.com, which the sandbox's proxy brings to it."""
    import requests
    from simple_salesforce import Salesforce

    from sfcrm_sandbox.testing import make_jwt_key_pair

    key, certificate = make_jwt_key_pair(tmp_path)
    running = sandbox_factory(proxy_port=0, jwt_cert=certificate)
    session = requests.Session()
    session.proxies = {"https": running.proxy_url}
    session.verify = str(running.ca_path)
    session.trust_env = False
    sf = Salesforce(
        username=running.username,
        consumer_key=running.client_id,
        privatekey_file=str(key),
        domain="login",
        session=session,
    )
    assert sf.sf_instance == "sfcrm-sandbox.my.salesforce.com"
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    with pytest.raises(Exception, match="user hasn't approved this consumer"):
        Salesforce(
            username="nobody@example.com",
            consumer_key=running.client_id,
            privatekey_file=str(key),
            domain="login",
            session=session,
        )
