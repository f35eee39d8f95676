"""The Salesforce sandbox of one scenario, started through its command line (``sfcrm-sandbox serve``).

Only the command line, its ready line and the ``/__sandbox/*`` endpoints are used, never the
sandbox's Python modules: the harness depends on the sandbox as a user's deployment would.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from e2e import processes

READY_PREFIX = "sfcrm-sandbox ready "
CREDENTIALS = {
    "username": "integration.user@e2e.example.com",
    "password": "e2e-password",
    "security_token": "E2ETOKEN00000001",
    "client_id": "e2e-client-id",
    "client_secret": "e2e-client-secret",
}


def _command() -> str:
    found = shutil.which("sfcrm-sandbox", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("the sfcrm-sandbox command is not installed in this environment (make install)")
    return found


@dataclass
class Sandbox:
    """A running sandbox: where it listens, the CA its certificate chains to, and its process."""

    name: str
    data_dir: Path
    log_dir: Path
    env: Mapping[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    base_url: str = ""
    ca_path: Path | None = None
    process: processes.ManagedProcess | None = None
    starts: int = 0

    def start(self, **options: Any) -> Sandbox:
        """(Re)start on the same port and data dir — the org survives — with ``options`` (latency...)."""
        self.stop()
        self.options = options
        self.starts += 1
        args = [_command(), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        for key, value in {**CREDENTIALS, **options}.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        # One log per start, so that the ready line read is this start's.
        name = self.name if self.starts == 1 else f"{self.name}-{self.starts}"
        self.process = processes.start(name, args, env=self.env, log_dir=self.log_dir)
        line = processes.wait_until(self._ready_line, timeout=60, interval=0.2, what=f"{name} to start")
        self.base_url, _, ca = line[len(READY_PREFIX) :].partition(" ca=")
        self.ca_path = Path(ca)
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def _ready_line(self) -> str | None:
        assert self.process is not None
        for line in self.process.log_path.read_text(errors="replace").splitlines():
            if line.startswith(READY_PREFIX):
                return line.strip()
        if not self.process.alive():
            raise RuntimeError(f"{self.process.name} exited:\n{self.process.log_tail()}")
        return None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def stats(self) -> dict[str, Any]:
        """``GET /__sandbox/stats``: API calls, records per object, ``max_in_flight``..."""
        return requests.get(f"{self.base_url}/__sandbox/stats", verify=str(self.ca_path), timeout=30).json()

    def calls_to(self, route_fragment: str) -> int:
        """API calls so far on the routes whose key (``"PATCH /composite/sobjects"``...) contains
        ``route_fragment``, case-insensitively."""
        routes = self.stats()["api_calls_by_route"]
        return sum(int(n) for route, n in routes.items() if route_fragment.lower() in route.lower())

    def connection(self) -> dict[str, Any]:
        """The ``sfcrm`` Airflow connection that reaches this org (REST API body form)."""
        return {
            "conn_type": "sfcrm",
            "login": CREDENTIALS["username"],
            "password": CREDENTIALS["password"],
            "extra": json.dumps(
                {
                    "security_token": CREDENTIALS["security_token"],
                    "custom_domain": self.base_url,
                    "client_id": CREDENTIALS["client_id"],
                    "client_secret": CREDENTIALS["client_secret"],
                    "ca_bundle": str(self.ca_path),
                }
            ),
        }
