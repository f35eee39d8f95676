"""Injected faults (``--faults FILE.json``): seeded, so a serial client sees the same run every time.

Request-level draws come from one ``random.Random(seed)`` (three draws per authenticated request,
whatever the rates, so changing one rate does not shift the others' sequence); record locks come
from a second generator seeded from the same seed, one draw per record about to be written.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FaultSettings:
    """The ``--faults`` file; every key optional, rates are probabilities in [0, 1].

    :param seed: seed of the draws.
    :param http_503_rate: share of requests answered 503 SERVER_UNAVAILABLE (not processed).
    :param http_502_rate: share of requests answered 502 Bad Gateway (HTML body, not processed).
    :param drop_connection_rate: share of requests processed, then cut off before any response.
    :param slow_response_rate: share of responses delayed by ``slow_response_ms``.
    :param slow_response_ms: delay of a slow response.
    :param record_lock_rate: share of written records failing with UNABLE_TO_LOCK_ROW.
    :param expire_session_every: every Nth authenticated request invalidates its token (401).
    """

    seed: int = 0
    http_503_rate: float = 0.0
    http_502_rate: float = 0.0
    drop_connection_rate: float = 0.0
    slow_response_rate: float = 0.0
    slow_response_ms: int = 0
    record_lock_rate: float = 0.0
    expire_session_every: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s) {unknown}; known: {sorted(known)}")
        settings = cls(**data)
        for name in (
            "http_503_rate",
            "http_502_rate",
            "drop_connection_rate",
            "slow_response_rate",
            "record_lock_rate",
        ):
            value = getattr(settings, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"fault setting {name} must be a probability between 0 and 1, got {value!r}")
        if settings.http_503_rate + settings.http_502_rate > 1:
            raise ValueError("http_503_rate + http_502_rate must not exceed 1")
        for name in ("slow_response_ms", "expire_session_every"):
            if not isinstance(getattr(settings, name), int) or getattr(settings, name) < 0:
                raise ValueError(f"fault setting {name} must be a non-negative integer")
        return settings

    @classmethod
    def from_file(cls, path: str | Path | None) -> FaultSettings:
        if path is None:
            return cls()
        return cls.from_dict(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class RequestFaults:
    """What happens to one request."""

    status: int | None = None  # 503 or 502: answered without processing
    drop_connection: bool = False
    delay_ms: int = 0


class Faults:
    """Draws faults for requests and records, and counts what it injected."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._requests = random.Random(settings.seed)
        self._records = random.Random(f"records-{settings.seed}")
        self._authenticated = 0
        self.injected = {
            "http_503": 0,
            "http_502": 0,
            "dropped_connections": 0,
            "slow_responses": 0,
            "record_locks": 0,
            "expired_sessions": 0,
        }

    def expire_session_now(self) -> bool:
        """Counts an authenticated request; True when this one must expire its session."""
        self._authenticated += 1
        every = self.settings.expire_session_every
        if every and self._authenticated % every == 0:
            self.injected["expired_sessions"] += 1
            return True
        return False

    def for_request(self) -> RequestFaults:
        s = self.settings
        status_draw, drop_draw, slow_draw = (self._requests.random() for _ in range(3))
        status = None
        if status_draw < s.http_503_rate:
            status = 503
            self.injected["http_503"] += 1
        elif status_draw < s.http_503_rate + s.http_502_rate:
            status = 502
            self.injected["http_502"] += 1
        drop = status is None and drop_draw < s.drop_connection_rate
        if drop:
            self.injected["dropped_connections"] += 1
        delay = s.slow_response_ms if slow_draw < s.slow_response_rate else 0
        if delay:
            self.injected["slow_responses"] += 1
        return RequestFaults(status, drop, delay)

    def record_lock(self) -> bool:
        if self.settings.record_lock_rate and self._records.random() < self.settings.record_lock_rate:
            self.injected["record_locks"] += 1
            return True
        return False

    def summary(self) -> dict[str, Any]:
        return {"settings": asdict(self.settings), "injected": dict(self.injected)}
