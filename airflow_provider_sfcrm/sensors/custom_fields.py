"""Waits until every audience (Mapping ID) field on an object exists and is usable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider_sfcrm.activation.field_check import (
    FieldVerdict,
    found_message,
    normalise_audience_request,
    verdicts_as_dicts,
)
from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmFieldValidationError
from airflow_provider_sfcrm.triggers.custom_fields import (
    SalesforceCustomFieldTrigger,
    fetch_verdicts,
    raise_if_fatal,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook


class SalesforceCustomFieldSensor(BaseSensorOperator):
    """Waits for the custom Text Area (Long) fields named by the audiences' Mapping IDs.

    Succeeds when every field is usable and returns ``{mapping_id: verdict dict}``. While fields are
    missing (not created yet, or hidden by field-level security) or read-only it keeps waiting and
    logs which. A field of the wrong type or too short, or an invalid Mapping ID, cannot be fixed
    by waiting: the sensor fails at once with :class:`SfCrmFieldValidationError` naming it.

    :param sobject: the object (``Lead``, ``Contact``, ``Account``, ``Thing__c``...) (templated).
    :param mapping_ids: the audiences' Mapping IDs, with or without ``__c``; a list, or one
        comma-separated string (templated).
    :param sfcrm_conn_id: the Salesforce CRM connection.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poke_interval: seconds between two checks.
    """

    template_fields: Sequence[str] = ("sobject", "mapping_ids")
    ui_color = "#e3f1fb"

    def __init__(
        self,
        *,
        sobject: str,
        mapping_ids: Sequence[str] | str,
        sfcrm_conn_id: str = "sfcrm_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: timedelta | float = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.sobject = sobject
        self.mapping_ids = mapping_ids
        self.sfcrm_conn_id = sfcrm_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> SalesforceCrmHook:
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        return SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)

    def _request(self) -> tuple[str, list[str]]:
        try:
            return normalise_audience_request(self.sobject, self.mapping_ids)
        except ValueError as exc:
            raise SfCrmConfigError(f"{self.task_id}: {exc}") from exc

    def poke(self, context: Context) -> PokeReturnValue:
        sobject, mapping_ids = self._request()
        verdicts = fetch_verdicts(self.hook, sobject, mapping_ids)
        raise_if_fatal(sobject, verdicts)
        waiting = [v for v in verdicts.values() if not v.ok]
        for verdict in waiting:
            self.log.info("Waiting for %s: %s", verdict.mapping_id, verdict.message)
        if not waiting:
            self.log.info("Field check: %s", found_message(sobject, verdicts))
        report = None if waiting else verdicts_as_dicts(verdicts)
        return PokeReturnValue(is_done=not waiting, xcom_value=report)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        sobject, mapping_ids = self._request()
        self.defer(
            trigger=SalesforceCustomFieldTrigger(
                sfcrm_conn_id=self.sfcrm_conn_id,
                sobject=sobject,
                mapping_ids=mapping_ids,
                poke_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            # A little later than the trigger's own deadline, so its timeout event (which names
            # the fields still missing) normally arrives first.
            timeout=timedelta(seconds=self.timeout + max(30.0, 2 * self.poke_interval)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: return the report on success, else raise naming the fields."""
        if not event:
            raise SfCrmFieldValidationError(f"{self.task_id}: the trigger ended without an event")
        status = event.get("status")
        verdicts = event.get("verdicts") or {}
        if status == "success":
            found = {mid: FieldVerdict.from_dict(v) for mid, v in verdicts.items()}
            self.log.info("Field check: %s", found_message(str(self.sobject), found))
            return verdicts
        message = event.get("message") or f"trigger ended with status {status!r}"
        if status == "timeout":
            raise AirflowSensorTimeout(f"{self.task_id}: {message}")
        raise SfCrmFieldValidationError(f"{self.task_id}: {message}", verdicts)
