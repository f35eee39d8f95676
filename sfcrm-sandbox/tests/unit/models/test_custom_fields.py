"""Custom fields the Tooling API creates: metadata rules and their persisted form."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.custom_fields import (
    CustomFieldError,
    custom_field_spec,
    field_spec_from_json,
    field_spec_to_json,
)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"type": "LongTextArea", "length": 32768}, "visibleLines"),
        ({"type": "LongTextArea", "length": 131073, "visibleLines": 3}, "between 256 and 131072"),
        ({"type": "Html", "length": 255}, "between 256 and 131072"),
        ({"type": "Text", "length": 256}, "between 1 and 255"),
        ({"type": "Text"}, "length"),
        ({"type": "TextArea", "externalId": True}, "external ID"),
        ({"type": "Number"}, "Unsupported"),
    ],
)
def test_custom_field_refusals(metadata, message):
    with pytest.raises(CustomFieldError) as refused:
        custom_field_spec("x__c", metadata)
    assert message in refused.value.message
    assert refused.value.error_code == "FIELD_INTEGRITY_EXCEPTION"


def test_custom_field_round_trip():
    spec = custom_field_spec(
        "crm_1_seg__c",
        {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "CRM 1 Segments"},
    )
    assert field_spec_from_json(field_spec_to_json(spec)) == spec
    assert (spec.type, spec.length, spec.extra_type_info, spec.custom) == (
        "textarea",
        32768,
        "plaintextarea",
        True,
    )
