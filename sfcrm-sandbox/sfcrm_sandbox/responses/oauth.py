"""OAuth endpoints: ``POST /services/oauth2/token``, the identity URL ``/id/{org}/{user}`` and the
OpenID Connect ``GET /services/oauth2/userinfo``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from sfcrm_sandbox.models.hosts import instance_url, is_login_host
from sfcrm_sandbox.models.sessions import Sessions, TokenError
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply

# An invalid token on the identity and userinfo endpoints: 403 and this bare text.
_BAD_TOKEN = Reply(403, content=b"Bad_OAuth_Token", media_type="text/plain")


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header, or None."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class OAuthResponses:
    """The token endpoint, the identity URL and userinfo.

    :param store: the org (its users, for the identity URL).
    :param sessions: issues and checks access tokens.
    :param my_domain: the org's My Domain name: logins at ``login``/``test.salesforce.com`` land on
        ``https://<my_domain>.my.salesforce.com``.
    """

    def __init__(self, store: OrgStore, sessions: Sessions, my_domain: str) -> None:
        self.store = store
        self.sessions = sessions
        self.my_domain = my_domain

    def token(self, call: Call) -> Reply:
        content_type = call.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            # Salesforce reads token requests only as form posts; JSON bodies look like no grant at all.
            return Reply(400, TokenError.unsupported_grant().body)
        form = dict(parse_qsl(call.raw.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") == "client_credentials" and is_login_host(call.base_url):
            # The client-credentials flow runs on the org's My Domain only. UNVERIFIED wording.
            return Reply(400, TokenError("invalid_request", "request not supported on this domain").body)
        try:
            body = self.sessions.grant(
                form,
                basic_credentials(call.headers.get("authorization")),
                call.base_url,
                instance_url(call.base_url, self.my_domain),
            )
        except TokenError as exc:
            return Reply(400, exc.body)
        return Reply(200, body)

    def _user(self, call: Call, user_id: str) -> dict[str, Any] | Reply:
        if not self.sessions.valid(call.bearer_token):
            return _BAD_TOKEN
        found = self.store.get(user_id)
        if found is None or found[0] != "User":
            return Reply(404, content=b"Bad_Id", media_type="text/plain")
        return found[2]

    def _urls(self, call: Call) -> dict[str, str]:
        base = instance_url(call.base_url, self.my_domain)
        return {
            "rest": f"{base}/services/data/v{{version}}/",
            "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
            "search": f"{base}/services/data/v{{version}}/search/",
            "query": f"{base}/services/data/v{{version}}/query/",
            "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
            "partner": f"{base}/services/Soap/u/{{version}}/{self.store.org_id}",
            "userinfo": f"{call.base_url}/services/oauth2/userinfo",
        }

    def identity(self, call: Call) -> Reply:
        user_id = call.params["user"]
        user = self._user(call, user_id)
        if isinstance(user, Reply):
            return user
        return Reply(
            200,
            {
                "id": f"{call.base_url}/id/{self.store.org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": self.store.org_id,
                "username": user.get("Username"),
                "display_name": user.get("Name"),
                "email": user.get("Email"),
                "first_name": user.get("FirstName"),
                "last_name": user.get("LastName"),
                "timezone": user.get("TimeZoneSidKey"),
                "active": True,
                "user_type": "STANDARD",
                "language": user.get("LanguageLocaleKey"),
                "locale": user.get("LocaleSidKey"),
                "utcOffset": 0,
                "last_modified_date": user.get("LastModifiedDate"),
                "urls": self._urls(call),
            },
        )

    def userinfo(self, call: Call) -> Reply:
        """OpenID Connect claims of the session's user (every session is the integration user's)."""
        user_id = self.sessions.user_id
        user = self._user(call, user_id)
        if isinstance(user, Reply):
            return user
        identity = f"{call.base_url}/id/{self.store.org_id}/{user_id}"
        return Reply(
            200,
            {
                "sub": identity,
                "user_id": user_id,
                "organization_id": self.store.org_id,
                "preferred_username": user.get("Username"),
                "nickname": user.get("Alias"),
                "name": user.get("Name"),
                "email": user.get("Email"),
                "email_verified": True,
                "given_name": user.get("FirstName"),
                "family_name": user.get("LastName"),
                "zoneinfo": user.get("TimeZoneSidKey"),
                "profile": f"{instance_url(call.base_url, self.my_domain)}/{user_id}",
                "address": {},
                "is_salesforce_integration_user": False,
                "urls": self._urls(call),
                "active": True,
                "user_type": "STANDARD",
                "language": user.get("LanguageLocaleKey"),
                "locale": user.get("LocaleSidKey"),
                "utcOffset": 0,
                "updated_at": user.get("LastModifiedDate"),
            },
        )
