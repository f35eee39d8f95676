"""Routing: templates, parameters, allowed methods, and the route tables of urls.py."""

from __future__ import annotations

import dataclasses
from collections import Counter
from types import SimpleNamespace

from sfcrm_sandbox.responses.call import Reply
from sfcrm_sandbox.server.routing import Route, Router
from sfcrm_sandbox.urls import Responses, async_api_routes, data_api_routes, service_routes


def _handler(name: str):
    def handle(call):
        return Reply(200, name)

    return handle


def test_templates_match_one_segment_per_placeholder_and_an_optional_slash():
    get_one = Route("GET", "/sobjects/{sobject}/{id}", _handler("get"))
    router = Router([get_one, Route("PATCH", "/sobjects/{sobject}/{id}", _handler("patch"))])
    assert router.match("GET", "/sobjects/Contact/003x/") == (get_one, {"sobject": "Contact", "id": "003x"})
    assert router.match("DELETE", "/sobjects/Contact/003x") == ["GET", "PATCH"]  # → 405
    assert router.match("GET", "/sobjects/Contact/003x/extra") == []  # → 404
    assert get_one.key == "GET /sobjects/{sobject}/{id}"


class _AnyHandlers:
    """An API area whose every attribute is a handler: the tables only bind them."""

    def __getattr__(self, name: str):
        return _handler(name)


def test_route_tables_name_each_method_and_path_once():
    areas = SimpleNamespace(**{area.name: _AnyHandlers() for area in dataclasses.fields(Responses)})
    for table in (service_routes(areas), data_api_routes(areas), async_api_routes(areas)):
        keys = Counter(route.key for route in table)
        assert not [key for key, count in keys.items() if count > 1]
