"""Names of new custom fields."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.names import custom_field_api_name, custom_field_name_problem


@pytest.mark.parametrize("name", ["crm_1_seg__c", "A__c", "a1__c", "x" * 40 + "__c", "Seg__C"])
def test_valid_names(name):
    assert custom_field_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("crm_1_seg", "end in __c"),
        ("__c", "no name"),
        ("1crm__c", "begin with a letter"),
        ("_crm__c", "begin with a letter"),
        ("crm___c", "end with an underscore"),
        ("crm__seg__c", "two consecutive underscores"),
        ("crm seg__c", "only letters"),
        ("crm-seg__c", "only letters"),
        ("crmé__c", "only letters"),
        ("x" * 41 + "__c", "at most 40"),
    ],
)
def test_invalid_names(name, problem):
    assert problem in (custom_field_name_problem(name) or "")


def test_suffix_is_spelled_canonically():
    assert custom_field_api_name("Seg__C") == "Seg__c"
