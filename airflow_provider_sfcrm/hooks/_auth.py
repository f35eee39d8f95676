"""OAuth token grants against ``<base>/services/oauth2/token`` (password, client credentials, JWT bearer).

Kept apart from the hook so that the credential handling is small enough to read in one go:
secrets go into the form body only, and error text carries Salesforce's ``error`` /
``error_description`` and nothing of what was sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from airflow_provider_sfcrm.exceptions import SfCrmAuthError, SfCrmConfigError
from airflow_provider_sfcrm.hooks._jwt import JWT_BEARER_GRANT, JwtKey

AUTH_TYPES = ("password", "client_credentials", "jwt")
#: Gateway answers after which the same request may simply be sent again.
TRANSIENT_STATUSES = (502, 503, 504)
# Salesforce's generic login hosts; client credentials must go to the org's own My Domain host.
_GENERIC_DOMAINS = {"login": "https://login.salesforce.com", "test": "https://test.salesforce.com"}
# A My Domain prefix: "acme", "acme--uat.sandbox" (labels of letters, digits and hyphens).
_PREFIX = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")
# An Organization Id: key prefix 00D, 15 or 18 letters and digits.
_ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def resolve_base_url(custom_domain: str | None) -> str:
    """Turn the connection's ``custom_domain`` into the base URL of the token endpoint.

    ``login`` / ``test`` → Salesforce's login hosts, a My Domain prefix ``X`` →
    ``https://X.my.salesforce.com``, a full ``https://host[:port]`` URL → itself. Plain
    ``http://`` and anything malformed are refused, naming the value.
    """
    domain = (custom_domain or "login").strip()
    if domain in _GENERIC_DOMAINS:
        return _GENERIC_DOMAINS[domain]
    if "://" in domain:
        parts = urlsplit(domain)
        if parts.scheme == "http":
            raise SfCrmConfigError(
                f"custom_domain {domain!r} uses plain http://; Salesforce is only reachable over https://"
            )
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            parts.scheme != "https"
            or not parts.hostname
            or not _HOST.match(parts.hostname)
            or port == -1
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise SfCrmConfigError(
                f"custom_domain {domain!r} is not a base URL of the form https://host[:port]"
            )
        return f"https://{parts.hostname}" + (f":{port}" if port else "")
    if _PREFIX.match(domain):
        return f"https://{domain}.my.salesforce.com"
    raise SfCrmConfigError(
        f"custom_domain {domain!r} is neither 'login', 'test', a My Domain prefix (e.g. 'acme') "
        "nor an https:// URL"
    )


@dataclass(frozen=True)
class OAuthToken:
    """What the token endpoint answered; ``repr`` leaves the access token out."""

    access_token: str
    instance_url: str
    identity_url: str

    def __repr__(self) -> str:
        return f"OAuthToken(instance_url={self.instance_url!r}, identity_url={self.identity_url!r})"

    @property
    def user_id(self) -> str:
        """The user's 18-character Id: the last segment of ``.../id/<orgId>/<userId>``."""
        return self.identity_url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def org_id(self) -> str | None:
        """The org's Id (``00D...``) from ``.../id/<orgId>/<userId>``; None when the URL has no such part."""
        parts = self.identity_url.rstrip("/").rsplit("/", 3)
        if len(parts) == 4 and parts[1] == "id" and _ORG_ID.match(parts[2]):
            return parts[2]
        return None


@dataclass(frozen=True, repr=False)
class Credentials:
    """Everything a token grant needs. ``repr`` is hidden so secrets never reach a log by accident.

    For ``jwt`` the assertion's audience is ``base_url``: ``https://login.salesforce.com`` /
    ``https://test.salesforce.com`` for ``login`` / ``test``, the org's My Domain URL for a prefix, the
    URL itself for a full URL; the token is requested there too.
    """

    auth_type: str
    base_url: str
    username: str | None
    password: str | None
    security_token: str | None
    client_id: str | None
    client_secret: str | None
    jwt_key: JwtKey | None = None

    def __repr__(self) -> str:
        return f"Credentials(auth_type={self.auth_type!r}, base_url={self.base_url!r})"

    def form(self) -> dict[str, str]:
        """The form body of the grant; refuses incomplete settings with the missing field's name."""
        if self.auth_type == "password":
            missing = [
                name
                for name in ("username", "password", "client_id", "client_secret")
                if not getattr(self, name)
            ]
            if missing:
                raise SfCrmConfigError(f"auth_type 'password' needs {', '.join(missing)} in the connection")
            return {
                "grant_type": "password",
                "client_id": str(self.client_id),
                "client_secret": str(self.client_secret),
                "username": str(self.username),
                # Salesforce expects the security token glued to the password.
                "password": f"{self.password}{self.security_token or ''}",
            }
        if self.auth_type == "client_credentials":
            if self.base_url in _GENERIC_DOMAINS.values():
                raise SfCrmConfigError(
                    "auth_type 'client_credentials' must use the org's My Domain (custom_domain), "
                    "not 'login' or 'test'"
                )
            missing = [name for name in ("client_id", "client_secret") if not getattr(self, name)]
            if missing:
                raise SfCrmConfigError(
                    f"auth_type 'client_credentials' needs {', '.join(missing)} in the connection"
                )
            return {
                "grant_type": "client_credentials",
                "client_id": str(self.client_id),
                "client_secret": str(self.client_secret),
            }
        if self.auth_type == "jwt":
            missing = [name for name in ("username", "client_id") if not getattr(self, name)]
            if self.jwt_key is None or not (self.jwt_key.private_key or self.jwt_key.private_key_path):
                missing.append("private_key or private_key_path")
            if missing:
                raise SfCrmConfigError(f"auth_type 'jwt' needs {', '.join(missing)} in the connection")
            assert self.jwt_key is not None
            assertion = self.jwt_key.assertion(
                client_id=str(self.client_id), username=str(self.username), audience=self.base_url
            )
            return {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        raise SfCrmConfigError(f"auth_type {self.auth_type!r} is not one of {', '.join(AUTH_TYPES)}")

    def secrets(self) -> list[str]:
        """The values that must be masked in logs."""
        values = [self.password, self.security_token, self.client_secret]
        if self.password and self.security_token:
            values.append(f"{self.password}{self.security_token}")
        if self.jwt_key is not None:
            values.extend(self.jwt_key.secrets())
        return [value for value in values if value]


def request_token(session: requests.Session, credentials: Credentials, *, timeout: float) -> OAuthToken:
    """POST the grant form-encoded and return the token; Salesforce's refusal → ``SfCrmAuthError``.

    Connection problems and 502/503/504 propagate as ``requests`` exceptions (the caller decides
    on retries).
    """
    response = session.post(
        f"{credentials.base_url}/services/oauth2/token",
        data=credentials.form(),
        headers={"Accept": "application/json"},
        timeout=timeout,
    )
    if response.status_code in TRANSIENT_STATUSES:
        response.raise_for_status()  # transient: the caller's retry policy decides
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        if isinstance(body, dict) and body.get("error"):
            raise SfCrmAuthError(
                str(body["error"]), str(body.get("error_description", "")), status=response.status_code
            )
        raise SfCrmAuthError(
            f"http_{response.status_code}",
            f"unexpected answer from {credentials.base_url}/services/oauth2/token",
            status=response.status_code,
        )
    return OAuthToken(
        access_token=str(body["access_token"]),
        instance_url=str(body.get("instance_url") or credentials.base_url).rstrip("/"),
        identity_url=str(body.get("id", "")),
    )
