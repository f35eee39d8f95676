"""Login, TLS, session renewal and ``test_connection`` of ``SalesforceCrmHook`` against a sandbox."""

from __future__ import annotations

import re
import time

import pytest

from airflow_provider_sfcrm.activation.ids import is_well_formed
from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmAuthError, SfCrmConfigError
from airflow_provider_sfcrm.hooks import _transport
from tests.integration._hook_helpers import FAST, hook_for

pytestmark = pytest.mark.integration


def test_test_connection_reports_instance_user_and_api_usage(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox)
    ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith(f"Connected to {sandbox.base_url} as {sandbox.username}; API v62.0, ")
    used, maximum = map(int, re.search(r", (\d+) of (\d+) daily API requests used$", message).groups())
    assert 0 < used <= maximum
    assert hook._transport.policy == FAST  # the Test button's short retries do not outlive it


def test_get_conn_is_an_authenticated_simple_salesforce_client(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox)
    client = hook.get_conn()
    assert client is hook.get_conn()
    assert client.session.verify == str(sandbox.ca_path)
    assert "DailyApiRequests" in client.limits()
    assert is_well_formed(hook.user_id) and hook.user_id.startswith("005")


def test_wrong_password_raises_salesforces_reason_without_secrets(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox, password="Wrong-Pa55word")
    with pytest.raises(SfCrmAuthError) as excinfo:
        hook.get_conn()
    assert excinfo.value.error == "invalid_grant"
    assert excinfo.value.description
    text = str(excinfo.value) + repr(excinfo.value)
    for secret in ("Wrong-Pa55word", sandbox.security_token, sandbox.client_secret):
        assert secret not in text


def test_test_connection_returns_the_reason_instead_of_raising(monkeypatch, sandbox):
    ok, message = hook_for(monkeypatch, sandbox, password="Wrong-Pa55word").test_connection()
    assert ok is False
    assert message.startswith("invalid_grant: ")
    assert "Wrong-Pa55word" not in message and sandbox.security_token not in message


def test_wrong_client_secret_is_refused(monkeypatch, sandbox):
    ok, message = hook_for(monkeypatch, sandbox, client_secret="not-the-secret").test_connection()
    assert ok is False
    assert message.startswith("invalid_client")
    assert "not-the-secret" not in message


def test_password_with_token_already_appended(monkeypatch, sandbox):
    hook = hook_for(
        monkeypatch, sandbox, password=sandbox.password + sandbox.security_token, security_token=""
    )
    assert hook.test_connection()[0]


def test_client_credentials_grant(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox, auth_type="client_credentials", login="", password="")
    ok, message = hook.test_connection()
    assert ok, message
    assert f"as {sandbox.username};" in message  # the Run-As user, looked up by its Id


def test_client_credentials_refuses_login_domain(monkeypatch, sandbox):
    ok, message = hook_for(
        monkeypatch, sandbox, auth_type="client_credentials", custom_domain="login"
    ).test_connection()
    assert ok is False and "My Domain" in message


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"custom_domain": "http://127.0.0.1:1"}, "plain http://"),
        ({"custom_domain": "https://bad host"}, "https://host[:port]"),
        ({"auth_type": "jwt"}, "auth_type"),
        ({"api_version": "latest"}, "api_version"),
        ({"api_version": "62.0/../x"}, "api_version"),
    ],
)
def test_unusable_settings_raise_config_errors(monkeypatch, sandbox, extra, complaint):
    hook = hook_for(monkeypatch, sandbox, **extra)
    with pytest.raises(SfCrmConfigError) as excinfo:
        hook.get_conn()
    assert complaint in str(excinfo.value)


def test_unreachable_org_is_reported_not_raised(monkeypatch, sandbox):
    ok, message = hook_for(monkeypatch, sandbox, custom_domain="https://127.0.0.1:1").test_connection()
    assert ok is False
    assert message.startswith("connection_error: cannot reach https://127.0.0.1:1")


def test_a_client_without_the_ca_bundle_fails_tls(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox, ca_bundle="")
    with pytest.raises(SfCrmConfigError, match="ca_bundle"):
        hook.get_conn()
    ok, message = hook_for(monkeypatch, sandbox, ca_bundle="").test_connection()
    assert ok is False and "TLS verification" in message


def test_secrets_are_registered_with_the_masker(monkeypatch, sandbox):
    from airflow.sdk._shared.secrets_masker import _secrets_masker, redact

    # Start from an empty masker: earlier tests in this process registered the same credentials.
    masker = _secrets_masker()
    monkeypatch.setattr(masker, "patterns", set())
    monkeypatch.setattr(masker, "replacer", None)
    static = (sandbox.password, sandbox.security_token, sandbox.client_secret)
    assert all(secret in str(redact(f"value: {secret}")) for secret in static)

    hook = hook_for(monkeypatch, sandbox)
    hook.get_conn()
    access_token = hook._transport.token().access_token
    for secret in (*static, access_token):
        assert secret not in str(redact(f"value: {secret}"))


