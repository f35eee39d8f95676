"""Cutting a connection after the request was processed (the ``drop_connection_rate`` fault).

ASGI gives an application no handle on its socket, and whatever an app does through ASGI ends in
an HTTP response (uvicorn answers 500 when the app raises before responding). To make the client
see a *connection* failure instead, the sandbox runs uvicorn with an HTTP protocol class that
records each connection's transport under the peer address (the ASGI ``scope["client"]``); the
app aborts that transport instead of responding. The client then reads EOF / a reset where the
status line should be (``requests`` raises ``ConnectionError``), while the write is committed.
"""

from __future__ import annotations

import asyncio
from typing import Any

_TRANSPORTS: dict[tuple[str, int], asyncio.BaseTransport] = {}


def tracking_protocol(base: type) -> type:
    """A subclass of uvicorn's HTTP protocol ``base`` that registers its transport by peer address."""

    class TrackingProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if self.client:
                _TRANSPORTS[tuple(self.client)] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                _TRANSPORTS.pop(tuple(self.client), None)
            super().connection_lost(exc)

    TrackingProtocol.__name__ = f"Tracking{base.__name__}"
    return TrackingProtocol


def http_protocol_class() -> type:
    """uvicorn's preferred HTTP implementation (httptools when installed, else h11), tracking transports."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return tracking_protocol(HttpToolsProtocol)
    except ImportError:  # httptools is optional for uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return tracking_protocol(H11Protocol)


def abort_connection(client: Any) -> bool:
    """Abort the connection of the peer ``client`` (``scope["client"]``); False when unknown."""
    transport = _TRANSPORTS.get(tuple(client)) if client else None
    if transport is None:
        return False
    transport.abort()
    return True
