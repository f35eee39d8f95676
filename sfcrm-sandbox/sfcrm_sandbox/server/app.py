"""The sandbox's ASGI application: builds one org's models and handlers, routes requests to them.

Service routes (:func:`sfcrm_sandbox.urls.service_routes`) are answered as they are. A request to
an API behind the org's sessions — the REST API (``/services/data/vXX.X/...``, Bulk API 2.0
included) or Bulk API 1.0 (``/services/async/XX.X/...``) — goes through the pipeline Salesforce
puts in front of its data: version check (REST: 410 for retired versions; Bulk 1.0: 400
``InvalidVersion``) → session (REST: bearer token, else 401 ``INVALID_SESSION_ID`` array; Bulk
1.0: ``X-SFDC-Session``, else 400 ``InvalidSessionId``) → counted in the stats → fault
``expire_session_every`` → daily API limit (REST: 403 ``REQUEST_LIMIT_EXCEEDED``), the request
counted against it → faults 503/502 → ``--latency-ms`` → the handler →
``--per-record-latency-ms`` × records written → slow-response fault → response, or a dropped
connection. Every response carries ``Sforce-Limit-Info``. Latencies are ``asyncio.sleep``:
concurrent requests overlap, the sandbox never serialises them. Each API's error shapes are its
:class:`SurfaceErrors`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sfcrm_sandbox.models.bulk_engine import BulkSettings
from sfcrm_sandbox.models.bulk_jobs import BulkOrg
from sfcrm_sandbox.models.faults import Faults, FaultSettings
from sfcrm_sandbox.models.hosts import DEFAULT_MY_DOMAIN
from sfcrm_sandbox.models.sessions import Credentials, Sessions
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.versions import is_retired, is_supported, major_of
from sfcrm_sandbox.models.writes import Writer
from sfcrm_sandbox.responses.bulk1 import AsyncErrors
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found
from sfcrm_sandbox.server.connections import abort_connection
from sfcrm_sandbox.server.routing import Route, Router
from sfcrm_sandbox.urls import (
    ASYNC_API_PREFIX,
    DATA_API_PREFIX,
    Responses,
    async_api_routes,
    data_api_routes,
    prefix_routes,
    service_routes,
)

if TYPE_CHECKING:
    from cryptography import x509

_SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_JSON = "application/json;charset=UTF-8"
# Salesforce Edge answers this one, not the org: an HTML page and no Sforce-Limit-Info.
_BAD_GATEWAY = Reply(
    502, content=b"<html><body><h1>502 Bad Gateway</h1></body></html>", media_type="text/html"
)


@dataclass(frozen=True)
class SandboxSettings:
    """Behaviour knobs from the command line (``sfcrm-sandbox serve --help``).

    :param credentials: what the token endpoint accepts.
    :param latency_ms: added to every REST request.
    :param per_record_latency_ms: added per record written.
    :param daily_api_limit: REST requests allowed before 403 REQUEST_LIMIT_EXCEEDED.
    :param session_ttl_s: access token lifetime.
    :param faults: injected faults.
    :param my_domain: the org's My Domain name; logins at ``login``/``test.salesforce.com`` (through
        the proxy) answer with ``https://<my_domain>.my.salesforce.com`` as the instance.
    :param bulk: the Bulk APIs' processing model and limits.
    :param jwt_certificate: the connected app's certificate for the JWT bearer grant (``--jwt-cert``).
    """

    credentials: Credentials
    latency_ms: float = 0
    per_record_latency_ms: float = 0
    daily_api_limit: int = 1_000_000
    session_ttl_s: float = 7200
    faults: FaultSettings = FaultSettings()
    my_domain: str = DEFAULT_MY_DOMAIN
    bulk: BulkSettings = field(default_factory=BulkSettings)
    jwt_certificate: x509.Certificate | None = None


def to_response(reply: Reply, headers: dict[str, str] | None = None) -> Response:
    """The HTTP response of a handler's reply."""
    all_headers = {**(headers or {}), **reply.headers}
    if reply.content is not None:
        return Response(reply.content, reply.status, media_type=reply.media_type, headers=all_headers)
    content = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
    media_type = None if reply.body is None else _JSON
    return Response(content, status_code=reply.status, media_type=media_type, headers=all_headers)


