"""The JWT bearer grant's checks and Salesforce's answer to each failure (signed here with cryptography)."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sfcrm_sandbox.models.jwt_bearer import AssertionRefused, JwtBearerPolicy, load_certificate
from sfcrm_sandbox.testing import self_signed_certificate
from tests.jwt_assertions import segment, signed_jwt

AUDIENCE = "https://127.0.0.1:8443"
CLIENT_ID = "sfcrm-sandbox-client-id"
USERNAME = "integration.user@sfcrm-sandbox.local"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _key()
POLICY = JwtBearerPolicy(self_signed_certificate(KEY), CLIENT_ID, frozenset({USERNAME}))


def sign(claims: dict | None = None, *, key=KEY, alg: str = "RS256", **overrides) -> str:
    body = {"iss": CLIENT_ID, "sub": USERNAME, "aud": AUDIENCE, "exp": int(time.time()) + 180}
    body.update(claims or {})
    body.update(overrides)
    return signed_jwt(body, key, alg=alg)


def test_a_good_assertion_names_its_user():
    assert POLICY.verify(sign(), AUDIENCE) == USERNAME
    # The audience may carry a trailing slash, the username another case, exp a string of digits.
    assert POLICY.verify(
        sign(aud=AUDIENCE + "/", sub=USERNAME.upper(), exp=str(int(time.time()) + 60)), AUDIENCE
    )


@pytest.mark.parametrize(
    ("assertion", "error", "description"),
    [
        (sign(key=_key()), "invalid_grant", "invalid assertion"),
        (sign(alg="HS256"), "invalid_grant", "invalid assertion"),
        ("not-a-jwt", "invalid_grant", "invalid assertion"),
        ("a.b.c", "invalid_grant", "invalid assertion"),
        (sign()[:-8] + "AAAAAAAA", "invalid_grant", "invalid assertion"),
        (sign(iss="someone-else"), "invalid_client_id", "client identifier invalid"),
        (sign(aud="https://login.salesforce.com"), "invalid_grant", "audience is invalid"),
        (sign(exp=int(time.time()) - 1), "invalid_grant", "expired authorization code"),
        (sign(exp=None), "invalid_grant", "expired authorization code"),
        (sign(sub="lead.router@sfcrm-sandbox.local"), "invalid_grant", "user hasn't approved this consumer"),
        (sign(sub="nobody@example.com"), "invalid_grant", "user hasn't approved this consumer"),
    ],
    ids=[
        "other-key",
        "not-rs256",
        "not-a-jwt",
        "not-base64-json",
        "tampered-signature",
        "unknown-client",
        "wrong-audience",
        "expired",
        "no-expiry",
        "unapproved-user",
        "unknown-user",
    ],
)
def test_each_bad_assertion_gets_salesforces_error(assertion, error, description):
    with pytest.raises(AssertionRefused) as refused:
        POLICY.verify(assertion, AUDIENCE)
    assert (refused.value.error, refused.value.description) == (error, description)


def test_tampered_claims_break_the_signature():
    header, _, signature = sign().split(".")
    forged = (
        f"{header}.{segment({'iss': CLIENT_ID, 'sub': 'admin@example.com', 'aud': AUDIENCE})}.{signature}"
    )
    with pytest.raises(AssertionRefused, match="invalid assertion"):
        POLICY.verify(forged, AUDIENCE)


def test_without_a_certificate_every_assertion_is_refused():
    with pytest.raises(AssertionRefused, match="invalid assertion"):
        JwtBearerPolicy(None, CLIENT_ID, frozenset({USERNAME})).verify(sign(), AUDIENCE)


def test_load_certificate_wants_an_rsa_certificate(tmp_path):
    good = tmp_path / "app.crt"
    good.write_bytes(self_signed_certificate(KEY).public_bytes(serialization.Encoding.PEM))
    assert load_certificate(good).public_key().public_numbers() == KEY.public_key().public_numbers()
    key_file = tmp_path / "app.key"
    key_file.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not a PEM X.509 certificate"):
        load_certificate(key_file)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_file = tmp_path / "ec.crt"
    ec_file.write_bytes(self_signed_certificate(ec_key).public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ValueError, match="RSA"):
        load_certificate(ec_file)
