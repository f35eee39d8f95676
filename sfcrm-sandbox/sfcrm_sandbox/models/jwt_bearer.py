"""The OAuth 2.0 JWT bearer grant (``docs/salesforce-facts.md``, "Authentication").

A client posts ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an ``assertion``: a
JWT signed with RS256 by the private key whose certificate was uploaded to the connected app
(``--jwt-cert``), whose claims name the connected app (``iss`` = consumer key), the user (``sub`` =
username), the authorization server (``aud``) and an expiry (``exp``). Each failure is answered
400 with Salesforce's OAuth error:

* not a JWT, not RS256, or a signature the certificate does not verify: ``invalid_grant`` /
  ``invalid assertion``;
* ``iss`` is not the consumer key: ``invalid_client_id`` / ``client identifier invalid``;
* ``aud`` is not this server's URL: ``invalid_grant`` / ``audience is invalid``;
* ``exp`` missing or past: ``invalid_grant`` / ``expired authorization code``;
* ``sub`` is not a user pre-authorized for the app: ``invalid_grant`` /
  ``user hasn't approved this consumer``.

Verified with ``cryptography`` directly (no JWT library): the sandbox checks what clients built with
JWT libraries send, so it does not share their code. Expiry is judged by the wall clock, not the
org's settable clock: that one moves data timestamps, and a client signs with real time.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class AssertionRefused(Exception):
    """The assertion fails a check; ``error`` / ``description`` are what the token endpoint answers."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _invalid() -> AssertionRefused:
    return AssertionRefused("invalid_grant", "invalid assertion")


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise _invalid() from None


def load_certificate(path: str | Path) -> x509.Certificate:
    """The connected app's certificate (PEM); ValueError naming the file unless it holds an RSA one."""
    data = Path(path).read_bytes()
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ValueError(f"{path} is not a PEM X.509 certificate") from None
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise ValueError(f"{path}: the JWT bearer flow signs with RS256, which needs an RSA certificate")
    return certificate


@dataclass(frozen=True)
class JwtBearerPolicy:
    """What the org's connected app accepts.

    :param certificate: the uploaded certificate (None: no certificate, every assertion is refused).
    :param client_id: the consumer key (``iss``).
    :param approved_usernames: users pre-authorized for the app (``sub``), compared case-insensitively.
    """

    certificate: x509.Certificate | None
    client_id: str
    approved_usernames: frozenset[str]

    def verify(self, assertion: Any, audience: str, now: float | None = None) -> str:
        """The username the assertion logs in, or :class:`AssertionRefused`.

        :param audience: the URL of this authorization server as the client reached it.
        :param now: seconds since the epoch (default: the wall clock).
        """
        if not isinstance(assertion, str) or assertion.count(".") != 2:
            raise _invalid()
        header_part, claims_part, signature_part = assertion.split(".")
        try:
            header = json.loads(_b64url(header_part))
            claims = json.loads(_b64url(claims_part))
        except ValueError:
            raise _invalid() from None
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
            raise _invalid()
        if self.certificate is None:
            # UNVERIFIED: what Salesforce answers when the app has no certificate; nothing can verify it.
            raise _invalid()
        public_key = self.certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(
                _b64url(signature_part),
                f"{header_part}.{claims_part}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, UnicodeEncodeError):
            raise _invalid() from None
        if claims.get("iss") != self.client_id:
            raise AssertionRefused("invalid_client_id", "client identifier invalid")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not any(isinstance(a, str) and a.rstrip("/") == audience.rstrip("/") for a in audiences):
            raise AssertionRefused("invalid_grant", "audience is invalid")
        expiry = claims.get("exp")
        current = time.time() if now is None else now
        if isinstance(expiry, str) and expiry.isdigit():  # some clients send it as text
            expiry = int(expiry)
        if isinstance(expiry, bool) or not isinstance(expiry, (int, float)) or expiry <= current:
            raise AssertionRefused("invalid_grant", "expired authorization code")
        subject = claims.get("sub")
        if not isinstance(subject, str) or subject.lower() not in self.approved_usernames:
            # UNVERIFIED for a username that names no user; Salesforce answers this for users the app
            # is not pre-authorized for.
            raise AssertionRefused("invalid_grant", "user hasn't approved this consumer")
        return subject