def method_not_allowed(method: str, allowed: list[str]) -> Reply:
    return api_error(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}",
    )


class SurfaceErrors(Protocol):
    """The whole-request errors of one API, in its shapes."""

    def retired(self, version: str) -> Reply: ...
    def unknown_version(self, version: str) -> Reply: ...
    def session_invalid(self) -> Reply: ...
    def limit_exceeded(self) -> Reply: ...
    def not_found(self) -> Reply: ...
    def method_not_allowed(self, method: str, allowed: list[str]) -> Reply: ...


class RestErrors:
    """The REST API's (and Bulk API 2.0's): JSON arrays of ``{"message", "errorCode"}``."""

    def retired(self, version: str) -> Reply:
        # Retired in Summer '25: REST answers 410 GONE. UNVERIFIED body wording.
        return api_error(410, "API_VERSION_RETIRED", f"API version {version} has been retired.")

    def unknown_version(self, version: str) -> Reply:
        return not_found()

    def session_invalid(self) -> Reply:
        return Reply(401, _SESSION_INVALID)

    def limit_exceeded(self) -> Reply:
        return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def not_found(self) -> Reply:
        return not_found()

    def method_not_allowed(self, method: str, allowed: list[str]) -> Reply:
        return method_not_allowed(method, allowed)


@dataclass(frozen=True)
class Surface:
    """An API the org serves behind its sessions and its daily API limit.

    :param prefix: the path before the version (``/services/data/v``).
    :param router: its routes, relative to ``prefix`` + version.
    :param token: the session id a request carries.
    :param errors: its error shapes.
    :param stats_prefix: put before route templates in ``api_calls_by_route``.
    :param json_bodies: the pipeline parses JSON bodies for routes that are not ``raw_body``.
    """

    prefix: str
    router: Router
    token: Callable[[Call], str | None]
    errors: SurfaceErrors
    stats_prefix: str = ""
    json_bodies: bool = True


