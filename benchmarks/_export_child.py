"""Run one operator in a child process that does nothing else.

The child's peak RSS is then the task's own. Used by the export and extract benchmarks: the parent
writes a JSON config of operator arguments (and of the task context's datetimes, in ISO form), the
child (the same script with ``--child CONFIG``) runs the operator and prints one ``BENCH-RESULT`` line
with the summary and its peak RSS.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

_PREFIX = "BENCH-RESULT "
EXPORT = "airflow_provider_sfcrm.operators.segment_export.SalesforceSegmentExportOperator"


def run_operator(config_path: str) -> int:
    """The child's side: ``<operator>(**arguments).execute(context)``; prints the result line."""
    config = json.loads(Path(config_path).read_text())
    module, _, name = config["operator"].rpartition(".")
    operator = getattr(importlib.import_module(module), name)(**config["arguments"])
    context = {key: datetime.fromisoformat(value) for key, value in config["context"].items()}
    summary = operator.execute(context)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(_PREFIX + json.dumps({"summary": summary, "peak_rss_mb": peak_kb / 1024}), flush=True)
    return 0


def export_in_child(
    script: str,
    arguments: dict[str, Any],
    config_path: Path,
    *,
    operator: str = EXPORT,
    context: dict[str, datetime] | None = None,
) -> dict[str, Any] | None:
    """The parent's side: run ``script --child`` on ``arguments``; the result, or None (output shown).

    :param operator: the operator class's dotted path (default: the segment export's).
    :param context: the task context the operator runs with (datetimes only, e.g. the data interval).
    """
    context_json = {key: value.isoformat() for key, value in (context or {}).items()}
    config_path.write_text(
        json.dumps({"operator": operator, "arguments": arguments, "context": context_json})
    )
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, script, "--child", str(config_path)], capture_output=True, text=True, env=os.environ
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(_PREFIX)]
    if child.returncode or not lines:
        print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
        return None
    return {**json.loads(lines[-1][len(_PREFIX) :]), "elapsed_s": time.monotonic() - started}
