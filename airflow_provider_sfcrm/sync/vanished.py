"""The guard against a truncated segment: a sync that would exit too much of the audience is refused.

With a sync state the segment is the current membership: a person the state knows as a member who
is missing from the segment has vanished and is exited. A truncated or empty segment (a failed
partial export, a wrong partition, an empty query result) would so write ``exited`` on most of the
audience, where sales users and automation act on it. :func:`check_vanished` refuses such a run once
the plan is made, before anything is sent, spooled or recorded.

The share is ``exits / members`` of the run's shard, as the planner counts them from the state's
narrow columns (:meth:`~.plan.SyncPlanner.plan`):

* ``members``: the people of the shard the state knew, before the run, as members of at least one
  audience — or not known to be none (a ``realized`` status not yet turned ``existing``, a stale
  change);
* ``exits``: those of them missing from the segment who are to be sent an ``exited`` status.
  (People present in the segment who left an audience are ordinary changes, not counted; neither
  are the re-exits ``full_resync`` sends to people already exited.)

Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import math
from typing import Any

#: The operator's default: refuse a run that exits more than half of the audience the state knew.
DEFAULT_MAX_VANISHED_RATIO = 0.5
#: The guard applies only when more than this many people would be exited. In a small audience one
#: or two people leaving are a large share, and a handful of wrong exits is quickly repaired; a
#: truncated segment of an audience worth guarding exits far more than this.
VANISHED_FLOOR = 100
_NONE = {"none", "null", ""}


class VanishedGuardError(ValueError):
    """The run would exit more of the audience than ``max_vanished_ratio`` allows."""

    def __init__(self, exits: int, members: int, max_ratio: float):
        self.exits, self.members, self.max_ratio = exits, members, max_ratio
        super().__init__(
            f"{exits:,} of the {members:,} people the sync state knew as audience members "
            f"({exits / max(members, 1):.1%}) vanished from the segment and would be exited, more than "
            f"max_vanished_ratio {max_ratio:g} allows (the check applies above {VANISHED_FLOOR} exits). "
            "Nothing was sent or spooled and the sync state is unchanged. Check the segment: a "
            "truncated or empty file, a failed partial export, a wrong partition or query? If this run "
            "really removes that many people, run it again with a higher max_vanished_ratio, or None "
            "to disable the check"
        )


def checked_max_vanished_ratio(value: Any) -> float | None:
    """``max_vanished_ratio`` as a number within 0..1, or None (no check); templated values arrive as
    text (``"0.5"``, ``"None"``). Raises ``ValueError`` naming the setting."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        return None
    try:
        ratio = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        ratio = math.nan
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"max_vanished_ratio must be within 0..1, or None to disable it, not {value!r}")
    return ratio


def check_vanished(exits: int, members: int, max_ratio: float | None) -> None:
    """Refuse (:class:`VanishedGuardError`) when more than :data:`VANISHED_FLOOR` people would be
    exited and they are more than ``max_ratio`` of ``members``; None never refuses, nor does 1.0
    (the people exited are among the members)."""
    if max_ratio is None or exits <= VANISHED_FLOOR or exits <= max_ratio * members:
        return
    raise VanishedGuardError(exits, members, max_ratio)
