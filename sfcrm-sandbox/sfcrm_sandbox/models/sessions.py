"""OAuth grants and bearer sessions (``docs/salesforce-facts.md``, "Authentication").

The username-password grant takes the password with the security token appended; the
client-credentials grant takes the connected app's id and secret (form fields or HTTP Basic); the
JWT bearer grant takes an assertion signed with the key of the app's certificate (:mod:`.jwt_bearer`).
Errors carry OAuth's ``error`` / ``error_description``. Tokens live in memory only: a restarted
sandbox invalidates every session, as a real org may.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.jwt_bearer import JWT_BEARER_GRANT, AssertionRefused, JwtBearerPolicy

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Credentials:
    """What the sandbox accepts at its token endpoint (defaults: ``process.DEFAULT_CREDENTIALS``)."""

    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str


class TokenError(Exception):
    """An OAuth error answered with HTTP 400 ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.body = {"error": error, "error_description": description}

    @classmethod
    def unsupported_grant(cls) -> TokenError:
        return cls("unsupported_grant_type", "grant type not supported")


class Sessions:
    """Issues and checks access tokens.

    :param credentials: accepted credentials.
    :param org_id: 18-character Organization Id (tokens start with its 15-character form).
    :param user_id: 18-character Id of the integration user (every grant runs as this user).
    :param ttl_s: session lifetime in seconds.
    :param jwt_certificate: the certificate uploaded to the connected app for the JWT bearer grant
        (``--jwt-cert``); without one every assertion is refused.
    """

    def __init__(
        self,
        credentials: Credentials,
        org_id: str,
        user_id: str,
        ttl_s: float,
        jwt_certificate: x509.Certificate | None = None,
    ) -> None:
        self.credentials = credentials
        self.org_id = org_id
        self.user_id = user_id
        self.ttl_s = ttl_s
        # The integration user is the one user pre-authorized for the connected app.
        self.jwt = JwtBearerPolicy(
            jwt_certificate, credentials.client_id, frozenset({credentials.username.lower()})
        )
        self._expiry: dict[str, float] = {}

    def grant(
        self,
        form: dict[str, str],
        basic_auth: tuple[str, str] | None,
        base_url: str,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """Answer a token request; raises :class:`TokenError` with Salesforce's error body.

        :param base_url: where the request was sent (the identity URL is on that host).
        :param instance: the instance URL to answer with (default ``base_url``).
        """
        grant_type = form.get("grant_type")
        creds = self.credentials
        if grant_type == JWT_BEARER_GRANT:
            try:
                # The audience is the authorization server the client addressed (login, test, My Domain).
                self.jwt.verify(form.get("assertion"), base_url)
            except AssertionRefused as refused:
                raise TokenError(refused.error, refused.description) from None
            # The JWT bearer answer carries no issued_at / signature (Salesforce's documented example).
            return self._token_body(base_url, instance or base_url, scope="api", signed=False)
        if grant_type == "password":
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
        elif grant_type == "client_credentials":
            client_id, client_secret = basic_auth or (form.get("client_id"), form.get("client_secret"))
        else:
            raise TokenError.unsupported_grant()
        if not _same(client_id, creds.client_id):
            raise TokenError("invalid_client_id", "client identifier invalid")
        if not _same(client_secret, creds.client_secret):
            raise TokenError("invalid_client", "invalid client credentials")
        if grant_type == "password" and not self.password_matches(form.get("username"), form.get("password")):
            raise TokenError("invalid_grant", "authentication failure")
        return self._token_body(
            base_url, instance or base_url, scope="api" if grant_type == "client_credentials" else None
        )

    def password_matches(self, username: str | None, password: str | None) -> bool:
        """The integration user's username and its password immediately followed by the security token."""
        creds = self.credentials
        return _same(username, creds.username) and _same(password, creds.password + creds.security_token)

    def password_without_token(self, username: str | None, password: str | None) -> bool:
        """The right username and password, but no security token after it."""
        creds = self.credentials
        return _same(username, creds.username) and _same(password, creds.password)

    def open(self) -> str:
        """A new access token (session id) of the integration user."""
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        self._expiry[token] = time.monotonic() + self.ttl_s
        return token

    def _token_body(
        self, base_url: str, instance: str, scope: str | None, signed: bool = True
    ) -> dict[str, Any]:
        token = self.open()
        identity = f"{base_url}/id/{self.org_id}/{self.user_id}"
        issued_at = str(int(time.time() * 1000))
        # Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
        signature = base64.b64encode(
            hmac.new(
                self.credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": token,
            "instance_url": instance,
            "id": identity,
            "token_type": "Bearer",
        }
        if signed:
            body.update(issued_at=issued_at, signature=signature)
        if scope:
            body["scope"] = scope
        return body

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expiry = self._expiry.get(token)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._expiry[token]
            return False
        return True

    def invalidate(self, token: str) -> None:
        self._expiry.pop(token, None)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