@pytest.mark.parametrize(
    "error",
    [
        lambda text: SfCrmAuthError("invalid_grant", text),
        lambda text: SfCrmApiError(text),
        lambda text: RuntimeError(text),
    ],
    ids=["auth-error", "api-error", "unexpected-error"],
)
def test_test_connection_scrubs_secrets_echoed_in_the_reason(monkeypatch, sandbox, error):
    def echoing_token_endpoint(session, credentials, *, timeout):
        raise error(
            f"rejected {credentials.password}{credentials.security_token} / {credentials.client_secret}"
        )

    monkeypatch.setattr(_transport, "request_token", echoing_token_endpoint)
    ok, message = hook_for(monkeypatch, sandbox).test_connection()
    assert ok is False
    assert "rejected ***" in message
    for secret in (sandbox.password, sandbox.security_token, sandbox.client_secret):
        assert secret not in message


def test_expired_session_is_renewed(monkeypatch, sandbox_factory):
    running = sandbox_factory(session_ttl_s=1)
    hook = hook_for(monkeypatch, running)
    hook.describe_object("Contact")
    first_token = hook._transport.token().access_token
    time.sleep(1.5)  # let the sandbox expire the session
    assert hook.describe_object("Lead", refresh=True)["name"] == "Lead"
    assert hook._transport.logins == 2
    assert hook._transport.token().access_token != first_token
    # the client handed out earlier follows the renewal
    assert hook.get_conn().session_id == hook._transport.token().access_token


@pytest.mark.parametrize(
    ("version", "verb"),
    [("99.0", "is not served"), ("25.0", "is not served")],
    ids=["newer-than-the-org", "retired"],
)
def test_an_api_version_the_org_does_not_serve_is_named_with_the_versions_it_does(
    monkeypatch, sandbox, version, verb
):
    hook = hook_for(monkeypatch, sandbox, api_version=version)
    with pytest.raises(SfCrmConfigError, match=rf"api_version {version} {verb} .* versions 31\.0 to 67\.0"):
        hook.describe_object("Contact")
    ok, message = hook_for(monkeypatch, sandbox, api_version=version).test_connection()
    assert not ok and f"api_version {version}" in message and "latest 67.0" in message


def test_an_unknown_object_is_still_salesforces_not_found(monkeypatch, sandbox):
    with pytest.raises(SfCrmApiError, match="NOT_FOUND"):
        hook_for(monkeypatch, sandbox).describe_object("Nope__c")


@pytest.mark.parametrize("kind", ["missing", "not-pem"])
def test_a_ca_bundle_that_cannot_be_used_is_a_config_error_naming_it(monkeypatch, sandbox, tmp_path, kind):
    path = tmp_path / "corp-ca.pem"
    if kind == "not-pem":
        path.write_text("this is not a certificate\n")
    hook = hook_for(monkeypatch, sandbox, ca_bundle=str(path))
    words = "does not exist on this worker" if kind == "missing" else "is not a readable PEM file"
    with pytest.raises(SfCrmConfigError, match=f"ca_bundle '{path}' {words}"):
        hook.get_conn()
    ok, message = hook_for(monkeypatch, sandbox, ca_bundle=str(path)).test_connection()
    assert not ok and "ca_bundle" in message and "OSError" not in message


def test_the_hook_hands_only_real_secrets_to_the_masker(monkeypatch, sandbox):
    """``extra_dejson`` would hand every extra value (``api_version`` "62.0"...) to the masker, which
    then warns about "a secret" too short to mask. Airflow's own connection lookup still does that
    once per process (a value of 4 characters in any extra triggers it); the hook must not add to it."""
    import traceback

    from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

    ours: list[object] = []
    original = SecretsMasker.add_mask

    def recording(self, secret, name=None):
        stack = traceback.extract_stack()[:-1]
        airflows_lookup = any(frame.name == "_get_connection" for frame in stack)
        if any("airflow_provider_sfcrm" in frame.filename for frame in stack) and not airflows_lookup:
            ours.append(secret)
        return original(self, secret, name)

    monkeypatch.setattr(SecretsMasker, "add_mask", recording)
    hook = hook_for(monkeypatch, sandbox, api_version="62.0", auth_type="password")
    assert hook.test_connection()[0]
    hook.describe_object("Contact")

    secrets = {sandbox.password, sandbox.security_token, sandbox.client_secret}
    secrets.add(sandbox.password + sandbox.security_token)
    strings = {value for value in ours if isinstance(value, str)}
    assert strings - secrets and all(len(value) > 20 for value in strings - secrets)  # the access token
    assert secrets <= strings and not [value for value in ours if not isinstance(value, str)]
