"""The pure audience-field check, against hand-made describe JSON."""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_sfcrm.activation.field_check import (
    MAX_AUDIENCE_FIELDS,
    FieldStatus,
    FieldVerdict,
    TooManyAudienceFieldsError,
    check_audience_fields,
    field_api_name,
    field_type_label,
    normalise_audience_request,
    problems_message,
    verdicts_as_dicts,
)


def _field(name: str, sf_type: str = "textarea", length: int | None = 32768, **extra) -> dict:
    """A describe field entry shaped like Salesforce's (defaults: a usable Text Area (Long))."""
    field = {
        "name": name,
        "type": sf_type,
        "length": length,
        "custom": True,
        "calculated": False,
        "updateable": True,
        "createable": True,
        "extraTypeInfo": "plaintextarea" if sf_type == "textarea" else None,
        "htmlFormatted": False,
        "filterable": sf_type != "textarea" or (length or 0) <= 255,
    }
    field.update(extra)
    return field


TEXT_AREA_255 = {"length": 255, "filterable": True}
RICH = {"extraTypeInfo": "richtextarea", "htmlFormatted": True, "filterable": False}


def _describe(*fields: dict, name: str = "Contact") -> dict:
    standard = [_field("Id", "id", 18), _field("LastName", "string", 80), _field("Description", length=32000)]
    return {"name": name, "keyPrefix": "003", "fields": standard + list(fields)}


@pytest.mark.parametrize(
    ("mapping_id", "expected"),
    [
        ("crm_2_seg", "crm_2_seg__c"),
        ("crm_2_seg__c", "crm_2_seg__c"),
        ("crm_2_seg__C", "crm_2_seg__c"),
        ("A", "A__c"),
        ("Adobe_test_segment", "Adobe_test_segment__c"),
        ("a" * 40, "a" * 40 + "__c"),
    ],
)
def test_field_api_name_accepts(mapping_id, expected):
    assert field_api_name(mapping_id) == expected


@pytest.mark.parametrize(
    ("mapping_id", "reason"),
    [
        ("crm 2 seg", "whitespace"),
        (" crm_2_seg", "whitespace"),
        ("crm_2_seg\n", "whitespace"),
        ("crm-2-seg", "characters"),
        ("crm.2", "characters"),
        ("crm_2_ség", "characters"),
        ("2_crm", "start with a letter"),
        ("_crm", "start with a letter"),
        ("crm__2", "two consecutive underscores"),
        ("crm_2_", "end with an underscore"),
        ("a" * 41, "at most 40"),
        ("", "empty"),
        ("__c", "empty"),
    ],
)
def test_field_api_name_refuses_naming_it(mapping_id, reason):
    with pytest.raises(ValueError, match=reason) as err:
        field_api_name(mapping_id)
    assert repr(mapping_id) in str(err.value)


@pytest.mark.parametrize(
    ("field", "label"),
    [
        (_field("x__c", "string", 80), "Text"),
        (_field("x__c", **TEXT_AREA_255), "Text Area (255)"),
        (_field("x__c", length=255, filterable=None), "Text Area (255)"),
        (_field("x__c"), "Text Area (Long)"),
        (_field("x__c", **RICH), "Rich Text Area"),
        (_field("x__c", htmlFormatted=True, extraTypeInfo=None), "Rich Text Area"),
        (_field("x__c", "email", 80), "Email"),
        (_field("x__c", "double", None), "Number"),
        (_field("x__c", "picklist", 255), "Picklist"),
        (_field("x__c", "multipicklist", 4099), "Picklist (Multi-Select)"),
        (_field("x__c", "boolean", None), "Checkbox"),
        (_field("x__c", "string", 1300, calculated=True), "Formula (Text)"),
    ],
)
def test_field_type_label_uses_setup_words(field, label):
    assert field_type_label(field) == label


