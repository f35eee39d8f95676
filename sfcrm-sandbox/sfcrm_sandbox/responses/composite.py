"""The Composite API (``POST composite``) and sObject Tree (``POST composite/tree/{sobject}``).

Composite runs up to 25 subrequests in order as one API call; later ones may use values of earlier
responses through ``@{referenceId.path}`` (:mod:`~sfcrm_sandbox.models.references`). With
``allOrNone`` the first failing subrequest rolls every write back and every other subrequest answers
400 ``PROCESSING_HALTED``; without it each subrequest stands alone, except that one referring to a
failed one fails too. sObject Tree inserts up to 200 records of up to five types, nested up to five
levels through child relationships, all or nothing. ``docs/salesforce-facts.md``, "Composite".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sfcrm_sandbox.models.objects import CHILD_RELATIONSHIPS
from sfcrm_sandbox.models.references import REFERENCE_ID, UnresolvedReference, resolve
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.versions import is_supported, major_of
from sfcrm_sandbox.models.writes import ROLLED_BACK, Writer
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found, record_url

MAX_SUBREQUESTS = 25
MAX_TREE_RECORDS = 200
MAX_TREE_TYPES = 5
MAX_TREE_DEPTH = 5
_DATA_PREFIX = "/services/data/v"
# The resources a subrequest may call (Salesforce lists sObject, query and collections resources).
_COMPOSABLE = ("/sobjects", "/query", "/queryAll", "/composite/sobjects")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_COLLECTION_WRITES = (
    "POST /composite/sobjects",
    "PATCH /composite/sobjects",
    "DELETE /composite/sobjects",
    "PATCH /composite/sobjects/{sobject}/{field}",
)

Resolver = Callable[[str, str], Any]


class _RollBack(Exception):
    """Raised inside :meth:`OrgStore.all_or_nothing` to undo every write of the request."""


def _halted(reference_id: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference_id,
    }


def _failed(reply: Reply, route_key: str) -> bool:
    """A subrequest failed: an error status, or a collections write with a failed record."""
    if reply.status >= 400:
        return True
    return (
        route_key in _COLLECTION_WRITES
        and isinstance(reply.body, list)
        and any(isinstance(r, dict) and not r.get("success") for r in reply.body)
    )


class CompositeResponses:
    """``composite`` and ``composite/tree/{sobject}``.

    :param store: the org (its all-or-nothing transactions).
    :param writer: inserts the records of a tree.
    """

    def __init__(self, store: OrgStore, writer: Writer) -> None:
        self.store = store
        self.writer = writer
        self._route: Resolver | None = None

    def bind(self, route: Resolver) -> None:
        """Give the data API's router: ``route(method, path)`` → ``(Route, params)`` or allowed methods."""
        self._route = route

    # --- composite ------------------------------------------------------------------------------

    def composite(self, call: Call) -> Reply:
        body = call.body
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            # UNVERIFIED wording.
            return api_error(400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array")
        if len(subrequests) > MAX_SUBREQUESTS:
            # UNVERIFIED code and wording.
            return api_error(
                400,
                "LIMIT_EXCEEDED",
                f"Exceeded max limit of subrequests allowed per composite request: {MAX_SUBREQUESTS}",
            )
        problem = self._check_subrequests(subrequests)
        if problem:
            return problem
        all_or_none = bool(body.get("allOrNone", False))
        # collateSubrequests only lets Salesforce run independent subrequests in parallel; results
        # and their order are the same either way, so the sandbox accepts and ignores it.
        outcome: list[dict[str, Any]] = []
        written = 0
        try:
            with self.store.all_or_nothing():
                bodies: dict[str, Any] = {}
                for position, sub in enumerate(subrequests):
                    result, reply_written, failed = self._run(call, sub, bodies, all_or_none)
                    outcome.append(result)
                    written += reply_written
                    if not failed:
                        bodies[sub["referenceId"]] = result["body"]
                    elif all_or_none:
                        outcome = [
                            result if i == position else _halted(s["referenceId"])
                            for i, s in enumerate(subrequests)
                        ]
                        written = 0
                        raise _RollBack
        except _RollBack:
            pass
        return Reply(200, {"compositeResponse": outcome}, written)

    @staticmethod
    def _check_subrequests(subrequests: list[Any]) -> Reply | None:
        seen: set[str] = set()
        for sub in subrequests:
            if not isinstance(sub, dict) or not all(isinstance(sub.get(k), str) for k in ("method", "url")):
                # UNVERIFIED wording.
                return api_error(
                    400, "JSON_PARSER_ERROR", "Each subrequest needs a method, a url and a referenceId"
                )
            reference_id = sub.get("referenceId")
            if not isinstance(reference_id, str) or not REFERENCE_ID.fullmatch(reference_id):
                return api_error(
                    400,
                    "INVALID_INPUT",
                    f"Invalid referenceId {reference_id!r}: it must start with a letter or a digit and "
                    "contain only letters, digits and underscores",
                )
            if reference_id in seen:
                return api_error(400, "DUPLICATE_VALUE", f"Duplicate referenceId: {reference_id}")
            seen.add(reference_id)
        return None

    def _run(
        self, call: Call, sub: dict[str, Any], bodies: dict[str, Any], all_or_none: bool
    ) -> tuple[dict[str, Any], int, bool]:
        """One subrequest: its ``compositeResponse`` entry, records written, and whether it failed."""
        reference_id = sub["referenceId"]
        try:
            url = resolve(sub["url"], bodies)
            payload = resolve(sub.get("body"), bodies)
            headers = resolve(sub.get("httpHeaders") or {}, bodies)
        except UnresolvedReference as exc:
            reply = api_error(400, "PROCESSING_HALTED", f"{exc} Provided referenceId ('{exc.reference_id}')")
            return self._entry(reply, reference_id), 0, True
        reply, route_key = self._call(call, sub["method"].upper(), str(url), payload, headers, all_or_none)
        return self._entry(reply, reference_id), reply.written, _failed(reply, route_key)

    def _call(
        self,
        call: Call,
        method: str,
        url: str,
        payload: Any,
        headers: dict[str, Any],
        all_or_none: bool,
    ) -> tuple[Reply, str]:
        assert self._route is not None, "CompositeResponses.bind() was not called"
        parts = urlsplit(url)
        version, _, rest = parts.path[len(_DATA_PREFIX) :].partition("/")
        rest = "/" + rest.rstrip("/") if rest else ""
        major = major_of(version)
        if not parts.path.startswith(_DATA_PREFIX) or major is None or not is_supported(major):
            return not_found(), ""
        if not rest.startswith(_COMPOSABLE) or rest.startswith("/composite/tree"):
            # UNVERIFIED code and wording.
            return api_error(400, "INVALID_API_INPUT", f"The composite resource does not support {url}"), ""
        routed = self._route(method, rest)
        if isinstance(routed, list):
            return (
                api_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed")
                if routed
                else not_found()
            ), ""
        route, params = routed
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if all_or_none and route.key in _COLLECTION_WRITES:
            # The outer allOrNone overrides the one of an sObject Collections subrequest.
            if isinstance(payload, dict):
                payload = {**payload, "allOrNone": True}
            query["allOrNone"] = "true"
        sub_call = Call(
            method=method,
            params=params,
            query=query,
            headers={
                **{k.lower(): str(v) for k, v in headers.items()},
                "authorization": call.headers.get("authorization", ""),
            },
            raw=b"" if payload is None else json.dumps(payload).encode(),
            body=payload,
            version=version,
            base_url=call.base_url,
        )
        reply = route.handler(sub_call)
        if reply.status == 201 and route.key == "POST /sobjects/{sobject}" and isinstance(reply.body, dict):
            # A created record's subresponse says where it lives.
            sobject = self.store.object_spec(params["sobject"])
            if sobject is not None:
                reply.headers["Location"] = record_url(version, sobject.name, reply.body.get("id"))
        return reply, route.key

    @staticmethod
    def _entry(reply: Reply, reference_id: str) -> dict[str, Any]:
        return {
            "body": reply.body,
            "httpHeaders": {k: v for k, v in reply.headers.items() if k != "Server-Timing"},
            "httpStatusCode": reply.status,
            "referenceId": reference_id,
        }

    # --- sObject Tree ---------------------------------------------------------------------------

    def tree(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        body = call.body
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            # UNVERIFIED wording.
            return api_error(400, "JSON_PARSER_ERROR", "The request body must hold a non-empty records array")
        nodes: list[_Node] = []
        try:
            for record in records:
                _collect(record, spec.name, None, None, 1, nodes)
            _check_tree(nodes)
        except _TreeProblem as problem:
            return Reply(400, {"hasErrors": True, "results": [problem.result]})
        failures: list[dict[str, Any]] = []
        try:
            with self.store.all_or_nothing():
                for depth in range(1, MAX_TREE_DEPTH + 1):
                    level = [n for n in nodes if n.depth == depth]
                    if level:
                        failures += self._insert(call, level)
                if failures:
                    raise _RollBack
        except _RollBack:
            return Reply(400, {"hasErrors": True, "results": failures})
        return Reply(
            201,
            {"hasErrors": False, "results": [{"referenceId": n.reference_id, "id": n.id} for n in nodes]},
            len(nodes),
        )

    def _insert(self, call: Call, level: list[_Node]) -> list[dict[str, Any]]:
        records = []
        for node in level:
            record = {"attributes": {"type": node.sobject}, **node.fields}
            if node.parent is not None and node.lookup:
                record[node.lookup] = node.parent.id
            records.append(record)
        results, _ = self.writer.save(records, mode="insert", all_or_none=True, auto_assign=call.auto_assign)
        failures = []
        for node, result in zip(level, results, strict=True):
            if result["success"]:
                node.id = result["id"]
            elif result["errors"] != [ROLLED_BACK]:
                failures.append({"referenceId": node.reference_id, "errors": result["errors"]})
        return failures


@dataclass(eq=False)
class _Node:
    sobject: str
    reference_id: str
    fields: dict[str, Any]
    parent: _Node | None
    lookup: str | None
    depth: int
    id: str | None = field(default=None)


class _TreeProblem(Exception):
    def __init__(self, reference_id: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.result = {
            "referenceId": reference_id,
            "errors": [{"statusCode": code, "message": message, "fields": []}],
        }


def _collect(
    record: Any, sobject: str, parent: _Node | None, lookup: str | None, depth: int, nodes: list[_Node]
) -> None:
    """Flatten one tree record (and its children, depth first) into ``nodes``."""
    if not isinstance(record, dict):
        raise _TreeProblem(None, "INVALID_INPUT", "Each record must be a JSON object")
    attributes = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    reference_id = attributes.get("referenceId")
    if not isinstance(reference_id, str) or not reference_id:
        # UNVERIFIED wording.
        raise _TreeProblem(None, "INVALID_INPUT", "Include a reference ID for each record in the request.")
    written_type = attributes.get("type")
    if not isinstance(written_type, str) or written_type.lower() != sobject.lower():
        raise _TreeProblem(
            reference_id, "INVALID_INPUT", f"The record's type must be {sobject}, not {written_type}"
        )
    if depth > MAX_TREE_DEPTH:
        raise _TreeProblem(
            reference_id, "INVALID_INPUT", f"Records can be nested at most {MAX_TREE_DEPTH} levels deep"
        )
    fields: dict[str, Any] = {}
    children: list[tuple[str, str, list[Any]]] = []
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict) and "records" in value:
            relation = next(
                (
                    r
                    for (owner, name), r in CHILD_RELATIONSHIPS.items()
                    if owner == sobject and name.lower() == key.lower()
                ),
                None,
            )
            if relation is None or not isinstance(value["records"], list):
                raise _TreeProblem(
                    reference_id, "INVALID_FIELD", f"No such relation '{key}' on sobject of type {sobject}"
                )
            children.append((relation[0], relation[1], value["records"]))
        else:
            fields[key] = value
    node = _Node(sobject, reference_id, fields, parent, lookup, depth)
    nodes.append(node)
    for child_type, child_lookup, child_records in children:
        for child in child_records:
            _collect(child, child_type, node, child_lookup, depth + 1, nodes)


def _check_tree(nodes: list[_Node]) -> None:
    if len(nodes) > MAX_TREE_RECORDS:
        raise _TreeProblem(
            None, "LIMIT_EXCEEDED", f"A request can hold at most {MAX_TREE_RECORDS} records, not {len(nodes)}"
        )
    if len({n.sobject for n in nodes}) > MAX_TREE_TYPES:
        raise _TreeProblem(
            None, "LIMIT_EXCEEDED", f"A request can hold at most {MAX_TREE_TYPES} object types"
        )
    seen: set[str] = set()
    for node in nodes:
        if node.reference_id.lower() in seen:
            # UNVERIFIED wording.
            raise _TreeProblem(
                node.reference_id,
                "INVALID_INPUT",
                f"Duplicate ReferenceId provided in the request: {node.reference_id}",
            )
        seen.add(node.reference_id.lower())
