"""Apex REST (``/services/apexrest/...``): the sandbox org has no Apex classes, so every URL answers
as Salesforce does for a URL no class is mapped to: 404 ``NOT_FOUND`` "Could not find a match for URL"."""

from __future__ import annotations

from sfcrm_sandbox.models.sessions import Sessions
from sfcrm_sandbox.responses.call import Call, Reply, api_error

APEX_REST_PREFIX = "/services/apexrest"
_SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class ApexRestResponses:
    """``/services/apexrest/{anything}``, any method.

    :param sessions: checks the bearer token first, as for every API call.
    """

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    def no_class(self, call: Call) -> Reply:
        if not self.sessions.valid(call.bearer_token):
            return Reply(401, _SESSION_INVALID)
        return api_error(404, "NOT_FOUND", f"Could not find a match for URL {call.params['path']}")
