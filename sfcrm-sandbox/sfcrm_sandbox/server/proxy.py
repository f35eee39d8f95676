"""An HTTPS forward proxy that stands the sandbox in for Salesforce's hosts (``--proxy-port``).

Clients that build ``https://login.salesforce.com/...`` (or a My Domain) themselves — simple-salesforce
for every login flow, and so Airflow's Salesforce hook and operators — reach the sandbox unmodified
when their HTTPS goes through this proxy (``HTTPS_PROXY``, or the ``proxies`` of a
``requests`` session). The proxy only answers ``CONNECT`` to hosts the sandbox's certificate names
(:data:`~sfcrm_sandbox.models.hosts.SALESFORCE_NAMES`) on port 443, and tunnels them to the
sandbox's own TLS listener; TLS runs end to end between the client and the sandbox, which the
client trusts through ``ca.pem`` (``REQUESTS_CA_BUNDLE``). Anything else is refused: it is not an
open proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

_MAX_HEAD = 16 * 1024
_HEAD_TIMEOUT_S = 30


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


def _refusal(status: str, reason: str) -> bytes:
    body = f"sfcrm-sandbox proxy: {reason}\n".encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class TunnelProxy:
    """Answers ``CONNECT host:443`` for the hosts ``allowed`` accepts by tunnelling to ``target``.

    :param target: ``(host, port)`` of the sandbox's TLS listener.
    :param allowed: whether a host name may be tunnelled.
    """

    def __init__(self, target: tuple[str, int], allowed: Callable[[str], bool]) -> None:
        self.target = target
        self.allowed = allowed

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            reply = await self._serve(reader, writer)
            if reply:
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes | None:
        """Tunnel one CONNECT; returns the refusal to send instead, if any."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        authority = rest.split(" ", 1)[0]
        if method.upper() != "CONNECT":
            return _refusal("405 Method Not Allowed", "only CONNECT (HTTPS) is proxied")
        host, _, port = authority.rpartition(":")
        if port != "443" or not self.allowed(host):
            return _refusal("403 Forbidden", f"only Salesforce hosts on port 443 are tunnelled: {authority}")
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            upstream_writer.close()
        return None


async def start_proxy(
    host: str, port: int, target: tuple[str, int], allowed: Callable[[str], bool]
) -> asyncio.Server:
    """Listen on ``host:port`` (0 picks a free port) until the returned server is closed."""
    proxy = TunnelProxy(target, allowed)
    return await asyncio.start_server(proxy.handle, host, port, limit=_MAX_HEAD)
