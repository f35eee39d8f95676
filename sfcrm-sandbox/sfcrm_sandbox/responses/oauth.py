"""OAuth endpoints: ``POST /services/oauth2/token`` and the identity URL ``/id/{org}/{user}``."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

from sfcrm_sandbox.models.sessions import Sessions, TokenError
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply


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
    """The token endpoint and the identity URL.

    :param store: the org (its users, for the identity URL).
    :param sessions: issues and checks access tokens.
    """

    def __init__(self, store: OrgStore, sessions: Sessions) -> None:
        self.store = store
        self.sessions = sessions

    def token(self, call: Call) -> Reply:
        content_type = call.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            # Salesforce reads token requests only as form posts; JSON bodies look like no grant at all.
            return Reply(400, TokenError.unsupported_grant().body)
        form = dict(parse_qsl(call.raw.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            body = self.sessions.grant(
                form, basic_credentials(call.headers.get("authorization")), call.base_url
            )
        except TokenError as exc:
            return Reply(400, exc.body)
        return Reply(200, body)

    def identity(self, call: Call) -> Reply:
        if not self.sessions.valid(call.bearer_token):
            return Reply(403, "Bad_OAuth_Token")
        user_id = call.params["user"]
        found = self.store.get(user_id)
        if found is None or found[0] != "User":
            return Reply(404, "Bad_Id")
        user = found[2]
        base = call.base_url
        return Reply(
            200,
            {
                "id": f"{base}/id/{self.store.org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": self.store.org_id,
                "username": user.get("Username"),
                "display_name": user.get("Name"),
                "email": user.get("Email"),
                "active": True,
                "user_type": "STANDARD",
                "urls": {
                    "rest": f"{base}/services/data/v{{version}}/",
                    "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                    "query": f"{base}/services/data/v{{version}}/query/",
                },
            },
        )
