"""The sandbox's ASGI application: auth, API limits, faults, latency, stats, and REST routing.

Pipeline of a REST request (``/services/data/vXX.X/...``): version check (410 for retired
versions) → bearer token (401 ``INVALID_SESSION_ID`` array) → counted in stats → fault
``expire_session_every`` → daily API limit (403 ``REQUEST_LIMIT_EXCEEDED``) → faults 503/502 →
``--latency-ms`` → the handler → ``--per-record-latency-ms`` × records written → slow-response
fault → response, or a dropped connection. Every REST response carries ``Sforce-Limit-Info``.
Latencies are ``asyncio.sleep``: concurrent requests overlap, the sandbox never serialises them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sfcrm_sandbox.connections import abort_connection
from sfcrm_sandbox.faults import Faults, FaultSettings
from sfcrm_sandbox.protocol import Call, Reply, api_error, not_found
from sfcrm_sandbox.rest import LATEST_VERSION, OLDEST_VERSION, RestApi, versions
from sfcrm_sandbox.sessions import (
    Credentials,
    Sessions,
    TokenError,
    basic_credentials,
    bearer_token,
)
from sfcrm_sandbox.store import OrgStore
from sfcrm_sandbox.writes import Writer

_DATA_PATH = re.compile(r"^/services/data/v(?P<version>[^/]+?)(?P<rest>/.*)?$")
_SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_JSON = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class SandboxSettings:
    """Behaviour knobs from the command line (design.md §4).

    :param credentials: what the token endpoint accepts.
    :param latency_ms: added to every REST request.
    :param per_record_latency_ms: added per record written.
    :param daily_api_limit: REST requests allowed before 403 REQUEST_LIMIT_EXCEEDED.
    :param session_ttl_s: access token lifetime.
    :param faults: injected faults.
    """

    credentials: Credentials
    latency_ms: float = 0
    per_record_latency_ms: float = 0
    daily_api_limit: int = 1_000_000
    session_ttl_s: float = 7200
    faults: FaultSettings = FaultSettings()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    media_type = None if body is None else _JSON
    return Response(content, status_code=status, media_type=media_type, headers=headers)


class SandboxApp:
    """ASGI app of one org.

    :param store: the org's data.
    :param settings: behaviour knobs.
    """

    def __init__(self, store: OrgStore, settings: SandboxSettings) -> None:
        self.store = store
        self.settings = settings
        self.faults = Faults(settings.faults)
        self.writer = Writer(store, self.faults.record_lock)
        self.rest = RestApi(store, self.writer, lambda: (self.api_used, settings.daily_api_limit))
        assert store.org_id and store.user_id
        self.sessions = Sessions(settings.credentials, store.org_id, store.user_id, settings.session_ttl_s)
        self.api_used = 0
        self.api_calls = 0
        self.by_route: Counter[str] = Counter()
        self.records_written = 0
        # Requests being served right now and the most seen at once: shows that latency overlaps.
        self.in_flight = 0
        self.max_in_flight = 0

    # --- ASGI entry ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response, drop = await self.handle(request)
        finally:
            self.in_flight -= 1
        if drop and abort_connection(scope.get("client")):
            # The request was processed; the client now loses the connection before any response
            # bytes. Yield so uvicorn notices the disconnect and sends nothing itself.
            for _ in range(5):
                await asyncio.sleep(0)
            return
        await response(scope, receive, send)

    def base_url(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def handle(self, request: Request) -> tuple[Response, bool]:
        path = request.url.path
        if path == "/__sandbox/stats" and request.method == "GET":
            return json_response(200, self.stats()), False
        if path == "/__sandbox/reset" and request.method == "POST":
            self.store.reset()
            self.rest.soql.cursors.clear()
            return json_response(200, {"reset": True, "records": dict(self.store.counts)}), False
        convert = re.match(r"^/__sandbox/leads/([0-9A-Za-z]{15,18})/convert$", path)
        if convert and request.method == "POST":
            # Sandbox-only stand-in for lead conversion (a SOAP/Apex operation in Salesforce).
            converted = self.writer.convert_lead(convert.group(1))
            return json_response(200 if converted else 404, {"converted": converted}), False
        if path == "/services/oauth2/token":
            return await self.token(request), False
        if path.rstrip("/") == "/services/data" and request.method == "GET":
            return json_response(200, versions()), False
        match = _DATA_PATH.match(path)
        if match:
            return await self.rest_request(request, match.group("version"), match.group("rest") or "")
        identity = re.match(r"^/id/(?P<org>\w{18})/(?P<user>\w{18})/?$", path)
        if identity and request.method in ("GET", "POST"):
            return self.identity(request, identity.group("user")), False
        return json_response(404, not_found().body), False

    # --- OAuth --------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        if request.method != "POST":
            return json_response(
                405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method not allowed"}]
            )
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            # Salesforce reads token requests only as form posts; JSON bodies look like no grant at all.
            return json_response(400, TokenError("unsupported_grant_type", "grant type not supported").body)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            body = self.sessions.grant(
                form, basic_credentials(request.headers.get("authorization")), self.base_url(request)
            )
        except TokenError as exc:
            return json_response(400, exc.body)
        return json_response(200, body)

    def identity(self, request: Request, user_id: str) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if not self.sessions.valid(token):
            return json_response(403, "Bad_OAuth_Token")
        found = self.store.get(user_id)
        if found is None or found[0] != "User":
            return json_response(404, "Bad_Id")
        user = found[2]
        base = self.base_url(request)
        return json_response(
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

    # --- REST ---------------------------------------------------------------------------------

    def _limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.settings.daily_api_limit}"}

    def _reply(self, reply: Reply) -> Response:
        return json_response(reply.status, reply.body, {**self._limit_header(), **reply.headers})

    async def rest_request(self, request: Request, version: str, rest: str) -> tuple[Response, bool]:
        version_match = re.fullmatch(r"(\d+)\.0", version)
        if not version_match:
            return self._reply(not_found()), False
        major = int(version_match.group(1))
        if 21 <= major < OLDEST_VERSION:
            # Retired in Summer '25: REST answers 410 GONE. UNVERIFIED body wording.
            return self._reply(
                api_error(410, "API_VERSION_RETIRED", f"API version {version} has been retired.")
            ), False
        if not OLDEST_VERSION <= major <= LATEST_VERSION:
            return self._reply(not_found()), False

        token = bearer_token(request.headers.get("authorization"))
        if not self.sessions.valid(token):
            return json_response(401, _SESSION_INVALID, self._limit_header()), False
        assert token is not None
        method = request.method
        routed = self.rest.match(method, rest)
        route_key = f"{method} {routed[0]}" if isinstance(routed, tuple) else f"{method} (unmatched)"
        self.api_calls += 1
        self.by_route[route_key] += 1
        if self.faults.expire_session_now():
            self.sessions.invalidate(token)
            return json_response(401, _SESSION_INVALID, self._limit_header()), False
        if self.api_used >= self.settings.daily_api_limit:
            return self._reply(
                api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            ), False
        self.api_used += 1
        faults = self.faults.for_request()
        if faults.status == 503:
            return self._reply(api_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")), False
        if faults.status == 502:
            # Salesforce Edge answers this one, not the org: an HTML page and no Sforce-Limit-Info.
            return Response(
                b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            ), False
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)

        if isinstance(routed, list):
            if routed:
                reply = api_error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(set(routed)))}",
                )
            else:
                reply = not_found()
        else:
            began = time.perf_counter()
            reply = await self._dispatch(request, version, routed)
            # Server-Timing: what the org itself spent (no injected latency), for benchmarks.
            reply.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        self.records_written += reply.written
        if reply.written and self.settings.per_record_latency_ms:
            await asyncio.sleep(self.settings.per_record_latency_ms * reply.written / 1000)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        return self._reply(reply), faults.drop_connection

    async def _dispatch(
        self, request: Request, version: str, routed: tuple[str, Any, dict[str, str]]
    ) -> Reply:
        _, handler, params = routed
        raw = await request.body()
        body: Any = None
        if raw.strip():
            content_type = request.headers.get("content-type", "application/json")
            if "json" not in content_type:
                return api_error(
                    415, "UNSUPPORTED_MEDIA_TYPE", f"Content type '{content_type}' not supported"
                )
            try:
                body = json.loads(raw)
            except ValueError as exc:
                return api_error(
                    400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc.msg}"
                )
        call = Call(
            method=request.method,
            version=version,
            params=params,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        return handler(call)

    # --- stats --------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "api_calls": self.api_calls,
            "api_calls_by_route": dict(sorted(self.by_route.items())),
            "records": dict(sorted(self.store.counts.items())),
            "records_written": self.records_written,
            "api_usage": {"used": self.api_used, "max": self.settings.daily_api_limit},
            "faults": self.faults.summary()["injected"],
            "max_in_flight": self.max_in_flight,
        }
