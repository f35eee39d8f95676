"""The JWT bearer grant through ``SalesforceCrmHook`` against a sandbox started with ``--jwt-cert``:
logging in, Test, Salesforce's refusals, and key material kept out of logs, XCom and exceptions."""

from __future__ import annotations

import logging

import pytest
from sfcrm_sandbox.testing import make_jwt_key_pair

from airflow_provider_sfcrm.exceptions import SfCrmAuthError
from airflow_provider_sfcrm.hooks import _jwt
from tests.integration._hook_helpers import hook_for

pytestmark = pytest.mark.integration


def jwt_hook(monkeypatch, sandbox, login=None, **extra):
    """A hook with auth_type 'jwt': no password, no client secret, the session sandbox's key."""
    settings = {
        "auth_type": "jwt",
        "private_key_path": str(sandbox.jwt_key_path),
        "client_secret": "",
        "security_token": "",
    }
    settings.update(extra)
    return hook_for(monkeypatch, sandbox, login=login, password="", **settings)


def key_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize("how", ["path", "text", "one-line text"])
def test_a_good_assertion_logs_in_and_test_says_so(monkeypatch, sandbox, how):
    pem = sandbox.jwt_key_path.read_text()
    extra = {
        "path": {},
        "text": {"private_key": pem, "private_key_path": ""},
        "one-line text": {"private_key": pem.replace("\n", ""), "private_key_path": ""},
    }[how]
    hook = jwt_hook(monkeypatch, sandbox, **extra)
    ok, message = hook.test_connection()
    assert ok, message
    assert f"as {sandbox.username}" in message
    assert hook.describe_object("Contact")["name"] == "Contact"


def _claims_changed(monkeypatch, **changes):
    """Sign every assertion with ``changes`` applied to its claims (a misconfigured client)."""
    encode = _jwt.jwt.encode

    def tampered(claims, key, algorithm):
        return encode({**claims, **changes}, key, algorithm=algorithm)

    monkeypatch.setattr(_jwt.jwt, "encode", tampered)


@pytest.mark.parametrize(
    ("misconfigure", "error", "description"),
    [
        (
            lambda mp, sb, tmp: {"private_key_path": str(make_jwt_key_pair(tmp)[0])},
            "invalid_grant",
            "invalid assertion",
        ),
        (
            lambda mp, sb, tmp: {"client_id": "another-connected-app"},
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            lambda mp, sb, tmp: _claims_changed(mp, aud="https://login.salesforce.com") or {},
            "invalid_grant",
            "audience is invalid",
        ),
        (lambda mp, sb, tmp: _claims_changed(mp, exp=1) or {}, "invalid_grant", "expired authorization code"),
        (
            lambda mp, sb, tmp: {"login": "nobody@example.com"},
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
    ],
    ids=["other-key", "unknown-client", "wrong-audience", "expired", "unknown-user"],
)
def test_each_bad_assertion_is_refused_with_salesforces_error(
    monkeypatch, sandbox, tmp_path, caplog, misconfigure, error, description
):
    extra = misconfigure(monkeypatch, sandbox, tmp_path)
    login = extra.pop("login", None)
    hook = jwt_hook(monkeypatch, sandbox, **extra)
    if login:
        hook = hook_for(
            monkeypatch,
            sandbox,
            login=login,
            password="",
            auth_type="jwt",
            private_key_path=str(sandbox.jwt_key_path),
        )
    with caplog.at_level(logging.DEBUG), pytest.raises(SfCrmAuthError) as refused:
        hook.get_conn()
    assert (refused.value.error, refused.value.description) == (error, description)
    ok, message = hook.test_connection()
    assert (ok, message) == (False, f"{error}: {description}")
    pem = sandbox.jwt_key_path.read_text()
    shown = str(refused.value) + repr(refused.value) + message + caplog.text
    assert not any(line in shown for line in key_lines(pem))


def test_key_material_is_registered_with_the_masker(monkeypatch, sandbox):
    from airflow.sdk._shared.secrets_masker import _secrets_masker, redact

    masker = _secrets_masker()
    monkeypatch.setattr(masker, "patterns", set())
    monkeypatch.setattr(masker, "replacer", None)
    pem = sandbox.jwt_key_path.read_text()
    lines = key_lines(pem)
    assert lines[3] in str(redact(f"leaked: {lines[3]}"))  # not masked before the hook ran

    hook = jwt_hook(monkeypatch, sandbox)
    hook.get_conn()
    access_token = hook._transport.token().access_token
    # The whole key, its body on one line, any single line of it, and the session it opened.
    for secret in (pem, "".join(lines), lines[0], lines[3], lines[-1], access_token):
        assert secret not in str(redact(f"leaked: {secret}")), secret[:8]


def test_the_key_path_is_not_a_secret_but_its_content_is(monkeypatch, sandbox):
    hook = jwt_hook(monkeypatch, sandbox)
    secrets = hook._credentials.secrets()
    assert str(sandbox.jwt_key_path) not in secrets
    assert sandbox.jwt_key_path.read_text() in secrets
