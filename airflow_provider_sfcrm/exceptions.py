"""Errors raised by the provider. Messages never carry secrets or record payloads."""

from __future__ import annotations

try:  # Airflow 3.1+: the Task SDK re-exports the exception authors should raise.
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # pragma: no cover - older layouts
    from airflow.exceptions import AirflowException, AirflowFailException


class SfCrmError(AirflowException):
    """Base class of every error raised by airflow-provider-sfcrm."""


class SfCrmConfigError(SfCrmError):
    """The connection or an operator argument is not usable as given."""


class SfCrmAuthError(SfCrmError):
    """Salesforce refused to authenticate; carries its ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str, *, status: int | None = None):
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"Salesforce authentication failed: {error}: {description}")


class SfCrmApiError(SfCrmError):
    """A Salesforce REST call failed as a whole (not a per-record failure)."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str | None = None):
        self.status = status
        self.error_code = error_code
        super().__init__(message)


class SfCrmFieldValidationError(SfCrmError):
    """One or more audience (Mapping ID) fields are missing or unusable; one line per field."""

    def __init__(self, message: str, verdicts: dict | None = None):
        self.verdicts = verdicts or {}
        super().__init__(message)


class SfCrmRejectedRowsError(SfCrmError):
    """More rows were rejected than the task's ``max_rejected_ratio`` allows."""


class SfCrmVanishedError(SfCrmConfigError, AirflowFailException):
    """A sync would exit more of the audience than ``max_vanished_ratio`` allows; not retried (a retry
    reads the same segment)."""


class SfCrmSyncBusyError(SfCrmError):
    """Another run's task holds the sync scope's lock: nothing was sent, spooled or recorded. Retried
    (not an ``AirflowFailException``): a later try finds the scope free."""

    def __init__(self, message: str, *, holder: tuple[str, str, str], since: str):
        self.holder = holder
        self.since = since
        super().__init__(message)


class SfCrmStoppedError(SfCrmError):
    """The task was stopped (``on_kill``) before every row was processed; the rest is in the rejected rows."""


class SfCrmRequestLimitError(SfCrmApiError):
    """Salesforce refuses further calls: the org's API allowance is spent (``REQUEST_LIMIT_EXCEEDED``)."""


class SfCrmOutcomeUnknownError(SfCrmApiError):
    """A request that must not be resent may have reached Salesforce, but its answer was lost."""


class SfCrmQuotaError(SfCrmError):
    """Going on would take the org's daily API usage past the share the task may use (``max_api_share``)."""
