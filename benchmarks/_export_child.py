"""Run one SalesforceSegmentExportOperator in a child process that does nothing else.

The child's peak RSS is then the task's own. Used by the export benchmarks: the parent writes a
JSON config of operator arguments, the child (the same script with ``--child CONFIG``) runs the
operator and prints one ``BENCH-RESULT`` line with the summary and its peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_PREFIX = "BENCH-RESULT "


def run_operator(config_path: str) -> int:
    """The child's side: ``SalesforceSegmentExportOperator(**config)``; prints the result line."""
    from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator

    summary = SalesforceSegmentExportOperator(**json.loads(Path(config_path).read_text())).execute({})
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(_PREFIX + json.dumps({"summary": summary, "peak_rss_mb": peak_kb / 1024}), flush=True)
    return 0


def export_in_child(script: str, arguments: dict[str, Any], config_path: Path) -> dict[str, Any] | None:
    """The parent's side: run ``script --child`` on ``arguments``; the result, or None (output shown)."""
    config_path.write_text(json.dumps(arguments))
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, script, "--child", str(config_path)], capture_output=True, text=True, env=os.environ
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(_PREFIX)]
    if child.returncode or not lines:
        print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
        return None
    return {**json.loads(lines[-1][len(_PREFIX) :]), "elapsed_s": time.monotonic() - started}
