"""Running a benchmark's task alone in a child process, so that the peak RSS measured is the task's."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_MARK = "BENCH-RESULT "


def report(summary: dict[str, Any]) -> None:
    """In the child: print the task's summary and this process's peak RSS for the parent to read."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(_MARK + json.dumps({"summary": summary, "peak_rss_mb": peak_kb / 1024}, default=str), flush=True)


def run_child(script: str | Path, config: Path) -> tuple[dict[str, Any] | None, float]:
    """Run ``script --child config``; return what it reported (None on failure, output shown) and seconds."""
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, str(script), "--child", str(config)], capture_output=True, text=True, env=os.environ
    )
    elapsed = time.monotonic() - started
    lines = [line for line in child.stdout.splitlines() if line.startswith(_MARK)]
    if child.returncode or not lines:
        print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
        return None, elapsed
    return json.loads(lines[-1][len(_MARK) :]), elapsed