@pytest.mark.parametrize(
    ("field", "status", "actual_type", "in_message", "in_fix"),
    [
        pytest.param(_field("crm_1_seg__c"), FieldStatus.OK, "Text Area (Long)", "usable", None, id="ok"),
        pytest.param(
            _field("crm_1_seg__c", length=131072),
            FieldStatus.OK,
            "Text Area (Long)",
            "usable",
            None,
            id="ok-max",
        ),
        pytest.param(
            None,
            FieldStatus.MISSING,
            None,
            "never created, or field-level security hides it",
            "create a Text Area (Long) field named crm_1_seg on Contact (length 256–131,072)",
            id="missing",
        ),
        pytest.param(
            _field("crm_1_seg__c", **TEXT_AREA_255),
            FieldStatus.WRONG_TYPE,
            "Text Area (255)",
            "is a Text Area (255) field",
            "Text Area (Long)",
            id="text-area-255",
        ),
        pytest.param(
            _field("crm_1_seg__c", **RICH),
            FieldStatus.WRONG_TYPE,
            "Rich Text Area",
            "is a Rich Text Area field",
            "Text Area (Long)",
            id="rich-text",
        ),
        pytest.param(
            _field("crm_1_seg__c", "string", 255),
            FieldStatus.WRONG_TYPE,
            "Text",
            "is a Text (length 255) field",
            "Text Area (Long)",
            id="text",
        ),
        pytest.param(
            _field("crm_1_seg__c", "email", 80),
            FieldStatus.WRONG_TYPE,
            "Email",
            "is an Email field",
            "Text Area (Long)",
            id="email",
        ),
        pytest.param(
            _field("crm_1_seg__c", "picklist", 255),
            FieldStatus.WRONG_TYPE,
            "Picklist",
            "Picklist",
            "Text Area (Long)",
            id="picklist",
        ),
        pytest.param(
            _field("crm_1_seg__c", length=200, filterable=False),
            FieldStatus.TOO_SHORT,
            "Text Area (Long)",
            "holds 200 characters",
            "at least 256",
            id="too-short",
        ),
        pytest.param(
            _field("crm_1_seg__c", updateable=False),
            FieldStatus.NOT_UPDATEABLE,
            "Text Area (Long)",
            "read-only",
            "grant Edit on Contact.crm_1_seg__c to the integration user",
            id="read-only",
        ),
    ],
)
def test_verdicts(field, status, actual_type, in_message, in_fix):
    describe = _describe(field) if field else _describe()
    verdict = check_audience_fields(describe, ["crm_1_seg"])["crm_1_seg"]
    assert verdict.status is status
    assert verdict.ok is (status is FieldStatus.OK)
    assert verdict.actual_type == actual_type
    assert verdict.field_name == "crm_1_seg__c"
    assert in_message in verdict.message
    if in_fix is None:
        assert verdict.fix is None
    else:
        assert in_fix in verdict.fix


@pytest.mark.parametrize("mapping_id", ["crm 1 seg", "crm-1", "1crm", "crm__x", "crm_"])
def test_invalid_mapping_id_is_a_verdict_not_an_exception(mapping_id):
    verdict = check_audience_fields(_describe(), [mapping_id])[mapping_id]
    assert verdict.status is FieldStatus.INVALID_NAME
    assert verdict.field_name is None
    assert repr(mapping_id) in verdict.message
    assert verdict.fix


@pytest.mark.parametrize("asked", ["CRM_1_SEG", "crm_1_seg__c", "Crm_1_Seg__C"])
def test_names_match_case_insensitively(asked):
    verdict = check_audience_fields(_describe(_field("crm_1_seg__c")), [asked])[asked]
    assert verdict.ok
    assert verdict.field_name == "crm_1_seg__c"  # as the org spells it


def test_several_mapping_ids_may_share_a_field_and_keep_input_order():
    describe = _describe(_field("crm_1_seg__c"))
    verdicts = check_audience_fields(describe, ["crm_9_seg", "crm_1_seg", "crm_1_seg__c"])
    assert list(verdicts) == ["crm_9_seg", "crm_1_seg", "crm_1_seg__c"]
    assert verdicts["crm_1_seg"].ok and verdicts["crm_1_seg__c"].ok
    assert verdicts["crm_9_seg"].status is FieldStatus.MISSING


