"""Platform events: their definitions (``--platform-event``) and the messages published to them.

A platform event is an object whose records are published, not stored (``docs/salesforce-facts.md``,
"Platform events"): it is created like a record (REST ``sobjects/<Event>__e``, sObject Collections,
Composite, Bulk), with the same field rules, and answered ``success: true`` with an
``OPERATION_ENQUEUED`` status carrying the message's UUID; it cannot be read back, queried, updated
or deleted through the API. Subscribers tell messages apart by ``ReplayId``, which grows in publish
order. The sandbox keeps what was published in memory, per event, in order, for
``GET /__sandbox/events/<name>``: messages do not survive a restart, and ``/__sandbox/reset``
forgets them (replay ids keep growing).

A definition on the command line: ``Notification__e:Message__c,Severity__c`` — fields are Text(255)
unless typed: ``Count__c=Number(18,0)``, ``Sent__c=DateTime``, ``Body__c=LongTextArea(32768)``,
``Urgent__c=Checkbox``; a trailing ``!`` makes a field required (``Message__c!``).
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sfcrm_sandbox.models.clock import Clock
from sfcrm_sandbox.models.custom_fields import MetadataError, custom_field_spec
from sfcrm_sandbox.models.custom_objects import custom_key_prefix
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.names import EVENT_SUFFIX, custom_field_name_problem

# The standard fields of every platform event (what describe shows besides the custom ones).
_STANDARD_FIELDS = (
    FieldSpec("ReplayId", "string", "Replay ID", 1000, createable=False, updateable=False),
    FieldSpec("EventUuid", "string", "Event UUID", 36, createable=False, updateable=False),
    FieldSpec(
        "CreatedDate",
        "datetime",
        "Created Date",
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
    ),
    FieldSpec(
        "CreatedById",
        "reference",
        "Created By ID",
        18,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        reference_to=("User",),
    ),
)
_FIELD = re.compile(
    r"^(?P<name>[A-Za-z0-9_]+)(?:=(?P<kind>[A-Za-z]+)(?:\((?P<args>[0-9, ]*)\))?)?(?P<required>!)?$"
)
# Field kinds of the command line: Metadata type and the attributes its arguments fill.
_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "text": ("Text", ("length",)),
    "number": ("Number", ("precision", "scale")),
    "checkbox": ("Checkbox", ()),
    "date": ("Date", ()),
    "datetime": ("DateTime", ()),
    "longtextarea": ("LongTextArea", ("length",)),
}


class EventDefinitionError(ValueError):
    """A ``--platform-event`` value the sandbox cannot read."""


@dataclass(frozen=True)
class EventDefinition:
    """A platform event: its API name and its custom fields (name, Metadata) in order."""

    name: str
    fields: tuple[tuple[str, dict[str, Any]], ...]


def parse_event_definition(text: str) -> EventDefinition:
    """``Notification__e:Message__c!,Severity__c=Text(20)`` → its :class:`EventDefinition`."""
    name, _, field_list = text.partition(":")
    name = name.strip()
    problem = custom_field_name_problem(name, EVENT_SUFFIX)
    if problem:
        raise EventDefinitionError(f"platform event name {name!r} {problem}")
    fields: list[tuple[str, dict[str, Any]]] = []
    # Commas separate fields, except inside a type's parentheses (Number(8,2)).
    for item in filter(None, (part.strip() for part in re.split(r",(?![^()]*\))", field_list))):
        match = _FIELD.match(item)
        if match is None:
            raise EventDefinitionError(f"cannot read the field {item!r} of {name} (NAME__c[=Type(args)][!])")
        field_name = match["name"]
        problem = custom_field_name_problem(field_name)
        if problem:
            raise EventDefinitionError(f"field {field_name!r} of {name} {problem}")
        kind, attributes = _KINDS.get((match["kind"] or "text").lower(), (None, ()))
        if kind is None:
            raise EventDefinitionError(
                f"field {field_name} of {name}: type {match['kind']!r} is not one of {', '.join(_KINDS)}"
            )
        arguments = [int(a) for a in (match["args"] or "").replace(" ", "").split(",") if a]
        metadata: dict[str, Any] = {"type": kind, "required": bool(match["required"])}
        if kind == "Text":
            metadata["length"] = 255
        if kind == "LongTextArea":
            metadata.update(length=32768, visibleLines=3)
        if len(arguments) > len(attributes):
            raise EventDefinitionError(
                f"field {field_name} of {name}: {kind} takes {len(attributes)} numbers"
            )
        metadata.update(zip(attributes, arguments, strict=False))
        fields.append((field_name, metadata))
    if len({f.lower() for f, _ in fields}) != len(fields):
        raise EventDefinitionError(f"{name} names a field twice")
    return EventDefinition(name, tuple(fields))


def event_objects(definitions: list[EventDefinition]) -> list[tuple[ObjectSpec, list[FieldSpec]]]:
    """The object of each definition (prefixes ``e00``, ``e01``, … in order) and its custom fields;
    raises :class:`EventDefinitionError` for a field Salesforce would refuse."""
    built = []
    names = [definition.name.lower() for definition in definitions]
    for position, definition in enumerate(definitions):
        if names.index(definition.name.lower()) != position:
            raise EventDefinitionError(f"platform event {definition.name} is defined twice")
        label = definition.name[: -len(EVENT_SUFFIX)].replace("_", " ")
        spec = ObjectSpec(
            definition.name,
            label,
            label,
            _STANDARD_FIELDS,
            updateable=False,
            deletable=False,
            # UNVERIFIED: e00, e01, ... in definition order (the publish results Salesforce documents
            # start e00 and e01).
            prefix=custom_key_prefix(position, "e"),
            custom=True,
            event=True,
        )
        try:
            fields = [custom_field_spec(name, metadata) for name, metadata in definition.fields]
        except MetadataError as exc:
            raise EventDefinitionError(f"{definition.name}: {exc.message}") from None
        built.append((spec, fields))
    return built


def publish_result_id(spec: ObjectSpec) -> str:
    """The Id a publish answers: the event's prefix and a fixed body, the same for every message
    (Salesforce documents that it identifies nothing and is not unique; observed ``e00xx0000000001AAA``)."""
    return f"{spec.key_prefix}xx0000000001AAA"


class EventBus:
    """Messages published per platform event, in publish order; replay ids grow per event.

    :param clock: the org's clock, which dates each message (default: the wall clock).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._lock = threading.Lock()
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._replay: dict[str, int] = {}

    def publish(self, sobject: str, values: dict[str, Any], user_id: str | None) -> str:
        """Publish one message of ``sobject``; returns its EventUuid."""
        event_uuid = str(uuid.uuid4())
        with self._lock:
            replay_id = self._replay[sobject] = self._replay.get(sobject, 0) + 1
            self._messages.setdefault(sobject, []).append(
                {
                    "ReplayId": replay_id,
                    "EventUuid": event_uuid,
                    "CreatedDate": self.clock.stamp(),
                    "CreatedById": user_id,
                    **values,
                }
            )
        return event_uuid

    def messages(self, sobject: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages.get(sobject, ()))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: len(messages) for name, messages in self._messages.items()}

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
