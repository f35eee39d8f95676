"""Start and stop an ``sfcrm-sandbox`` in a child process (tests, demo, benchmarks)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfcrm_sandbox.models.hosts import DEFAULT_MY_DOMAIN
from sfcrm_sandbox.recipes import SandboxState, salesforce_connection, sfcrm_connection

READY_PREFIX = "sfcrm-sandbox ready "
# Printed just before the ready line when the sandbox serves its HTTPS proxy (--proxy-port).
PROXY_PREFIX = "sfcrm-sandbox proxy "

# Credentials the sandbox accepts unless told otherwise (they protect nothing: the org is local).
DEFAULT_CREDENTIALS = {
    "username": "integration.user@sfcrm-sandbox.local",
    "password": "sandbox-password",
    "security_token": "SANDBOXTOKEN0001",
    "client_id": "sfcrm-sandbox-client-id",
    "client_secret": "sfcrm-sandbox-client-secret",
}


@dataclass
class RunningSandbox:
    """A sandbox process and what a client needs to reach it.

    ``proxy_url`` is its HTTPS proxy for Salesforce's hosts (``proxy_port=0``), None without one.
    """

    base_url: str
    ca_path: Path
    data_dir: Path
    process: subprocess.Popen
    credentials: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CREDENTIALS))
    output: list[str] = field(default_factory=list)
    #: The private key whose certificate the sandbox was started with (``--jwt-cert``), when known.
    jwt_key_path: Path | None = None
    proxy_url: str | None = None
    my_domain: str = DEFAULT_MY_DOMAIN

    @property
    def state(self) -> SandboxState:
        """What the recipes of :mod:`sfcrm_sandbox.recipes` are built from."""
        return SandboxState(
            base_url=self.base_url,
            ca_path=str(self.ca_path),
            proxy_url=self.proxy_url,
            my_domain=self.my_domain,
            credentials=dict(self.credentials),
            pid=self.process.pid,
        )

    @property
    def username(self) -> str:
        return self.credentials["username"]

    @property
    def password(self) -> str:
        return self.credentials["password"]

    @property
    def security_token(self) -> str:
        return self.credentials["security_token"]

    @property
    def client_id(self) -> str:
        return self.credentials["client_id"]

    @property
    def client_secret(self) -> str:
        return self.credentials["client_secret"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        context = ssl.create_default_context(cafile=str(self.ca_path))
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(self.base_url + path, method=method, data=data)
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stats(self) -> dict[str, Any]:
        """``GET /__sandbox/stats``: API calls (total and by route) and record counts."""
        return self._call("GET", "/__sandbox/stats")

    def calls_to(self, route_fragment: str) -> int:
        """API calls so far on the routes whose key (``"PATCH /composite/sobjects"``...) contains
        ``route_fragment``, case-insensitively (``"describe"``, ``"composite"``)."""
        fragment = route_fragment.lower()
        routes = self.stats()["api_calls_by_route"]
        return sum(int(count) for route, count in routes.items() if fragment in route.lower())

    def clock(self) -> dict[str, Any]:
        """``GET /__sandbox/clock``: ``{"now": "<ISO>Z", "frozen": bool}``."""
        return self._call("GET", "/__sandbox/clock")

    def set_clock(
        self, now: Any = None, *, advance_s: float | None = None, frozen: bool | None = None
    ) -> dict[str, Any]:
        """``POST /__sandbox/clock``: move the org's clock to ``now`` (a datetime or ISO text) and/or by
        ``advance_s`` seconds; ``frozen`` makes it stand still (True) or run (False)."""
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = now if isinstance(now, str) else now.isoformat()
        if advance_s is not None:
            body["advance_s"] = advance_s
        if frozen is not None:
            body["frozen"] = frozen
        return self._call("POST", "/__sandbox/clock", body)

    def reset_clock(self) -> dict[str, Any]:
        """``POST /__sandbox/clock {"reset": true}``: the org's clock is the wall clock again."""
        return self._call("POST", "/__sandbox/clock", {"reset": True})

    def reset(self) -> None:
        """``POST /__sandbox/reset``: empty the org's records (schema and custom fields stay)."""
        self._call("POST", "/__sandbox/reset")

    def events(self, name: str) -> list[dict[str, Any]]:
        """``GET /__sandbox/events/<name>``: the messages published to a platform event, in order."""
        return self._call("GET", f"/__sandbox/events/{name}")["events"]

    def set_duplicate_rules(self, **active: bool) -> list[dict[str, Any]]:
        """``POST /__sandbox/duplicate-rules``: switch rules on or off (``Lead=True, Contact=False``)."""
        return self._call("POST", "/__sandbox/duplicate-rules", active)["rules"]

    def connection_extra(self, **overrides: Any) -> dict[str, Any]:
        """The ``extra`` of an ``sfcrm`` Airflow connection that points at this sandbox."""
        return self.connection_dict(**overrides)["extra"]

    def connection_dict(self, **extra_overrides: Any) -> dict[str, Any]:
        """An ``sfcrm`` connection as the JSON form Airflow reads from ``AIRFLOW_CONN_<ID>``."""
        return sfcrm_connection(self.state, **extra_overrides)

    def salesforce_connection_dict(self, auth: str = "token") -> dict[str, Any]:
        """An official ``salesforce`` connection reaching this sandbox through its proxy.

        ``auth``: ``token`` (SOAP login), ``password`` or ``client-credentials`` (OAuth). The
        process using it also needs ``REQUESTS_CA_BUNDLE`` set to :attr:`ca_path`.
        """
        return salesforce_connection(self.state, auth)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(
    data_dir: str | os.PathLike,
    *,
    port: int = 0,
    faults: dict[str, Any] | None = None,
    startup_timeout: float = 30.0,
    python: str | os.PathLike = sys.executable,
    **options: Any,
) -> RunningSandbox:
    """Start ``sfcrm-sandbox serve`` and wait for its ready line.

    ``options`` are the command-line options with underscores (``latency_ms=100``,
    ``daily_api_limit=500``, ``username="u"``...); a list repeats its option
    (``platform_event=["A__e:X__c", "B__e:Y__c"]``), True gives a flag alone (``duplicate_rules=True``)
    and False leaves it out. ``faults`` is written to
    ``data_dir/faults.json`` and passed as ``--faults``. ``python`` is the interpreter that runs
    it (another virtual environment's, say); by default this one.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = dict(DEFAULT_CREDENTIALS)
    args = [
        str(python),
        "-m",
        "sfcrm_sandbox",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    for key in DEFAULT_CREDENTIALS:
        credentials[key] = str(options.pop(key, credentials[key]))
        args += [f"--{key.replace('_', '-')}", credentials[key]]
    if faults is not None:
        faults_path = data_dir / "faults.json"
        faults_path.write_text(json.dumps(faults))
        args += ["--faults", str(faults_path)]
    for key, value in options.items():
        flag = f"--{key.replace('_', '-')}"
        if isinstance(value, bool):
            args += [flag] if value else []
        elif isinstance(value, (list, tuple)):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]

    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True
    )
    output: list[str] = []
    ready: list[str] = []
    proxy: list[str] = []
    got_ready = threading.Event()

    def pump() -> None:
        # Keep reading so the child never blocks on a full pipe; remember the tail for errors.
        assert process.stdout is not None
        for line in process.stdout:
            if not proxy and line.startswith(PROXY_PREFIX):
                proxy.append(line[len(PROXY_PREFIX) :].strip())
            if not ready and line.startswith(READY_PREFIX):
                ready.append(line.strip())
                got_ready.set()
            output.append(line.rstrip("\n"))
            del output[:-200]
        got_ready.set()

    threading.Thread(target=pump, name="sfcrm-sandbox-output", daemon=True).start()
    if not got_ready.wait(startup_timeout) or not ready:
        process.kill()
        raise RuntimeError("sfcrm-sandbox did not start:\n" + "\n".join(output[-40:]))
    base_url, _, ca = ready[0][len(READY_PREFIX) :].partition(" ca=")
    return RunningSandbox(
        base_url=base_url,
        ca_path=Path(ca),
        data_dir=data_dir,
        process=process,
        credentials=credentials,
        output=output,
        proxy_url=proxy[0] if proxy else None,
        my_domain=str(options.get("my_domain", DEFAULT_MY_DOMAIN)),
    )
