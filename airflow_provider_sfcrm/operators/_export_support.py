"""Argument parsing and output locations for the segment-export operator (kept apart to keep it short)."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmError
from airflow_provider_sfcrm.sources import resolve_filesystem

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", "none", ""}
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9._=-]+")


def as_bool(value: Any, name: str) -> bool:
    """A templated flag: a bool, or its rendering as text (``"{{ params.dry_run }}"`` → ``"True"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SfCrmConfigError(f"{name} must be true or false, not {value!r}")


def check_settings(
    *, batch_size: Any, max_workers: Any, chunk_rows: Any, max_rejected_ratio: Any, auto_assign: Any
) -> None:
    """Refuse, before anything is read, the numeric and auto-assign settings that cannot work."""
    from airflow_provider_sfcrm.activation.batching import auto_assign_header

    check_integer(batch_size, "batch_size", 1, 200)
    check_integer(max_workers, "max_workers", 1, None)
    check_integer(chunk_rows, "chunk_rows", 1, None)
    if not isinstance(max_rejected_ratio, (int, float)) or not 0.0 <= max_rejected_ratio <= 1.0:
        raise SfCrmConfigError(f"max_rejected_ratio must be within 0..1, not {max_rejected_ratio!r}")
    try:
        auto_assign_header(auto_assign)
    except ValueError as exc:
        raise SfCrmConfigError(str(exc)) from None


def refuse_overlap(segment: Any, rejected_path: str, setting: str = "rejected_rows_path") -> None:
    """Refuse an output path (``setting``) that is, or would join, the segment's input (a ``FileSegment``)."""
    overlap = segment.overlap(rejected_path)
    if overlap:
        raise SfCrmConfigError(
            f"{setting} {rejected_path!r} {overlap}: writing there would overwrite or join the input. "
            "Give another path (e.g. next to it, with a new name)"
        )


@contextlib.contextmanager
def our_errors(segment_path: str | None, rejected_path: str) -> Iterator[None]:
    """The core's and the reader's errors as ``SfCrm…`` errors naming the setting they concern."""
    from airflow_provider_sfcrm.activation.report import RejectedRowsError
    from airflow_provider_sfcrm.activation.segment import SegmentChangedError
    from airflow_provider_sfcrm.sources import SegmentReadError

    try:
        yield
    except SegmentReadError as exc:
        raise SfCrmConfigError(f"segment_path {segment_path or '(spooled query)'!r}: {exc}") from None
    except SegmentChangedError as exc:
        raise SfCrmError(f"segment_path {segment_path!r}: {exc}") from None
    except RejectedRowsError as exc:
        raise SfCrmError(f"rejected_rows_path {rejected_path!r}: {exc}") from None


def check_integer(value: Any, name: str, low: int, high: int | None) -> None:
    """Refuse anything but an integer within ``low..high`` (``high`` None: no upper bound)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise SfCrmConfigError(f"{name} must be an integer {span}, not {value!r}")


def as_mapping(value: Any, name: str) -> dict[str, str]:
    """A templated mapping: a dict, or a JSON object rendered as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise SfCrmConfigError(f"{name} must be a mapping (or a JSON object), not {value!r}") from exc
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SfCrmConfigError(f"{name} must map column names to names, got {value!r}")
    return dict(value)


def task_instance_of(context: Mapping[str, Any]) -> Any | None:
    """The context's task instance (``ti``, or ``task_instance``); None outside Airflow."""
    return context.get("ti") or context.get("task_instance")


def map_index_of(ti: Any | None) -> int:
    """The task instance's map index; -1 when it is not mapped, or there is no task instance."""
    map_index = getattr(ti, "map_index", -1) if ti is not None else -1
    return map_index if isinstance(map_index, int) and map_index >= 0 else -1


def default_rejected_rows_path(context: Mapping[str, Any], kind: str = "rejected") -> str:
    """``<AIRFLOW_HOME or tmp>/sfcrm/<kind>/<dag_id>/<run_id>/<task_id>[_<map_index>].parquet``."""
    ti = task_instance_of(context)

    def part(name: str, default: str) -> str:
        value = getattr(ti, name, None) if ti is not None else None
        return _UNSAFE_PATH_CHARS.sub("_", str(value if value not in (None, "") else default))

    task = part("task_id", "task")
    map_index = map_index_of(ti)
    if map_index >= 0:
        task += f"_{map_index}"
    home = os.environ.get("AIRFLOW_HOME") or tempfile.gettempdir()
    return str(Path(home, "sfcrm", kind, part("dag_id", "dag"), part("run_id", "manual"), f"{task}.parquet"))


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str | IO[bytes]]:
    """Where to write ``path``'s content so that it appears whole or not at all.

    Yields a hidden temporary sibling (``.<name>.<random>.tmp``: directory and glob readers skip
    it) — a local path, or for a URL a binary file on its object store — and renames it onto
    ``path`` when the block ends without error. On error the temporary file is removed and
    ``path`` keeps what it had; a killed process leaves at most the hidden temporary file.
    """
    if "://" in path and not path.startswith("file://"):
        fs, target = resolve_filesystem(path)
        temporary = posixpath.join(posixpath.dirname(target), f".{posixpath.basename(target)}.{_tag()}.tmp")
        try:
            with fs.open(temporary, "wb") as handle:
                yield handle
            fs.mv(temporary, target)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm(temporary)
            raise
        return
    local = Path(path[len("file://") :] if path.startswith("file://") else path).expanduser()
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SfCrmConfigError(f"rejected_rows_path {path!r}: cannot create its directory ({exc})") from None
    temporary = local.with_name(f".{local.name}.{_tag()}.tmp")
    try:
        yield str(temporary)
        os.replace(temporary, local)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _tag() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
