"""SalesforceCustomFieldValidationOperator against the HTTPS sandbox: every verdict, creation, limits."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.field_check import MAX_AUDIENCE_FIELDS
from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmFieldValidationError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators.custom_fields import SalesforceCustomFieldValidationOperator
from tests.conftest import create_audience_field, unique_mapping_id


@pytest.fixture
def hook(sfcrm_conn: str) -> SalesforceCrmHook:
    return SalesforceCrmHook(sfcrm_conn_id=sfcrm_conn)


def _operator(mapping_ids, sobject: str = "Contact", **kwargs) -> SalesforceCustomFieldValidationOperator:
    return SalesforceCustomFieldValidationOperator(
        task_id="check_fields", sobject=sobject, mapping_ids=mapping_ids, **kwargs
    )


def _verdicts(operator: SalesforceCustomFieldValidationOperator) -> dict[str, dict]:
    """The operator's report, whether it succeeded or raised."""
    try:
        return operator.execute(context={})
    except SfCrmFieldValidationError as err:
        return err.verdicts


@pytest.mark.parametrize(
    ("kind", "access", "status", "actual_type"),
    [
        pytest.param("long", "edit", "ok", "Text Area (Long)", id="long-text-area"),
        pytest.param("long_min", "edit", "ok", "Text Area (Long)", id="long-text-area-256"),
        pytest.param("long", "read", "not_updateable", "Text Area (Long)", id="read-only"),
        pytest.param("long", None, "missing", None, id="hidden-by-fls"),
        pytest.param(None, None, "missing", None, id="never-created"),
        pytest.param("textarea", "edit", "wrong_type", "Text Area (255)", id="text-area-255"),
        pytest.param("html", "edit", "wrong_type", "Rich Text Area", id="rich-text-area"),
        pytest.param("text", "edit", "wrong_type", "Text", id="text"),
        pytest.param("email", "edit", "wrong_type", "Email", id="email"),
    ],
)
@pytest.mark.parametrize("sobject", ["Contact", "Lead"])
def test_each_verdict_against_the_sandbox(hook, sobject, kind, access, status, actual_type):
    mapping_id = unique_mapping_id("cf_v")
    if kind:
        create_audience_field(hook, sobject, mapping_id, kind, access)

    verdict = _verdicts(_operator([mapping_id], sobject))[mapping_id]

    assert verdict["status"] == status
    assert verdict["actual_type"] == actual_type
    assert verdict["field_name"] == f"{mapping_id}__c"
    assert (verdict["fix"] is None) is (status == "ok")


@pytest.mark.parametrize("mapping_id", ["crm 1 seg", "crm-1-seg", "1_crm_seg", "crm__1"])
def test_invalid_mapping_id_is_reported_by_name(sfcrm_conn, mapping_id):
    with pytest.raises(SfCrmFieldValidationError) as err:
        _operator([mapping_id]).execute(context={})
    assert err.value.verdicts[mapping_id]["status"] == "invalid_name"
    assert repr(mapping_id) in str(err.value)


def test_mapping_id_with_suffix_and_other_case_finds_the_field(hook):
    mapping_id = unique_mapping_id("cf_case")
    create_audience_field(hook, "Contact", mapping_id)
    asked = [mapping_id, f"{mapping_id}__c", mapping_id.upper()]

    report = _operator(asked).execute(context={})

    assert list(report) == asked
    assert {v["status"] for v in report.values()} == {"ok"}