def test_limit_counts_distinct_fields():
    ids = [f"crm_{n}_seg" for n in range(MAX_AUDIENCE_FIELDS)]
    # 25 distinct fields, written two ways each: still 25 fields, allowed.
    assert len(check_audience_fields(_describe(), ids + [f"{i}__c" for i in ids])) == 2 * MAX_AUDIENCE_FIELDS
    with pytest.raises(TooManyAudienceFieldsError, match=r"at most 25") as err:
        check_audience_fields(_describe(), ids + ["crm_extra_seg"])
    assert "26" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_lone_string_is_refused():
    with pytest.raises(TypeError, match="list of Mapping IDs"):
        check_audience_fields(_describe(), "crm_1_seg")


def test_problems_message_has_one_line_per_problem_with_its_fix():
    describe = _describe(
        _field("crm_ok__c"),
        _field("crm_short__c", **TEXT_AREA_255),
        _field("crm_rich__c", **RICH),
        _field("crm_ro__c", updateable=False),
    )
    ids = ["crm_ok", "crm_missing", "crm_short", "crm_rich", "crm_ro"]
    message = problems_message("Contact", check_audience_fields(describe, ids))
    header, *lines = message.splitlines()
    assert "4 of 5" in header and "Contact" in header
    assert [line.split(":")[0] for line in lines] == [
        "- crm_missing",
        "- crm_short",
        "- crm_rich",
        "- crm_ro",
    ]
    assert all("fix: " in line for line in lines)
    assert "Text Area (255)" in lines[1] and "Rich Text Area" in lines[2] and "grant Edit" in lines[3]


def test_problems_message_when_all_ok():
    verdicts = check_audience_fields(_describe(_field("crm_1_seg__c")), ["crm_1_seg"])
    assert problems_message("Contact", verdicts) == (
        "1 audience field on Contact is usable: crm_1_seg__c (Text Area (Long), 32,768 characters)"
    )


def test_verdict_dict_is_json_and_round_trips():
    verdicts = check_audience_fields(_describe(_field("crm_1_seg__c", **TEXT_AREA_255)), ["crm_1_seg", "x y"])
    for verdict in verdicts.values():
        data = json.loads(json.dumps(verdict.to_dict()))
        assert data["status"] == verdict.status.value
        assert FieldVerdict.from_dict(data) == verdict
    report = json.loads(json.dumps(verdicts_as_dicts(verdicts)))
    assert list(report) == ["crm_1_seg", "x y"]
    assert [v["status"] for v in report.values()] == ["wrong_type", "invalid_name"]


@pytest.mark.parametrize(
    ("sobject", "mapping_ids", "expected"),
    [
        ("Contact", ["crm_1_seg", "crm_2_seg__c"], ("Contact", ["crm_1_seg", "crm_2_seg__c"])),
        ("lead", ("crm_1_seg",), ("Lead", ["crm_1_seg"])),
        (" CONTACT ", "crm_1_seg, crm_2_seg", ("Contact", ["crm_1_seg", "crm_2_seg"])),
        ("Contact", '["crm_1_seg", "crm 2"]', ("Contact", ["crm_1_seg", "crm 2"])),
        (" Account ", ["crm_1_seg"], ("Account", ["crm_1_seg"])),
        ("Thing__c", ["crm_1_seg"], ("Thing__c", ["crm_1_seg"])),
    ],
)
def test_normalise_audience_request(sobject, mapping_ids, expected):
    assert normalise_audience_request(sobject, mapping_ids) == expected


@pytest.mark.parametrize(
    ("sobject", "mapping_ids", "reason"),
    [
        ("Con tact", ["crm_1_seg"], "invalid Salesforce object name (sobject) 'Con tact'"),
        (None, ["crm_1_seg"], "invalid Salesforce object name (sobject) None"),
        ("Contact", [], "no Mapping IDs"),
        ("Contact", "", "no Mapping IDs"),
        ("Contact", "[1, 2]", "must be a string"),
        ("Contact", "[oops", "not a valid JSON list"),
        ("Contact", {"crm_1_seg": 1}, "list of Mapping IDs"),
        ("Contact", 7, "list of Mapping IDs"),
    ],
)
def test_normalise_audience_request_refuses(sobject, mapping_ids, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        normalise_audience_request(sobject, mapping_ids)
