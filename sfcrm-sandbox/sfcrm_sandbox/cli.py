"""Command line of ``sfcrm-sandbox``.

``sfcrm-sandbox serve [--host H] [--port P|0] [--data-dir D] ...`` writes ``D/ca.pem``, keeps the
org in ``D/org.sqlite3``, prints ``sfcrm-sandbox ready https://127.0.0.1:<port> ca=<D>/ca.pem``
once the socket is listening, and serves until SIGTERM / SIGINT. With ``--proxy-port`` it also
serves its HTTPS proxy for Salesforce's hosts and prints ``sfcrm-sandbox proxy http://<host>:<port>``
just before the ready line.

``sfcrm-sandbox connection --data-dir D --for salesforce|simple-salesforce|sfcrm`` prints how to
point that client at the sandbox serving from ``D`` (:mod:`sfcrm_sandbox.recipes`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from sfcrm_sandbox.models.bulk_engine import BulkSettings
from sfcrm_sandbox.models.bulk_limits import BulkLimits
from sfcrm_sandbox.models.clock import Clock, ClockError, parse_moment
from sfcrm_sandbox.models.duplicates import RULES, DuplicateRules, UnknownRule
from sfcrm_sandbox.models.events import EventDefinitionError, parse_event_definition
from sfcrm_sandbox.models.faults import FaultSettings
from sfcrm_sandbox.models.hosts import DEFAULT_MY_DOMAIN, SALESFORCE_NAMES, is_salesforce_host
from sfcrm_sandbox.models.jwt_bearer import load_certificate
from sfcrm_sandbox.models.sessions import Credentials
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.process import DEFAULT_CREDENTIALS, PROXY_PREFIX, READY_PREFIX
from sfcrm_sandbox.recipes import AUTH_FLOWS, CLIENTS, STATE_FILE, RecipeError, SandboxState, recipe
from sfcrm_sandbox.server.app import SandboxApp, SandboxSettings
from sfcrm_sandbox.server.connections import http_protocol_class
from sfcrm_sandbox.server.proxy import start_proxy
from sfcrm_sandbox.server.tls import ensure_certificates


def _non_negative(kind: type) -> object:
    def parse(text: str) -> object:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


_BULK_OPTIONS = (
    (
        "--bulk-records-per-s",
        float,
        BulkSettings.records_per_s,
        "records per second the org writes over all Bulk jobs; 0 = as fast as possible",
    ),
    ("--bulk-job-latency-ms", float, BulkSettings.job_latency_ms, "queueing delay before Bulk work starts"),
    (
        "--bulk-upload-limit-mb",
        float,
        BulkSettings.upload_limit_mb,
        "largest Bulk API 2.0 upload, in MB after base64 encoding",
    ),
    ("--bulk-daily-batches", int, BulkLimits.daily_batches, "Bulk batches per rolling 24 h (both APIs)"),
    ("--bulk-daily-records", int, BulkLimits.daily_records, "records ingested by Bulk jobs per rolling 24 h"),
)


def _moment(text: str) -> object:
    try:
        return parse_moment(text)
    except ClockError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfcrm-sandbox", description="A local HTTPS Salesforce org for tests."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the org over HTTPS until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_non_negative(int), default=8443, help="0 picks a free port")
    serve.add_argument("--data-dir", type=Path, default=Path(".sfcrm-sandbox"), help="CA and org database")
    for name, value in DEFAULT_CREDENTIALS.items():
        serve.add_argument(f"--{name.replace('_', '-')}", default=value)
    serve.add_argument(
        "--latency-ms", type=_non_negative(float), default=0.0, help="added to every REST request"
    )
    serve.add_argument(
        "--per-record-latency-ms", type=_non_negative(float), default=0.0, help="added per record written"
    )
    serve.add_argument(
        "--daily-api-limit",
        type=_non_negative(int),
        default=1_000_000,
        help="REST requests before 403 REQUEST_LIMIT_EXCEEDED",
    )
    serve.add_argument(
        "--session-ttl-s", type=_non_negative(float), default=7200.0, help="access token lifetime"
    )
    serve.add_argument(
        "--faults", type=Path, default=None, help="faults JSON file (README: Faults and latency)"
    )
    bulk = serve.add_argument_group("Bulk APIs (README: Bulk processing model)")
    for flag, kind, default, text in _BULK_OPTIONS:
        bulk.add_argument(flag, type=_non_negative(kind), default=default, help=text)
    serve.add_argument(
        "--jwt-cert",
        type=Path,
        default=None,
        help="PEM certificate of the connected app: accept JWT bearer assertions its key signs",
    )
    serve.add_argument(
        "--clock",
        type=_moment,
        default=None,
        help="start the org's clock at this ISO 8601 instant (e.g. 2024-01-31T10:00:00Z); it runs from there",
    )
    serve.add_argument(
        "--frozen-clock",
        action="store_true",
        help="the org's clock stands still (POST /__sandbox/clock moves it)",
    )
    serve.add_argument(
        "--cert-hostname",
        action="append",
        default=[],
        help="extra host name or IP the server certificate names (repeatable; e.g. a compose service name)",
    )
    serve.add_argument(
        "--proxy-port",
        type=_non_negative(int),
        default=None,
        help="also serve an HTTPS proxy (CONNECT) for Salesforce's hosts on this port (0: a free one); "
        "the certificate then also names *.salesforce.com and the like",
    )
    serve.add_argument(
        "--my-domain",
        default=DEFAULT_MY_DOMAIN,
        help="the org's My Domain name: logins at login/test.salesforce.com land on "
        "https://<name>.my.salesforce.com",
    )
    org = serve.add_argument_group("the org's platform events and duplicate rules (README)")
    org.add_argument(
        "--platform-event",
        action="append",
        default=[],
        metavar="NAME__e:FIELD__c[=Type(args)][!],...",
        help="define a platform event (repeatable): fields are Text(255) unless typed "
        "(Text(n), Number(p,s), Checkbox, Date, DateTime, LongTextArea(n)); ! makes one required",
    )
    org.add_argument(
        "--duplicate-rule",
        action="append",
        default=[],
        metavar="OBJECT:Email",
        help=f"switch on the duplicate rule on {' and '.join(RULES)} e-mail (repeatable); off by default",
    )
    org.add_argument("--duplicate-rules", action="store_true", help="switch on every duplicate rule")

    connection = commands.add_parser(
        "connection", help="print how to point a client at the sandbox serving from --data-dir"
    )
    connection.add_argument("--data-dir", type=Path, default=Path(".sfcrm-sandbox"))
    connection.add_argument("--for", dest="client", choices=CLIENTS, required=True)
    connection.add_argument(
        "--auth",
        choices=AUTH_FLOWS,
        default="token",
        help="login flow of salesforce / simple-salesforce: SOAP with the security token (default), "
        "OAuth username-password, OAuth client credentials",
    )
    connection.add_argument("--conn-id", default=None, help="Airflow connection id (default: <type>_default)")
    connection.add_argument(
        "--format",
        choices=("env", "json"),
        default="env",
        help="env: shell export lines (Python for simple-salesforce); json: the connection alone",
    )
    return parser


async def _serve(args: argparse.Namespace, faults: FaultSettings, jwt_certificate: Any) -> None:
    import uvicorn

    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    proxied = args.proxy_port is not None
    names = [*args.cert_hostname, *(SALESFORCE_NAMES if proxied else ())]
    tls = ensure_certificates(data_dir, names)
    clock = Clock(args.clock, frozen=args.frozen_clock)
    store = OrgStore(data_dir / "org.sqlite3", args.username, clock)
    try:
        store.define_events([parse_event_definition(text) for text in args.platform_event])
        store.duplicate_rules = DuplicateRules(list(RULES) if args.duplicate_rules else args.duplicate_rule)
    except (EventDefinitionError, UnknownRule) as exc:
        store.close()
        raise SystemExit(f"sfcrm-sandbox: {exc}") from None
    credentials = Credentials(
        args.username, args.password, args.security_token, args.client_id, args.client_secret
    )
    settings = SandboxSettings(
        credentials=credentials,
        latency_ms=args.latency_ms,
        per_record_latency_ms=args.per_record_latency_ms,
        daily_api_limit=args.daily_api_limit,
        session_ttl_s=args.session_ttl_s,
        faults=faults,
        my_domain=args.my_domain,
        bulk=BulkSettings(
            records_per_s=args.bulk_records_per_s,
            job_latency_ms=args.bulk_job_latency_ms,
            upload_limit_mb=args.bulk_upload_limit_mb,
            limits=BulkLimits(daily_batches=args.bulk_daily_batches, daily_records=args.bulk_daily_records),
        ),
        jwt_certificate=jwt_certificate,
    )
    app = SandboxApp(store, settings)

    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say so, and without it
    # Nagle + delayed ACKs add ~40 ms to every keep-alive request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=http_protocol_class(),
        lifespan="off",
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        # Access logs would print SOQL (personal data) from query strings: off.
        access_log=False,
        log_level="warning",
        timeout_keep_alive=30,
        # Idle keep-alive TLS connections would otherwise hold shutdown for the whole grace period.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()
            raise SystemExit("sfcrm-sandbox: server stopped during startup")
        await asyncio.sleep(0.01)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    proxy = proxy_url = None
    if proxied:
        proxy = await start_proxy(args.host, args.proxy_port, (host, port), is_salesforce_host)
        proxy_url = f"http://{host}:{proxy.sockets[0].getsockname()[1]}"
        print(f"{PROXY_PREFIX}{proxy_url}", flush=True)
    state = SandboxState(
        base_url=f"https://{host}:{port}",
        ca_path=str(tls.ca_cert),
        proxy_url=proxy_url,
        my_domain=args.my_domain,
        credentials={name: getattr(args, name) for name in DEFAULT_CREDENTIALS},
        pid=os.getpid(),
    )
    state_path = state.write(data_dir)
    print(f"{READY_PREFIX}{state.base_url} ca={tls.ca_cert}", flush=True)
    try:
        await serving
    finally:
        if proxy is not None:
            proxy.close()
        with contextlib.suppress(OSError):
            state_path.unlink()
        store.close()


def _connection(args: argparse.Namespace) -> None:
    data_dir: Path = args.data_dir.resolve()
    try:
        state = SandboxState.read(data_dir)
    except (OSError, ValueError, TypeError):
        raise SystemExit(
            f"sfcrm-sandbox: no sandbox serves from {data_dir} ({STATE_FILE} missing or unreadable); "
            f"start one with: sfcrm-sandbox serve --data-dir {data_dir} --proxy-port 0"
        ) from None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        raise SystemExit(f"sfcrm-sandbox: the sandbox that served from {data_dir} has stopped") from None
    except PermissionError:
        pass  # alive, another user's
    try:
        text = recipe(state, args.client, auth=args.auth, conn_id=args.conn_id, output=args.format)
    except RecipeError as exc:
        raise SystemExit(f"sfcrm-sandbox: {exc}") from None
    sys.stdout.write(text)


def main(argv: list[str] | None = None) -> None:
    """Console script ``sfcrm-sandbox``."""
    args = build_parser().parse_args(argv)
    if args.command == "connection":
        _connection(args)
        return
    try:
        faults = FaultSettings.from_file(args.faults)
    except (OSError, ValueError, TypeError) as exc:
        raise SystemExit(f"sfcrm-sandbox: bad --faults file: {exc}") from None
    try:
        jwt_certificate = load_certificate(args.jwt_cert) if args.jwt_cert else None
    except (OSError, ValueError) as exc:
        raise SystemExit(f"sfcrm-sandbox: bad --jwt-cert file: {exc}") from None
    # uvicorn re-raises the signal that stopped it once shut down; these no-op handlers turn that
    # into a clean exit (status 0) instead of a KeyboardInterrupt traceback or a -15 status.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(_serve(args, faults, jwt_certificate))
    except OSError as exc:
        print(f"sfcrm-sandbox: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
