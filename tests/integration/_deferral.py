"""Running a deferrable task as Airflow would, in one test process (not a test module): execute it; when
it defers, check that only plain values cross to the triggerer, run the trigger to its event and
resume the task with it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from airflow.sdk.exceptions import TaskDeferred


def run_deferrable(operator, context: dict[str, Any], deferrals: list[TaskDeferred] | None = None) -> Any:
    """Execute; when the task defers, run its trigger to its event and resume as Airflow would.

    :param deferrals: gets each deferral (trigger, method, kwargs), for tests that look at them.
    """
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        if deferrals is not None:
            deferrals.append(deferred)
        json.dumps(deferred.trigger.serialize()[1])  # only plain values cross to the triggerer
        json.dumps(deferred.kwargs)
        event = asyncio.run(first_event(deferred.trigger))
        return getattr(operator, deferred.method_name)(
            context, event=event.payload, **(deferred.kwargs or {})
        )


async def first_event(trigger):
    """The trigger's first event (it yields exactly one)."""
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")