class SandboxApp:
    """ASGI app of one org.

    :param store: the org's data.
    :param settings: behaviour knobs.
    """

    def __init__(self, store: OrgStore, settings: SandboxSettings) -> None:
        assert store.org_id and store.user_id
        self.store = store
        self.settings = settings
        self.faults = Faults(settings.faults)
        self.usage = ApiUsage(settings.daily_api_limit)
        self.sessions = Sessions(
            settings.credentials,
            store.org_id,
            store.user_id,
            settings.session_ttl_s,
            jwt_certificate=settings.jwt_certificate,
        )
        writer = Writer(store, self.faults.record_lock)
        self.bulk = BulkOrg(store, writer, self.usage, settings.bulk)
        self.responses = Responses.of_org(
            store, writer, self.sessions, self.usage, self.faults, self.bulk, settings.my_domain
        )
        self.service = Router(service_routes(self.responses))
        self.prefixes = prefix_routes(self.responses)
        data_api = Router(data_api_routes(self.responses))
        # Composite subrequests are dispatched through the same REST routes.
        self.responses.composite.bind(data_api.match)
        self.surfaces = (
            Surface(
                DATA_API_PREFIX,
                data_api,
                lambda c: c.bearer_token,
                RestErrors(),
            ),
            Surface(
                ASYNC_API_PREFIX,
                Router(async_api_routes(self.responses)),
                lambda c: c.headers.get("x-sfdc-session") or None,
                AsyncErrors(),
                stats_prefix="/async",
                json_bodies=False,
            ),
        )

    # --- ASGI entry ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.usage.started()
        try:
            response, drop = await self.handle(request)
        finally:
            self.usage.finished()
        if drop and abort_connection(scope.get("client")):
            # The request was processed; the client now loses the connection before any response
            # bytes. Yield so uvicorn notices the disconnect and sends nothing itself.
            for _ in range(5):
                await asyncio.sleep(0)
            return
        await response(scope, receive, send)

    async def handle(self, request: Request) -> tuple[Response, bool]:
        """The response to ``request``, and whether to drop the connection instead of sending it."""
        path, method = request.url.path, request.method
        routed = self.service.match(method, path)
        if isinstance(routed, tuple):
            route, params = routed
            return to_response(route.handler(await self._call(request, params))), False
        if routed:
            return to_response(method_not_allowed(method, routed)), False
        for prefix, handler in self.prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return to_response(handler(await self._call(request, {"path": path[len(prefix) :]}))), False
        for surface in self.surfaces:
            if path.startswith(surface.prefix):
                version, _, rest = path[len(surface.prefix) :].partition("/")
                return await self.api_request(surface, request, version, "/" + rest if rest else "")
        return to_response(not_found()), False

    async def _call(self, request: Request, params: dict[str, str], version: str = "") -> Call:
        return Call(
            method=request.method,
            params=params,
            query=dict(request.query_params),
            query_lists={key: request.query_params.getlist(key) for key in request.query_params},
            headers={k.lower(): v for k, v in request.headers.items()},
            raw=await request.body(),
            version=version,
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )

    # --- the API pipeline ---------------------------------------------------------------------

    def _reply(self, reply: Reply) -> Response:
        return to_response(reply, {"Sforce-Limit-Info": self.usage.limit_info()})

    async def api_request(
        self, surface: Surface, request: Request, version: str, rest: str
    ) -> tuple[Response, bool]:
        errors = surface.errors
        major = major_of(version)
        if major is not None and is_retired(major):
            return self._reply(errors.retired(version)), False
        if major is None or not is_supported(major):
            return self._reply(errors.unknown_version(version)), False

        call = await self._call(request, {}, version)
        token = surface.token(call)
        if not self.sessions.valid(token):
            return self._reply(errors.session_invalid()), False
        assert token is not None
        routed = surface.router.match(call.method, rest)
        where = (
            surface.stats_prefix + routed[0].template
            if isinstance(routed, tuple)
            else " ".join(filter(None, (surface.stats_prefix, "(unmatched)")))
        )
        self.usage.count_call(f"{call.method} {where}")
        if self.faults.expire_session_now():
            self.sessions.invalidate(token)
            return self._reply(errors.session_invalid()), False
        if self.usage.exhausted:
            return self._reply(errors.limit_exceeded()), False
        self.usage.used += 1
        faults = self.faults.for_request()
        if faults.status == 503:
            return self._reply(api_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")), False
        if faults.status == 502:
            return to_response(_BAD_GATEWAY), False
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)

        if isinstance(routed, list):
            reply = errors.method_not_allowed(call.method, routed) if routed else errors.not_found()
        else:
            route, call.params = routed
            began = time.perf_counter()
            reply = self._dispatch(route, call, surface.json_bodies and not route.raw_body)
            # Server-Timing: what the org itself spent (no injected latency), for benchmarks.
            reply.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        self.usage.records_written += reply.written
        if reply.written and self.settings.per_record_latency_ms:
            await asyncio.sleep(self.settings.per_record_latency_ms * reply.written / 1000)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        return self._reply(reply), faults.drop_connection

    @staticmethod
    def _dispatch(route: Route, call: Call, parse_json: bool) -> Reply:
        """Parse the JSON body a REST request carries (when the route wants it), then run its handler."""
        if parse_json and call.raw.strip():
            content_type = call.headers.get("content-type", "application/json")
            if "json" not in content_type:
                return api_error(
                    415, "UNSUPPORTED_MEDIA_TYPE", f"Content type '{content_type}' not supported"
                )
            try:
                call.body = json.loads(call.raw)
            except ValueError as exc:
                return api_error(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Unexpected character in the request body: {getattr(exc, 'msg', exc)}",
                )
        return route.handler(call)