def test_acceptance_one_error_names_all_four_problems(hook):
    """Five Mapping IDs: one ok, one missing, one Text Area (255), one Rich Text Area, one read-only."""
    ok, missing, short, rich, read_only = (
        unique_mapping_id(p) for p in ("ok", "gone", "short", "rich", "ro")
    )
    create_audience_field(hook, "Contact", ok, "long")
    create_audience_field(hook, "Contact", short, "textarea")
    create_audience_field(hook, "Contact", rich, "html")
    create_audience_field(hook, "Contact", read_only, "long", access="read")

    with pytest.raises(SfCrmFieldValidationError) as err:
        _operator([ok, missing, short, rich, read_only]).execute(context={})

    header, *lines = str(err.value).splitlines()
    assert "4 of 5" in header
    assert len(lines) == 4
    by_id = {line.split(":")[0].removeprefix("- "): line for line in lines}
    assert set(by_id) == {missing, short, rich, read_only}
    assert "never created, or field-level security hides it" in by_id[missing]
    assert f"create a Text Area (Long) field named {missing} on Contact" in by_id[missing]
    assert "Text Area (255)" in by_id[short]
    assert "Rich Text Area" in by_id[rich]
    assert f"grant Edit on Contact.{read_only}__c to the integration user" in by_id[read_only]
    assert ok not in str(err.value)
    assert err.value.verdicts[ok]["status"] == "ok"


def test_create_missing_creates_grants_and_leaves_existing_fields_alone(hook):
    new, hidden, existing = (unique_mapping_id(p) for p in ("new", "hidden", "old"))
    create_audience_field(hook, "Lead", hidden, "long", access=None)  # exists, invisible to the user
    create_audience_field(hook, "Lead", existing, "long_min")
    operator = _operator([new, hidden, existing, f"{new}__c"], "Lead", create_missing=True, field_length=1000)

    report = operator.execute(context={})

    assert {v["status"] for v in report.values()} == {"ok"}
    assert report[new]["length"] == 1000
    fields = {f["name"]: f for f in SalesforceCrmHook().describe_object("Lead", refresh=True)["fields"]}
    assert fields[f"{new}__c"]["updateable"] is True
    assert fields[f"{hidden}__c"]["length"] == 32768  # granted, not re-created
    assert fields[f"{existing}__c"]["length"] == 256  # never altered
    # Running again changes nothing and creates nothing.
    assert operator.execute(context={}) == report


def test_create_missing_does_not_fix_a_wrong_type(hook):
    short = unique_mapping_id("short")
    create_audience_field(hook, "Contact", short, "textarea")

    with pytest.raises(SfCrmFieldValidationError, match=r"Text Area \(255\)"):
        _operator([short], create_missing=True).execute(context={})

    field = next(
        f for f in hook.describe_object("Contact", refresh=True)["fields"] if f["name"] == f"{short}__c"
    )
    assert field["length"] == 255


def test_more_than_25_fields_is_refused_naming_the_limit(sfcrm_conn):
    ids = [unique_mapping_id("many") for _ in range(MAX_AUDIENCE_FIELDS + 1)]
    with pytest.raises(SfCrmFieldValidationError, match=r"at most 25 audience fields"):
        _operator(ids).execute(context={})


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"sobject": "Con tact"}, "invalid Salesforce object name"),
        ({"mapping_ids": []}, "no Mapping IDs"),
        ({"field_length": 255}, "field_length must be an integer from 256 to 131072"),
        ({"field_length": 131073}, "field_length"),
        ({"field_length": "1000"}, "field_length"),
        ({"visible_lines": 1}, "visible_lines must be an integer from 2 to 50"),
        ({"visible_lines": 51}, "visible_lines"),
    ],
)
def test_arguments_are_checked_before_any_call(sandbox, sfcrm_conn, arguments, reason):
    calls_before = sandbox.stats()["api_calls"]
    operator = _operator(**{"mapping_ids": ["crm_1_seg"], **arguments})
    with pytest.raises(SfCrmConfigError, match=reason):
        operator.execute(context={})
    assert sandbox.stats()["api_calls"] == calls_before


def test_templated_fields_and_report_is_json(hook):
    import json

    mapping_id = unique_mapping_id("tmpl")
    create_audience_field(hook, "Contact", mapping_id)
    operator = _operator(f"{mapping_id}, {mapping_id}__c", "contact")
    assert set(operator.template_fields) == {"sobject", "mapping_ids"}

    report = operator.execute(context={})

    assert json.loads(json.dumps(report)) == report
    assert list(report) == [mapping_id, f"{mapping_id}__c"]
