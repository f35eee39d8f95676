"""Platform event definitions from the command line, and the bus messages are published on."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.events import (
    EventBus,
    EventDefinitionError,
    event_objects,
    parse_event_definition,
    publish_result_id,
)


def test_fields_are_text_255_unless_typed():
    definition = parse_event_definition(
        "Order__e: Ref__c! , Amount__c=Number(8,2), Count__c=number(5), Rush__c=Checkbox,"
        "On__c=Date, At__c=DateTime, Note__c=Text(20), Body__c=LongTextArea(1000)"
    )
    assert definition.name == "Order__e"
    metadata = dict(definition.fields)
    assert metadata["Ref__c"] == {"type": "Text", "required": True, "length": 255}
    assert metadata["Amount__c"] == {"type": "Number", "required": False, "precision": 8, "scale": 2}
    assert metadata["Count__c"] == {"type": "Number", "required": False, "precision": 5}
    assert metadata["Note__c"]["length"] == 20
    assert metadata["Body__c"] == {
        "type": "LongTextArea",
        "required": False,
        "length": 1000,
        "visibleLines": 3,
    }
    ((spec, fields),) = event_objects([definition])
    assert [f.type for f in fields] == [
        "string",
        "double",
        "double",
        "boolean",
        "date",
        "datetime",
        "string",
        "textarea",
    ]
    assert fields[0].required and not fields[1].required


def test_an_event_without_fields():
    assert parse_event_definition("Ping__e").fields == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Ping__c:A__c", "must end in __e"),
        ("1Ping__e", "must begin with a letter"),
        ("Ping__e:A", "must end in __c"),
        ("Ping__e:A__c=Lookup", "is not one of"),
        ("Ping__e:A__c=Text(1,2)", "takes 1 numbers"),
        ("Ping__e:A__c=Text(300)", "between 1 and 255"),
        ("Ping__e:A__c,a__c", "twice"),
        ("Ping__e:A__c=Text(", "cannot read"),
    ],
)
def test_bad_definitions(text, message):
    with pytest.raises(EventDefinitionError, match=message):
        event_objects([parse_event_definition(text)])


def test_events_get_prefixes_in_definition_order():
    built = event_objects([parse_event_definition("A__e"), parse_event_definition("B__e")])
    assert [spec.key_prefix for spec, _ in built] == ["e00", "e01"]
    assert publish_result_id(built[1][0]) == "e01xx0000000001AAA"
    with pytest.raises(EventDefinitionError, match="defined twice"):
        event_objects([parse_event_definition("A__e"), parse_event_definition("a__e")])


def test_the_bus_keeps_order_and_replay_ids_grow_across_clears():
    bus = EventBus()
    first = bus.publish("A__e", {"X__c": 1}, "005")
    bus.publish("A__e", {"X__c": 2}, "005")
    bus.publish("B__e", {}, "005")
    messages = bus.messages("A__e")
    assert [(m["ReplayId"], m["X__c"]) for m in messages] == [(1, 1), (2, 2)]
    assert messages[0]["EventUuid"] == first
    assert bus.counts() == {"A__e": 2, "B__e": 1}
    bus.clear()
    assert bus.messages("A__e") == []
    bus.publish("A__e", {}, "005")
    assert bus.messages("A__e")[0]["ReplayId"] == 3
