"""Airflow's public REST API (``/api/v2``), as the harness uses it: as an operator drives a deployment."""

from __future__ import annotations

import time
from typing import Any

import requests

FINISHED = {"success", "failed"}


class AirflowApiError(RuntimeError):
    """A call to the REST API failed; the message carries the method, path, status and body."""


class AirflowApi:
    """A client of one api-server. The deployment runs Simple Auth Manager with every user an admin,
    so a token is had for the asking (``GET /auth/token``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self._token: str | None = None

    # --- plumbing ---------------------------------------------------------------------------------

    def _authorize(self) -> None:
        response = self.session.get(f"{self.base_url}/auth/token", timeout=30)
        response.raise_for_status()
        self._token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self._token}"

    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any) -> Any:
        if self._token is None:
            self._authorize()
        url = f"{self.base_url}/api/v2{path}"
        response = self.session.request(method, url, timeout=60, **kwargs)
        # An expired token (401), or one issued before the deployment restarted on a shifted clock
        # (403 "Invalid JWT token": issued in its future): take a new one, once.
        if response.status_code == 401 or (response.status_code == 403 and "JWT" in response.text):
            self._authorize()
            response = self.session.request(method, url, timeout=60, **kwargs)
        if response.status_code not in ok:
            raise AirflowApiError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        try:
            response = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
        except requests.RequestException:
            return {}
        return response.json() if response.status_code == 200 else {}

    def healthy(self) -> bool:
        return bool(self.health())

    # --- configuration objects ----------------------------------------------------------------------

    def put_connection(self, conn_id: str, body: dict[str, Any]) -> None:
        """Create or replace connection ``conn_id`` (as the UI's form would: stored in the metadata DB)."""
        full = {"connection_id": conn_id, "host": None, "port": None, "schema": None, **body}
        self.call("DELETE", f"/connections/{conn_id}", ok=(204, 404))
        self.call("POST", "/connections", json=full)

    def connection(self, conn_id: str) -> dict[str, Any]:
        return self.call("GET", f"/connections/{conn_id}")

    def patch_connection(self, conn_id: str, fields: dict[str, Any], conn_type: str) -> None:
        body = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        self.call("PATCH", f"/connections/{conn_id}", params={"update_mask": list(fields)}, json=body)

    def put_variable(self, key: str, value: str) -> None:
        self.call("DELETE", f"/variables/{key}", ok=(204, 404))
        self.call("POST", "/variables", json={"key": key, "value": value})

    def put_pool(self, name: str, slots: int) -> None:
        body = {"name": name, "slots": slots, "include_deferred": False}
        if self.call("GET", f"/pools/{name}", ok=(200, 404)).get("name") == name:
            self.call("PATCH", f"/pools/{name}", json=body)
        else:
            self.call("POST", "/pools", json=body)

    # --- DAGs and runs ------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.call("GET", f"/dags/{dag_id}", ok=(200, 404))
            if found and "dag_id" in found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAG {dag_id} was not parsed within {timeout:.0f}s")
            time.sleep(2)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, *, logical_date: str | None, conf: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "logical_date"})[
            "dag_runs"
        ]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})[
            "task_instances"
        ]

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """What *Mark as failed / success* does in the UI."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        self.call("PATCH", path, json={"new_state": state})

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log for one try, as the UI shows it (the triggerer's lines included)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.call("GET", path, params={"full_content": True}).get("content")
        if isinstance(content, list):
            return "\n".join(_log_line(line) for line in content)
        return str(content)

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        if map_index == -1:
            path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return self.call("GET", path)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path, params={"deserialize": True})["value"]

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float, expect: str = "success") -> dict:
        """Wait until the run finishes; fail with each task's state when it ends otherwise than ``expect``."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s; tasks: "
                    f"{self.task_states(dag_id, run_id)}"
                )
            time.sleep(2)
        if run["state"] != expect:
            raise AssertionError(
                f"{dag_id} {run_id} ended {run['state']}, expected {expect}; tasks: "
                f"{self.task_states(dag_id, run_id)}"
            )
        return run

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {
            ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): ti["state"]
            for ti in self.task_instances(dag_id, run_id)
        }


def _log_line(line: Any) -> str:
    """One structured log line as text: its event, and the error it carries, if any."""
    if not isinstance(line, dict):
        return str(line)
    text = str(line.get("event", ""))
    extra = {k: v for k, v in line.items() if k not in ("event", "timestamp", "level", "logger", "loc")}
    return f"{text} {extra}" if "error" in text or "exception" in text or "raised" in text else text
