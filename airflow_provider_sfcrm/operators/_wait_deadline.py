"""When a deferred wait for Bulk API 2.0 jobs must end: the task's ``execution_timeout``.

Airflow enforces ``execution_timeout`` on each stretch a task runs in a worker, and a deferral only
when the operator passes a timeout to ``defer()``: without one, a job that never ends keeps its task
deferred forever. The Bulk operators give their trigger the moment the try's ``execution_timeout``
runs out, counted from the try's start (checks and spooling included, as a task that never defers
would count), so the trigger ends the wait then with an event that names the jobs; the task then
says what happened to them. The same timeout passed to ``defer()`` backs it up should no triggerer
run the trigger.
"""

from __future__ import annotations

import datetime as dt


def wait_deadline(execution_timeout: dt.timedelta | None, started_at: float) -> float | None:
    """The epoch second at which the wait ends: ``started_at`` plus ``execution_timeout``; None: never."""
    if execution_timeout is None:
        return None
    return started_at + execution_timeout.total_seconds()


def timed_out_note(execution_timeout: dt.timedelta | None) -> str:
    """The setting that ended a wait, for an error message."""
    if execution_timeout is None:
        return "the wait's deadline passed"
    return f"the task's execution_timeout ({execution_timeout}) ran out"
