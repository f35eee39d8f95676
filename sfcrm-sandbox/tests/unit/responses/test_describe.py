"""Describe rendering of fields (no server)."""

from __future__ import annotations

from sfcrm_sandbox.models.custom_fields import custom_field_spec
from sfcrm_sandbox.responses.describe import field_describe


def test_custom_long_text_area_is_described_like_a_captured_one():
    spec = custom_field_spec(
        "crm_1_seg__c",
        {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "CRM 1 Segments"},
    )
    described = field_describe(spec)
    assert described["name"] == "crm_1_seg__c" and described["label"] == "CRM 1 Segments"
    assert (described["type"], described["length"], described["byteLength"]) == ("textarea", 32768, 98304)
    assert described["custom"] is True and described["soapType"] == "xsd:string"
    assert (described["filterable"], described["sortable"], described["groupable"]) == (False, False, False)
    assert (described["createable"], described["updateable"]) == (True, True)
    assert field_describe(spec, readable_only=True)["updateable"] is False
