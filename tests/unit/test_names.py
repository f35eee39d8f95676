"""Names that go into URLs and SOQL are validated before they get there."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.names import validate_api_name


@pytest.mark.parametrize(
    "name",
    ["Contact", "Lead", "Id", "crm_1_seg__c", "External_Id__c", "ns__Field__c", "a", "A1", "x_"],
)
def test_valid_names_are_returned_unchanged(name):
    assert validate_api_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1Contact",
        "_Contact",
        "Con tact",
        "Contact\n",  # a trailing newline must not slip through
        "\nContact",
        "Contact ",
        "Contact.Name",
        "Contact/describe",
        "../Contact",
        "Email__c'; DELETE",
        "Id,Name",
        "Contact%2F",
        "Émile__c",
        "Contact\t",
        None,
        42,
        b"Contact",
        ["Contact"],
    ],
)
def test_invalid_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid Salesforce name"):
        validate_api_name(name)


def test_the_error_names_what_was_checked_and_the_value():
    with pytest.raises(ValueError) as info:
        validate_api_name("bad name", "external-id field")
    message = str(info.value)
    assert "external-id field" in message
    assert "'bad name'" in message
