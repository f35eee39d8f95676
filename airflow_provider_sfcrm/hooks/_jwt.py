"""The OAuth 2.0 JWT bearer grant: the connected app's private key, and the assertion signed with it.

Salesforce's JWT bearer flow: the client signs a JWT with RS256 whose claims are the connected app's
consumer key (``iss``), the username (``sub``), the authorization server's URL (``aud``) and an expiry
(``exp``, at most a few minutes ahead), and posts it as ``assertion`` with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``. No password and no client secret travel;
the app's certificate (uploaded to the connected app) verifies the signature, and the user must be
pre-authorized for the app. Signing uses PyJWT; keys are read with ``cryptography``.

The key comes from the connection: the PEM text itself (extra ``private_key``, a secret), or a file
(``private_key_path``, e.g. a mounted secret). PEM text pasted into a one-line form field loses its
line breaks, or arrives with literal ``\\n``: it is re-wrapped before it is read. Nothing here ever
puts key material into an error message.
"""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_sfcrm.exceptions import SfCrmConfigError

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: How long an assertion is valid: Salesforce documents "within 3 minutes".
ASSERTION_LIFETIME_S = 180
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


def normalize_pem(text: str) -> str:
    """``text``'s first PEM block with its line breaks restored (they get lost in one-line form fields)."""
    unescaped = text.replace("\\n", "\n").replace("\\r", "")
    match = _PEM.search(unescaped)
    if match is None:
        return unescaped.strip()
    label, body = match.group(1), re.sub(r"\s+", "", match.group(2))
    return f"-----BEGIN {label}-----\n" + "\n".join(textwrap.wrap(body, 64)) + f"\n-----END {label}-----\n"


def pem_secrets(pem: str) -> list[str]:
    """What to mask of a PEM key: the whole of it, its base64 body, and each line of that body.

    A log line or a traceback may quote a single line of the key; the BEGIN/END lines are not secret.
    """
    normalized = normalize_pem(pem)
    body_lines = [line for line in normalized.splitlines() if line and not line.startswith("-----")]
    return [pem, normalized, "".join(body_lines), *(line for line in body_lines if len(line) >= 16)]


class JwtKey:
    """The connected app's RSA private key, loaded when first needed.

    :param private_key: PEM text (the connection's secret extra ``private_key``).
    :param private_key_path: a PEM file (``private_key_path``); used when ``private_key`` is empty.
    """

    def __init__(self, private_key: str | None, private_key_path: str | None) -> None:
        self.private_key = private_key
        self.private_key_path = private_key_path

    def __repr__(self) -> str:
        return f"JwtKey(private_key_path={self.private_key_path!r})"

    def pem(self) -> str:
        if self.private_key:
            return self.private_key
        if not self.private_key_path:
            raise SfCrmConfigError("auth_type 'jwt' needs private_key or private_key_path in the connection")
        try:
            return Path(self.private_key_path).expanduser().read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise SfCrmConfigError(
                f"private_key_path {self.private_key_path!r} cannot be read ({exc.__class__.__name__})"
            ) from None

    def load(self) -> rsa.RSAPrivateKey:
        """The key; a clear error (without the key) when it is not an unencrypted PEM RSA private key."""
        where = "private_key" if self.private_key else f"private_key_path {self.private_key_path!r}"
        try:
            key = serialization.load_pem_private_key(normalize_pem(self.pem()).encode(), password=None)
        except TypeError:
            raise SfCrmConfigError(
                f"{where} holds an encrypted private key; give it unencrypted (keep it in a secret store)"
            ) from None
        except ValueError:
            raise SfCrmConfigError(
                f"{where} is not a PEM private key (-----BEGIN PRIVATE KEY-----)"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SfCrmConfigError(
                f"{where} is not an RSA key: Salesforce's JWT bearer flow signs with RS256"
            )
        return key

    def assertion(self, *, client_id: str, username: str, audience: str, now: float | None = None) -> str:
        """A signed JWT bearer assertion, valid for :data:`ASSERTION_LIFETIME_S` seconds."""
        issued = int(time.time() if now is None else now)
        claims = {"iss": client_id, "sub": username, "aud": audience, "exp": issued + ASSERTION_LIFETIME_S}
        return jwt.encode(claims, self.load(), algorithm="RS256")

    def secrets(self) -> list[str]:
        """The key material to mask in logs (nothing when the key cannot be read yet)."""
        try:
            return pem_secrets(self.pem())
        except SfCrmConfigError:
            return []
