"""Routing: templates, parameters, allowed methods, and the route tables of urls.py."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from sfcrm_sandbox.responses.call import Reply
from sfcrm_sandbox.server.routing import Route, Router
from sfcrm_sandbox.urls import data_api_routes, service_routes


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


def test_route_tables_name_each_method_and_path_once():
    # Any object with handler attributes will do: the tables only bind them.
    areas = SimpleNamespace(
        **{
            name: SimpleNamespace(**{attr: _handler(attr) for attr in _ATTRS})
            for name in (
                "admin",
                "oauth",
                "discovery",
                "describe",
                "records",
                "collections",
                "query",
                "tooling",
            )
        }
    )
    for table in (service_routes(areas), data_api_routes(areas)):
        keys = Counter(route.key for route in table)
        assert not [key for key, count in keys.items() if count > 1]


_ATTRS = (
    "stats reset clock set_clock convert_lead token identity versions resources limits global_describe "
    "sobject_info describe create_record get_record update_record delete_record get_by_external_id "
    "upsert_record delete_by_external_id collection_create collection_update collection_delete "
    "collection_upsert collection_retrieve query query_all query_more tooling_query create_field get_field"
).split()
