"""Waits, in the triggerer, until every audience (Mapping ID) field on the object is usable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_sfcrm.activation.field_check import (
    FieldStatus,
    FieldVerdict,
    TooManyAudienceFieldsError,
    check_audience_fields,
    problems_message,
    verdicts_as_dicts,
)
from airflow_provider_sfcrm.activation.wording import plural
from airflow_provider_sfcrm.exceptions import SfCrmFieldValidationError

if TYPE_CHECKING:
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

#: Verdicts that waiting cannot change: an admin must alter the field or the Mapping ID.
FATAL_STATUSES = frozenset({FieldStatus.WRONG_TYPE, FieldStatus.TOO_SHORT, FieldStatus.INVALID_NAME})


def fetch_verdicts(
    hook: SalesforceCrmHook, sobject: str, mapping_ids: Sequence[str]
) -> dict[str, FieldVerdict]:
    """Describe ``sobject`` afresh (fields appear when created and granted) and judge every Mapping ID.

    :raises SfCrmFieldValidationError: when more audience fields are asked for than allowed.
    """
    describe = hook.describe_object(sobject, refresh=True)
    try:
        return check_audience_fields(describe, mapping_ids)
    except TooManyAudienceFieldsError as exc:
        raise SfCrmFieldValidationError(str(exc)) from exc


def raise_if_fatal(sobject: str, verdicts: dict[str, FieldVerdict]) -> None:
    """Raise at once when some field is wrong in a way waiting cannot fix (type, length, name)."""
    if any(v.status in FATAL_STATUSES for v in verdicts.values()):
        raise SfCrmFieldValidationError(
            "waiting cannot fix these audience fields; " + problems_message(sobject, verdicts),
            verdicts_as_dicts(verdicts),
        )


class SalesforceCustomFieldTrigger(BaseTrigger):
    """Polls the object's describe until every Mapping ID field is usable, then fires one event.

    The event is ``{"status": "success", "verdicts": ...}``, ``{"status": "error", "message": ...,
    "verdicts": ...}`` (a field waiting cannot fix, or a failed call), or ``{"status": "timeout",
    "message": ..., "verdicts": ...}``; verdicts are ``{mapping_id: FieldVerdict.to_dict()}``.

    :param sfcrm_conn_id: the Salesforce CRM connection; the trigger builds its own hook from it.
    :param sobject: the object (``Lead``, ``Contact``, any other).
    :param mapping_ids: the audiences' Mapping IDs.
    :param poke_interval: seconds between two checks.
    :param deadline: the epoch second (UTC) after which the trigger gives up; None waits forever.
    """

    def __init__(
        self,
        *,
        sfcrm_conn_id: str,
        sobject: str,
        mapping_ids: Sequence[str],
        poke_interval: float = 60.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.sfcrm_conn_id = sfcrm_conn_id
        self.sobject = sobject
        self.mapping_ids = list(mapping_ids)
        self.poke_interval = float(poke_interval)
        self.deadline = None if deadline is None else float(deadline)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sfcrm_conn_id": self.sfcrm_conn_id,
                "sobject": self.sobject,
                "mapping_ids": list(self.mapping_ids),
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
            },
        )

    def _check_once(self, hook: SalesforceCrmHook) -> dict[str, FieldVerdict]:
        verdicts = fetch_verdicts(hook, self.sobject, self.mapping_ids)
        raise_if_fatal(self.sobject, verdicts)
        return verdicts

    def _new_hook(self) -> SalesforceCrmHook:
        # Imported here so that a triggerer only loads simple-salesforce when the trigger runs.
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        return SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Exactly one event, whatever happens: the sensor resumes on it.
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        verdicts: dict[str, FieldVerdict] = {}
        try:
            # The hook reads its connection and talks HTTP synchronously: keep both off the event loop.
            hook = await asyncio.to_thread(self._new_hook)
            while True:
                verdicts = await asyncio.to_thread(self._check_once, hook)
                waiting = [v for v in verdicts.values() if not v.ok]
                if not waiting:
                    return {"status": "success", "verdicts": verdicts_as_dicts(verdicts)}
                self.log.info(
                    "Still waiting for %s on %s: %s",
                    plural(len(waiting), "audience field"),
                    self.sobject,
                    ", ".join(f"{v.field_name} ({v.status.value})" for v in waiting),
                )
                remaining = None if self.deadline is None else self.deadline - time.time()
                if remaining is not None and remaining <= 0:
                    return {
                        "status": "timeout",
                        "message": "timed out waiting for audience fields; "
                        + problems_message(self.sobject, verdicts),
                        "verdicts": verdicts_as_dicts(verdicts),
                    }
                await asyncio.sleep(
                    self.poke_interval if remaining is None else min(self.poke_interval, remaining)
                )
        except SfCrmFieldValidationError as exc:
            return {
                "status": "error",
                "message": str(exc),
                "verdicts": exc.verdicts or verdicts_as_dicts(verdicts),
            }
        except Exception as exc:
            # Hook errors never carry secrets (hook contract); the class name helps whoever reads the log.
            return {
                "status": "error",
                "message": f"{type(exc).__name__}: {exc}",
                "verdicts": verdicts_as_dicts(verdicts),
            }
