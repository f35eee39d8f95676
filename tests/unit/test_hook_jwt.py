"""The JWT bearer grant's key handling and assertion (no network)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sfcrm_sandbox.testing import make_jwt_key_pair

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks._auth import Credentials
from airflow_provider_sfcrm.hooks._jwt import JWT_BEARER_GRANT, JwtKey, normalize_pem, pem_secrets


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    key_path, cert_path = make_jwt_key_pair(tmp_path_factory.mktemp("jwt"))
    return key_path, key_path.read_text(), cert_path


def _public_key(cert_path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert_path.read_bytes()).public_key()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda pem: pem,
        lambda pem: pem.replace("\n", "\\n"),  # pasted with escaped line breaks
        lambda pem: pem.replace("\n", ""),  # pasted into a one-line field
        lambda pem: "  " + pem.replace("\n", " ") + "  ",
        lambda pem: pem.replace("\n", "\r\n"),
    ],
    ids=["as-is", "escaped", "one-line", "spaces", "crlf"],
)
def test_the_key_survives_what_forms_do_to_line_breaks(key_pair, mangle):
    _, pem, cert_path = key_pair
    assert normalize_pem(mangle(pem)) == normalize_pem(pem) == pem
    assertion = JwtKey(mangle(pem), None).assertion(client_id="cid", username="u@x", audience="https://a.b")
    assert (
        jwt.decode(assertion, _public_key(cert_path), algorithms=["RS256"], audience="https://a.b")["sub"]
        == "u@x"
    )


def test_the_assertion_carries_salesforces_claims(key_pair):
    key_path, _, cert_path = key_pair
    now = time.time()
    assertion = JwtKey(None, str(key_path)).assertion(
        client_id="3MVG9cid",
        username="integration@acme.com",
        audience="https://acme.my.salesforce.com",
        now=now,
    )
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    claims = jwt.decode(
        assertion, _public_key(cert_path), algorithms=["RS256"], audience="https://acme.my.salesforce.com"
    )
    assert claims == {
        "iss": "3MVG9cid",
        "sub": "integration@acme.com",
        "aud": "https://acme.my.salesforce.com",
        "exp": int(now) + 180,
    }


def test_a_key_given_as_text_wins_over_a_path(key_pair):
    _, pem, _ = key_pair
    assert JwtKey(pem, "/nonexistent").pem() == pem


def _pem(key, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


@pytest.mark.parametrize(
    ("private_key", "path", "complaint"),
    [
        (None, None, "needs private_key or private_key_path"),
        (
            None,
            "/nonexistent/key.pem",
            "private_key_path '/nonexistent/key.pem' cannot be read (FileNotFoundError)",
        ),
        ("not a key at all", None, "private_key is not a PEM private key"),
        (
            _pem(rsa.generate_private_key(65537, 2048), b"pass"),
            None,
            "private_key holds an encrypted private key",
        ),
        (_pem(ec.generate_private_key(ec.SECP256R1())), None, "private_key is not an RSA key"),
    ],
    ids=["none", "missing-file", "garbage", "encrypted", "not-rsa"],
)
def test_unusable_keys_are_named_without_showing_them(private_key, path, complaint):
    with pytest.raises(SfCrmConfigError) as raised:
        JwtKey(private_key, path).assertion(client_id="c", username="u", audience="https://a")
    assert complaint in str(raised.value)
    if private_key:
        body = [line for line in private_key.splitlines() if line and not line.startswith("-----")]
        assert not any(line in str(raised.value) for line in body)


def test_what_is_masked_covers_the_whole_key_and_each_line(key_pair):
    _, pem, _ = key_pair
    one_line = pem.replace("\n", "")
    secrets = pem_secrets(one_line)
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    assert one_line in secrets and pem in secrets and "".join(body) in secrets
    assert all(line in secrets for line in body if len(line) >= 16)
    assert not any(s.startswith("-----BEGIN") and len(s) < 40 for s in secrets)
    assert "JwtKey(private_key_path=None)" == repr(JwtKey(pem, None))


def _credentials(**overrides) -> Credentials:
    values = dict(
        auth_type="jwt",
        base_url="https://acme.my.salesforce.com",
        username="u@example.com",
        password=None,
        security_token=None,
        client_id="cid",
        client_secret=None,
    )
    values.update(overrides)
    return Credentials(**values)


def test_the_jwt_grant_sends_only_the_assertion_with_the_base_url_as_audience(key_pair):
    _, pem, cert_path = key_pair
    form = _credentials(jwt_key=JwtKey(pem, None)).form()
    assert set(form) == {"grant_type", "assertion"} and form["grant_type"] == JWT_BEARER_GRANT
    claims = jwt.decode(
        form["assertion"],
        _public_key(cert_path),
        algorithms=["RS256"],
        audience="https://acme.my.salesforce.com",
    )
    assert (claims["iss"], claims["sub"]) == ("cid", "u@example.com")


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"username": None}, "username"),
        ({"client_id": None}, "client_id"),
        ({"jwt_key": None}, "private_key"),
    ],
)
def test_incomplete_jwt_settings_name_what_is_missing(key_pair, missing, named):
    values = {"jwt_key": JwtKey(key_pair[1], None), **missing}
    with pytest.raises(SfCrmConfigError, match=f"auth_type 'jwt' needs .*{named}"):
        _credentials(**values).form()


def test_credentials_list_the_key_among_their_secrets(key_pair):
    _, pem, _ = key_pair
    credentials = _credentials(jwt_key=JwtKey(pem, None))
    assert pem in credentials.secrets()
    assert pem not in repr(credentials)
