"""The pure core of the provider: no Airflow, no HTTP.

Mapping, validation, batching and results live here so that they can be unit-tested without
a scheduler or a network, and reused by the hook, the operators, the sensor and the trigger.
"""

from airflow_provider_sfcrm.activation.results import RecordError, RecordResult

__all__ = ["RecordError", "RecordResult"]
