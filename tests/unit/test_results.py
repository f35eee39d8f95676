"""Per-record outcomes parsed from Salesforce's SaveResult / UpsertResult items."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.results import RecordError, RecordResult


def test_success_with_id_and_created():
    result = RecordResult.from_api(
        4, {"id": "003ak00000luKU1AAM", "success": True, "created": True, "errors": []}
    )
    assert result == RecordResult(index=4, success=True, id="003ak00000luKU1AAM", created=True, errors=())
    assert result.status_codes == ()


def test_update_result_has_no_created_key():
    result = RecordResult.from_api(0, {"id": "003ak00000luKU1AAM", "success": True, "errors": []})
    assert (result.success, result.created) == (True, None)


def test_failure_item_without_id_or_created():
    # Collections omit "id" (and "created") for records that failed.
    item = {
        "success": False,
        "errors": [
            {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
             "fields": ["LastName"]},
            {"statusCode": "STRING_TOO_LONG", "message": "Email: data value too large", "fields": ["Email"]},
        ],
    }  # fmt: skip
    result = RecordResult.from_api(7, item)
    assert (result.index, result.success, result.id, result.created) == (7, False, None, None)
    assert result.status_codes == ("REQUIRED_FIELD_MISSING", "STRING_TOO_LONG")
    assert result.errors[0] == RecordError(
        "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ("LastName",)
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"statusCode": "INVALID_EMAIL_ADDRESS", "message": "bad"}, "INVALID_EMAIL_ADDRESS"),
        ({"errorCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}, "UNABLE_TO_LOCK_ROW"),
        ({"statusCode": "MALFORMED_ID", "errorCode": "OTHER", "message": "x"}, "MALFORMED_ID"),
        ({"statusCode": None, "errorCode": "ENTITY_IS_DELETED"}, "ENTITY_IS_DELETED"),
        ({"message": "no code at all"}, "UNKNOWN_ERROR"),
        ({}, "UNKNOWN_ERROR"),
    ],
)
def test_status_code_from_statusCode_or_errorCode(error, expected):
    assert RecordError.from_api(error).status_code == expected


@pytest.mark.parametrize(
    ("error", "message", "fields"),
    [
        ({"statusCode": "X", "message": "text", "fields": ["A", "B"]}, "text", ("A", "B")),
        ({"statusCode": "X"}, "", ()),
        ({"statusCode": "X", "message": None, "fields": None}, "", ()),
        ({"statusCode": "X", "message": "m", "fields": []}, "m", ()),
        ({"statusCode": "X", "message": "m", "fields": "Email"}, "m", ("Email",)),
    ],
)
def test_message_and_fields_defaults(error, message, fields):
    parsed = RecordError.from_api(error)
    assert (parsed.message, parsed.fields) == (message, fields)


@pytest.mark.parametrize(
    ("item", "success"),
    [({"success": True}, True), ({"success": False}, False), ({}, False), ({"success": None}, False)],
)
def test_missing_success_means_failure(item, success):
    assert RecordResult.from_api(0, item).success is success


def test_failure_built_locally():
    result = RecordResult.failure(3, "REQUEST_LIMIT_EXCEEDED", "not sent: daily API limit reached", ["Id"])
    assert result == RecordResult(
        index=3,
        success=False,
        errors=(RecordError("REQUEST_LIMIT_EXCEEDED", "not sent: daily API limit reached", ("Id",)),),
    )
    assert result.status_codes == ("REQUEST_LIMIT_EXCEEDED",)


def test_record_error_to_dict():
    error = RecordError("DUPLICATE_VALUE", "duplicate value found", ("Email",))
    assert error.to_dict() == {
        "status_code": "DUPLICATE_VALUE",
        "message": "duplicate value found",
        "fields": ["Email"],
    }
