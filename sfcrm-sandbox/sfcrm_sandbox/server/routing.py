"""Matching a method and path against route templates (``/sobjects/{sobject}/{id}``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sfcrm_sandbox.responses.call import Call, Reply

Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    """One method on one path template; ``{name}`` matches one path segment, passed as ``params[name]``.

    ``raw_body``: the handler reads the request body itself (CSV, multipart) instead of the JSON
    the REST pipeline parses for it.
    """

    method: str
    template: str
    handler: Handler
    raw_body: bool = False

    @property
    def key(self) -> str:
        """How the stats name the route: ``"PATCH /composite/sobjects"``."""
        return f"{self.method} {self.template}"


class Router:
    """Finds the route of a request; a trailing slash is optional, as in Salesforce's URLs."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes: list[tuple[re.Pattern[str], Route]] = []
        for route in routes:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.template))
            self._routes.append((re.compile(f"^{pattern}/?$"), route))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | list[str]:
        """The route and its parameters, or the methods the path allows (empty: no such path)."""
        allowed: list[str] = []
        for pattern, route in self._routes:
            found = pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict()
                allowed.append(route.method)
        return allowed
