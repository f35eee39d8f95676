"""Domain resolution and token-grant forms of the ``sfcrm`` connection (no network)."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks._auth import Credentials, OAuthToken, resolve_base_url


@pytest.mark.parametrize(
    ("custom_domain", "expected"),
    [
        (None, "https://login.salesforce.com"),
        ("", "https://login.salesforce.com"),
        ("login", "https://login.salesforce.com"),
        ("test", "https://test.salesforce.com"),
        ("acme", "https://acme.my.salesforce.com"),
        ("acme--uat.sandbox", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
        (" https://localhost:9000 ", "https://localhost:9000"),
    ],
)
def test_custom_domain_resolution(custom_domain, expected):
    assert resolve_base_url(custom_domain) == expected


@pytest.mark.parametrize(
    ("custom_domain", "complaint"),
    [
        ("http://127.0.0.1:8443", "plain http://"),
        ("ftp://acme.my.salesforce.com", "https://host[:port]"),
        ("https://", "https://host[:port]"),
        ("https://acme.my.salesforce.com/services", "https://host[:port]"),
        ("https://host:notaport", "https://host[:port]"),
        ("https://user:pw@host", "https://host[:port]"),
        ("acme corp", "neither"),
        ("acme/..", "neither"),
        ("-acme", "neither"),
    ],
)
def test_bad_custom_domains_are_refused_by_name(custom_domain, complaint):
    with pytest.raises(SfCrmConfigError, match="custom_domain") as excinfo:
        resolve_base_url(custom_domain)
    assert complaint in str(excinfo.value)


def _credentials(**overrides) -> Credentials:
    values = dict(
        auth_type="password",
        base_url="https://acme.my.salesforce.com",
        username="u@example.com",
        password="pw-secret",
        security_token="TOKEN123",
        client_id="cid",
        client_secret="csecret",
    )
    values.update(overrides)
    return Credentials(**values)


@pytest.mark.parametrize(("token", "sent"), [("TOKEN123", "pw-secretTOKEN123"), (None, "pw-secret")])
def test_password_grant_appends_the_security_token(token, sent):
    form = _credentials(security_token=token).form()
    assert form == {
        "grant_type": "password",
        "client_id": "cid",
        "client_secret": "csecret",
        "username": "u@example.com",
        "password": sent,
    }


def test_client_credentials_grant_sends_only_the_app_credentials():
    form = _credentials(auth_type="client_credentials").form()
    assert form == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"}


@pytest.mark.parametrize("base_url", ["https://login.salesforce.com", "https://test.salesforce.com"])
def test_client_credentials_refuses_generic_login_hosts(base_url):
    with pytest.raises(SfCrmConfigError, match="My Domain"):
        _credentials(auth_type="client_credentials", base_url=base_url).form()


@pytest.mark.parametrize(
    ("auth_type", "missing", "named"),
    [
        ("password", "username", "username"),
        ("password", "client_secret", "client_secret"),
        ("client_credentials", "client_id", "client_id"),
    ],
)
def test_incomplete_credentials_name_the_missing_field(auth_type, missing, named):
    with pytest.raises(SfCrmConfigError, match=named):
        _credentials(auth_type=auth_type, **{missing: None}).form()


def test_unknown_auth_type_is_refused():
    with pytest.raises(SfCrmConfigError, match="'saml' is not one of password, client_credentials, jwt"):
        _credentials(auth_type="saml").form()


def test_reprs_never_show_secrets():
    credentials = _credentials()
    token = OAuthToken(
        "00Dxx!ACCESS", "https://acme.my.salesforce.com", "https://x/id/00D/005xx0000012345AAA"
    )
    text = repr(credentials) + repr(token) + str(credentials) + str(token)
    for secret in ("pw-secret", "TOKEN123", "csecret", "00Dxx!ACCESS"):
        assert secret not in text
    assert set(credentials.secrets()) == {"pw-secret", "TOKEN123", "csecret", "pw-secretTOKEN123"}
    assert token.user_id == "005xx0000012345AAA"
