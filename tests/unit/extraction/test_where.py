"""The ``where`` filter: SOQL conditions accepted and rebuilt, everything else refused by name."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.extraction.where import WhereError, validate_where
from tests.unit.extraction._describe import describe

DESCRIBE = describe()


@pytest.mark.parametrize(
    ("where", "rebuilt"),
    [
        ("LeadSource = 'Web'", "LeadSource = 'Web'"),
        ("  email   LIKE '%@example.com'  ", "email LIKE '%@example.com'"),
        (
            "LeadSource IN ('Web','Phone Inquiry') AND HasOptedOutOfEmail = false",
            "LeadSource IN ('Web', 'Phone Inquiry') AND HasOptedOutOfEmail = FALSE",
        ),
        (
            "(NumberOfEmployees >= 10 OR Score__c < -1.5) AND NOT LeadSource = null",
            "(NumberOfEmployees >= 10 OR Score__c < -1.5) AND NOT LeadSource = NULL",
        ),
        ("LeadSource NOT IN ('Other')", "LeadSource NOT IN ('Other')"),
        (
            "Birthdate > 1990-01-01 AND CreatedDate < 2024-01-31T10:00:00Z",
            "Birthdate > 1990-01-01 AND CreatedDate < 2024-01-31T10:00:00Z",
        ),
        (
            "CreatedDate = LAST_N_DAYS:30 OR CreatedDate = today",
            "CreatedDate = LAST_N_DAYS:30 OR CreatedDate = TODAY",
        ),
        ("Account.Industry = 'Banking'", "Account.Industry = 'Banking'"),
        ("CALENDAR_YEAR(CreatedDate) = 2024", "CALENDAR_YEAR(CreatedDate) = 2024"),
        ("Interests__c INCLUDES ('golf;tennis', 'chess')", "Interests__c INCLUDES ('golf;tennis', 'chess')"),
        ("Email != 'it''s' OR Email = 'a\\'b'", None),  # SOQL escapes with a backslash; '' is two strings
        ("Email = 'x( y' AND LeadSource = '(z)'", "Email = 'x( y' AND LeadSource = '(z)'"),
    ],
)
def test_conditions_are_accepted_and_rebuilt_from_their_tokens(where, rebuilt):
    if rebuilt is None:
        with pytest.raises(WhereError):
            validate_where(where, DESCRIBE)
        return
    assert validate_where(where, DESCRIBE) == rebuilt


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_no_where_is_no_condition(empty):
    assert validate_where(empty, DESCRIBE) is None


@pytest.mark.parametrize(
    ("where", "complaint"),
    [
        ("LeadSource = 'Web' LIMIT 10", "'LIMIT' at character 20 starts another SOQL clause"),
        ("LeadSource = 'Web' ORDER BY Email", "'ORDER' at character 20 starts another SOQL clause"),
        ("LeadSource = 'Web') OR (Email != null", "expected the end of the condition"),
        ("LeadSource = 'Web' ALL ROWS", "starts another SOQL clause"),
        ("LeadSource = 'Web' AND Email = 'x' OR Score__c = 1", "AND and OR are mixed without parentheses"),
        ("(LeadSource = 'Web'", "expected ')' at the end"),
        ("LeadSource = 'Web", "unterminated string"),
        ("Email = :address", "bind variables are not accepted"),
        ("Id IN (SELECT ContactId FROM CampaignMember)", "subqueries are not accepted"),
        ("LeadSource = 'Web'; DELETE", "unexpected '; DELETE' at character 19"),
        ("LeadSource", "expected a comparison operator"),
        ("= 'Web'", "expected a field name"),
        ("Emial = 'x'", "no field 'Emial'"),
        ("Description = 'x'", "Description (textarea) cannot be filtered"),
        ("Acount.Name = 'x'", "'Acount' (in 'Acount.Name') is not a relationship of this object"),
        ("LeadSource = Web", "expected a value"),
        ("LeadSource LIKE 5", "a quoted pattern after LIKE"),
        ("CreatedDate = LAST_N_DAYZ:3", "expected a value"),
        ("UNKNOWN_FN(CreatedDate) = 1", "no field 'UNKNOWN_FN'"),
        ("CALENDAR_YEAR(Emial) = 1", "no field 'Emial'"),
        ("LeadSource = 'x' AND", "ends too early"),
        ("x" * 20_001, "too long"),
    ],
)
def test_anything_but_a_condition_is_refused_saying_why(where, complaint):
    with pytest.raises(WhereError, match="^where: ") as refused:
        validate_where(where, DESCRIBE)
    assert complaint in str(refused.value)
