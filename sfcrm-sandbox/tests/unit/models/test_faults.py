"""Fault settings and their seeded draws."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.faults import Faults, FaultSettings


def test_fault_settings_validation():
    with pytest.raises(ValueError, match="unknown"):
        FaultSettings.from_dict({"http_504_rate": 0.1})
    with pytest.raises(ValueError, match="probability"):
        FaultSettings.from_dict({"record_lock_rate": 1.5})
    with pytest.raises(ValueError, match="exceed"):
        FaultSettings.from_dict({"http_503_rate": 0.6, "http_502_rate": 0.6})


def test_fault_draws_repeat_with_the_seed():
    settings = FaultSettings.from_dict(
        {"seed": 5, "http_503_rate": 0.3, "record_lock_rate": 0.3, "drop_connection_rate": 0.2}
    )

    def run(faults):
        return [faults.for_request() for _ in range(50)], [faults.record_lock() for _ in range(50)]

    first, second = run(Faults(settings)), run(Faults(settings))
    assert first == second
    assert any(r.status == 503 for r in first[0]) and any(first[1]) and not all(first[1])
