"""Airflow as in production, each component its own process, on PostgreSQL and Celery with Redis.

api-server, scheduler, DAG processor, triggerer and two Celery workers (``worker-a``, ``worker-b``)
share one configuration, given as ``AIRFLOW__*`` variables: the metadata database is a PostgreSQL
database of this run, the broker a Redis database of this run, every port is a free one. Each worker
reports its own host name to Airflow (``e2e.worker_hostname``), so a test can tell which worker ran
which task, and serves its logs on a port of its own.

The scheduler starts with ``[scheduler] use_job_schedule = False``: it runs manual runs and
backfills but creates no scheduled runs, so that unpausing a daily DAG for a triggered scenario does
not also start a run of today. :meth:`Deployment.restart` turns scheduling on for the scenario that
tests it, on a clock shifted by libfaketime (Debian package ``faketime``): the scheduler then sees
the next day's run as due without waiting for midnight.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from e2e import processes
from e2e.airflow_api import AirflowApi
from e2e.services import BrokerDatabase, PostgresDatabase

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"
WORKERS = ("worker-a", "worker-b")
WORKER_CONCURRENCY = 4
# Seconds without a task heartbeat before the scheduler declares the task's worker lost (default 300).
TASK_HEARTBEAT_TIMEOUT_S = 30
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


@dataclass
class Deployment:
    """The running Airflow components and what a test needs to reach them."""

    root: Path
    metadata_db: PostgresDatabase
    broker_db: BrokerDatabase
    api_port: int = field(default_factory=free_port)
    clock_offset_s: int = 0
    use_job_schedule: bool = False
    components: dict[str, processes.ManagedProcess] = field(default_factory=dict)
    _ports: dict[str, int] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def bulk_spool_copies(self) -> Path:
        """``[sfcrm] bulk_spool_path``: where a Bulk task's spool is copied for any worker to resume it."""
        return self.root / "bulk-spool"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def port(self, name: str) -> int:
        if name not in self._ports:
            self._ports[name] = free_port()
        return self._ports[name]

    # --- configuration ----------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        """The environment every Airflow process of this deployment shares."""
        if not hasattr(self, "_secrets"):
            self._secrets = {
                "fernet": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "jwt": secrets.token_urlsafe(32),
                "api": secrets.token_urlsafe(32),
            }
        keep = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PYTHONPATH": str(REPO),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__FERNET_KEY": self._secrets["fernet"],
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "e2e.worker_hostname.hostname",
                # A lost worker's task is retried after 5 s instead of the default 5 minutes.
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_db.sqlalchemy_url,
                "AIRFLOW__CELERY__BROKER_URL": self.broker_db.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.metadata_db.celery_result_backend,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__SECRET_KEY": self._secrets["api"],
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secrets["jwt"],
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT_S),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.use_job_schedule),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.port("triggerer-logs")),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.port("worker-logs")),
                "SFCRM_E2E_WORKER_NAME": "127.0.0.1",
                # As a deployment on several machines sets it (a URL, here of a local directory).
                "AIRFLOW__SFCRM__BULK_SPOOL_PATH": self.bulk_spool_copies.as_uri(),
            }
        )
        return env

    def component_env(self, worker: str | None = None) -> dict[str, str]:
        env = self.base_env()
        if worker is not None:
            env["SFCRM_E2E_WORKER_NAME"] = worker
            env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(self.port(f"{worker}-logs"))
        if self.clock_offset_s:
            env.update(clock_env(self.clock_offset_s))
        return env

    # --- lifecycle --------------------------------------------------------------------------------

    def migrate(self) -> None:
        processes.run("db-migrate", [_airflow(), "db", "migrate"], env=self.base_env(), log_dir=self.log_dir)

    def _commands(self) -> dict[str, tuple[list[str], str | None]]:
        airflow = _airflow()
        commands: dict[str, tuple[list[str], str | None]] = {
            "api-server": ([airflow, "api-server", "--port", str(self.api_port), "--workers", "1"], None),
            "scheduler": ([airflow, "scheduler"], None),
            "dag-processor": ([airflow, "dag-processor"], None),
            "triggerer": ([airflow, "triggerer"], None),
        }
        for worker in WORKERS:
            commands[worker] = (
                [airflow, "celery", "worker", "--celery-hostname", f"{worker}@%h", "--queues", "default"],
                worker,
            )
        return commands

    def start_component(self, name: str) -> processes.ManagedProcess:
        args, worker = self._commands()[name]
        self.components[name] = processes.start(
            name, args, env=self.component_env(worker), log_dir=self.log_dir, cwd=self.root
        )
        return self.components[name]

    def start(self) -> None:
        for name in self._commands():
            self.start_component(name)
        api = AirflowApi(self.base_url)
        processes.wait_until(api.healthy, timeout=180, interval=2, what="the api-server to answer")
        processes.wait_until(
            lambda: self._components_healthy(api),
            timeout=180,
            interval=2,
            what="scheduler, triggerer, DAG processor",
        )

    def _components_healthy(self, api: AirflowApi) -> bool:
        self.raise_if_dead()
        health = api.health()
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def raise_if_dead(self) -> None:
        dead = [p for p in self.components.values() if not p.alive()]
        if dead:
            tails = "\n\n".join(f"== {p.name} ({p.log_path})\n{p.log_tail()}" for p in dead)
            raise RuntimeError(f"component(s) exited: {[p.name for p in dead]}\n{tails}")

    def stop_component(self, name: str) -> None:
        process = self.components.pop(name, None)
        if process is not None:
            process.stop()

    def stop(self) -> None:
        for name in reversed(list(self.components)):
            self.stop_component(name)

    def restart(self, *, clock_offset_s: int, use_job_schedule: bool) -> None:
        """Stop every component and start them again on a clock shifted by ``clock_offset_s``."""
        self.stop()
        self.clock_offset_s = clock_offset_s
        self.use_job_schedule = use_job_schedule
        self.start()

    def log_tails(self, lines: int = 40) -> str:
        return "\n\n".join(
            f"== {p.name} ({p.log_path})\n{p.log_tail(lines)}" for p in self.components.values()
        )


def clock_env(offset_s: int) -> Mapping[str, str]:
    """Environment that shifts a process's clock by ``offset_s`` (libfaketime).

    The monotonic clock is shifted too: libfaketime 0.9.10 turns Python's ``time.sleep`` (an absolute
    ``clock_nanosleep`` on the monotonic clock) into EINVAL when it shifts only the wall clock.
    """
    if not LIBFAKETIME.exists():
        raise RuntimeError(f"{LIBFAKETIME} is missing: apt-get install faketime")
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"{offset_s:+d}",
        "FAKETIME_DONT_RESET": "1",
    }
