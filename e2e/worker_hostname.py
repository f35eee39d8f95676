"""``[core] hostname_callable`` of the e2e deployment: each Celery worker names itself.

Both workers run on one machine, so the real host name could not tell them apart; the name a worker
gives Airflow is what a task instance's ``hostname`` shows, and what the tests check.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("SFCRM_E2E_WORKER_NAME") or socket.getfqdn()
