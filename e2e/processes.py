"""Child processes of the e2e harness: each in its own process group, output to a log file, always stopped.

Every process the harness starts goes through :func:`start`, so that :func:`stop_all` (run at the end,
on failure and on Ctrl-C) can end each one's whole group — Airflow components fork task runners and
Celery pool processes that must not outlive the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_running: list[ManagedProcess] = []


def _die_with_parent() -> None:
    """In the child, before exec: own process group, and SIGKILL if the harness itself dies."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ManagedProcess:
    """A started child: its name, its ``subprocess.Popen`` and the file its output goes to."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the component and everything it forked)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group, wait, then SIGKILL whatever is left of it."""
        if self.alive():
            self.kill_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Children of the group (pool processes, task runners) may outlive the leader: end them too.
        self.kill_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self in _running:
            _running.remove(self)


def start(
    name: str, args: Sequence[str], *, env: Mapping[str, str], log_dir: Path, cwd: Path | None = None
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            preexec_fn=_die_with_parent,
        )
    process = ManagedProcess(name, popen, log_path)
    _running.append(process)
    return process


def run(
    name: str, args: Sequence[str], *, env: Mapping[str, str], log_dir: Path, timeout: float = 600
) -> str:
    """Run a command to completion (its own process group too); raise with its output on failure."""
    process = start(name, args, env=env, log_dir=log_dir)
    try:
        code = process.popen.wait(timeout=timeout)
    finally:
        process.stop()
    output = process.log_path.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"`{' '.join(args)}` exited {code}:\n{output[-4000:]}")
    return output


def stop_all() -> None:
    """Stop every process still running, newest first."""
    for process in reversed(list(_running)):
        process.stop(timeout=15)


def wait_until(predicate, *, timeout: float, interval: float = 1.0, what: str) -> object:
    """Poll ``predicate`` until it returns something truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
