"""The org's clock: what "now" is when a write stamps ``CreatedDate``, ``LastModifiedDate`` and
``SystemModstamp``, and what day relative date literals (``TODAY``) count from.

It runs with the wall clock unless told otherwise. Tests set it (``POST /__sandbox/clock``, or
``--clock`` / ``--frozen-clock`` on the command line) to put writes at exact instants — on an
interval boundary, or before a moment already extracted, as a late-committing transaction would —
and may freeze it so every write lands on the same second. The clock may be set backwards.
Salesforce keeps audit timestamps to the whole second (``2024-01-31T10:00:00.000+0000``), and so do
stamps read from this clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from sfcrm_sandbox.models.values import format_datetime


class ClockError(ValueError):
    """A clock setting the sandbox cannot take (answered 400)."""


def parse_moment(text: Any) -> dt.datetime:
    """An ISO 8601 instant (``Z`` or an offset; naive means UTC) as an aware UTC datetime."""
    if not isinstance(text, str) or not text.strip():
        raise ClockError(f"'now' must be an ISO 8601 date-time such as 2024-01-31T10:00:00Z, not {text!r}")
    value = text.strip()
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ClockError(
            f"'now' must be an ISO 8601 date-time such as 2024-01-31T10:00:00Z, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


class Clock:
    """A wall clock that can be moved and frozen.

    :param start: the instant the clock shows now (default: the wall clock's).
    :param frozen: stand still at ``start`` instead of running from it.
    """

    def __init__(self, start: dt.datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset_s = 0.0
        self._frozen_at: dt.datetime | None = None
        if start is not None or frozen:
            self.set(start or dt.datetime.now(dt.timezone.utc), frozen=frozen)

    def now(self) -> dt.datetime:
        """The org's current instant (aware, UTC)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return dt.datetime.fromtimestamp(time.time() + self._offset_s, dt.timezone.utc)

    def stamp(self) -> str:
        """Now as the org stores audit fields: whole seconds, ``YYYY-MM-DDTHH:MM:SS.000+0000``."""
        return format_datetime(self.now().replace(microsecond=0))

    def today(self) -> dt.date:
        return self.now().date()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, moment: dt.datetime, *, frozen: bool | None = None) -> None:
        """Show ``moment`` now; keep running from it unless ``frozen`` (None keeps the current mode)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        with self._lock:
            stay = self._frozen_at is not None if frozen is None else frozen
            if stay:
                self._frozen_at = moment
            else:
                self._frozen_at = None
                self._offset_s = moment.timestamp() - time.time()

    def reset(self) -> None:
        """Back to the wall clock, running."""
        with self._lock:
            self._frozen_at, self._offset_s = None, 0.0

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` (negative goes back), frozen or not."""
        self.set(self.now() + dt.timedelta(seconds=seconds))

    def configure(self, settings: Any) -> None:
        """Apply a ``/__sandbox/clock`` request body: ``now`` and/or ``advance_s``, optional ``frozen``;
        or ``{"reset": true}``: back to the wall clock."""
        if settings == {"reset": True}:
            self.reset()
            return
        if not isinstance(settings, dict) or not settings.keys() <= {"now", "advance_s", "frozen"}:
            raise ClockError(
                "the body must be a JSON object with 'now', 'advance_s' and/or 'frozen', or {\"reset\": true}"
            )
        frozen = settings.get("frozen")
        if frozen is not None and not isinstance(frozen, bool):
            raise ClockError(f"'frozen' must be true or false, not {frozen!r}")
        advance = settings.get("advance_s", 0)
        if isinstance(advance, bool) or not isinstance(advance, (int, float)):
            raise ClockError(f"'advance_s' must be a number of seconds, not {advance!r}")
        start = parse_moment(settings["now"]) if "now" in settings else self.now()
        self.set(start + dt.timedelta(seconds=advance), frozen=frozen)

    def state(self) -> dict[str, Any]:
        """``{"now": "...Z", "frozen": bool}`` (the answer of ``/__sandbox/clock``)."""
        now = self.now()
        return {"now": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "frozen": self.frozen}
