"""Retry bounds from the connection, backoff shape, and which lost requests count as never sent."""

from __future__ import annotations

import pytest
import requests
import urllib3

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.hooks._transport import RetryPolicy, _never_sent


def test_retry_policy_defaults_and_extra_overrides():
    assert RetryPolicy.from_extra({}) == RetryPolicy()
    policy = RetryPolicy.from_extra(
        {"max_attempts": "3", "backoff_initial_s": 0.2, "security_token": "x", "ca_bundle": ""}
    )
    assert (policy.max_attempts, policy.backoff_initial_s) == (3, 0.2)
    assert isinstance(policy.max_attempts, int)


def test_retry_policy_names_a_bad_extra():
    with pytest.raises(SfCrmConfigError, match="max_attempts"):
        RetryPolicy.from_extra({"max_attempts": "many"})


def test_backoff_grows_with_jitter_and_stays_bounded():
    wait = RetryPolicy(backoff_initial_s=0.5, backoff_max_s=4.0).backoff()

    class State:
        attempt_number = 1

    waits = []
    for attempt in range(1, 9):
        State.attempt_number = attempt
        waits.append(wait(State))
    assert 0.5 <= waits[0] <= 1.0
    assert all(0.5 <= w <= 4.5 for w in waits)
    assert waits[-1] >= 4.0


def _connection_error(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


@pytest.mark.parametrize(
    ("exc", "never_sent"),
    [
        (requests.ConnectTimeout("connect timed out"), True),
        (_connection_error(urllib3.exceptions.NewConnectionError(None, "refused")), True),
        (requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.")), False),
        (requests.ReadTimeout("read timed out"), False),
        (requests.exceptions.ChunkedEncodingError("broken"), False),
    ],
)
def test_only_failed_connects_count_as_never_sent(exc, never_sent):
    assert _never_sent(exc) is never_sent
