"""A copy of a Bulk API 2.0 spool directory where every worker reaches it (``bulk_spool_path``).

The task spools into a local directory and resumes — after deferring, or as a retry — on whichever
worker Airflow picks: on CeleryExecutor with several machines, or on KubernetesExecutor (a new pod,
an empty disk, for every try and resumption), that is rarely the disk that holds the spool. The
local directory stays the working copy (the spool code writes and reads local files, fast) and
:class:`SpoolMirror` keeps a copy of it on an object store or shared mount:

- :meth:`~SpoolMirror.publish` once the spool is complete: every file, ``manifest.json`` last (its
  presence means the copy is complete), then ``mirror.json`` locally (this directory is that copy);
- :meth:`~SpoolMirror.save` of a file that changes afterwards (``jobs.json``, each time it is
  written, before the task goes on: a retry elsewhere must know of a job before its data is
  uploaded to Salesforce), atomically where the store allows;
- :meth:`~SpoolMirror.prepare` before the spool is read: the remote copy is the authority. The
  local directory is replaced by it when it is not the copy it was published from, and takes its
  later files (``jobs.json``) otherwise; a local copy that was published but whose remote copy is
  gone (a try that concluded on another worker removed it) is stale and is removed;
- :meth:`~SpoolMirror.remove` when the task concludes.

The task removes its local directory when it defers (its resumption, on whichever worker, restores
it): so a worker's disk keeps no spool of a task that concluded elsewhere, except after a crash —
and such a copy is found stale by :meth:`~SpoolMirror.prepare`.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_sfcrm.activation.bulk_spool import MANIFEST
from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmError

SETTING = "bulk_spool_path"
CONFIG = ("sfcrm", "bulk_spool_path")
#: Local only once the remote copy is complete (and in that copy): which publication this copy is.
MIRROR_ID = "mirror.json"
_WRITE_CHECK = ".write-check"  # hidden: never part of a copy


def spool_mirror(value: Any, directory: Path, *, mutable: Sequence[str] = ()) -> SpoolMirror | None:
    """The mirror of ``directory`` under ``value`` (the operator's ``bulk_spool_path``) or, when that
    is empty, ``[sfcrm] bulk_spool_path``; None when neither is set (the spool stays local).

    The run-scoped end of ``directory`` (``<dag>/<run>/<task>[_<map>]``) is appended to the base.
    """
    setting = SETTING
    if value is None or (isinstance(value, str) and not value.strip()):
        from airflow.sdk import conf

        value, setting = conf.get(*CONFIG, fallback=None), "[{}] {}".format(*CONFIG)
        if value is None or not str(value).strip():
            return None
    if not isinstance(value, str):
        raise SfCrmConfigError(f"{setting} must be a URL or an absolute path, not {value!r}")
    base = value.strip()
    if "://" not in base and not Path(base).expanduser().is_absolute():
        raise SfCrmConfigError(
            f"{setting} {base!r} must be a URL (s3://…, gs://…, file:///…) or an absolute path that "
            "every worker reaches: a relative path means another directory on each worker"
        )
    return SpoolMirror(base, directory.parts[-3:], setting=setting, mutable=mutable)


class SpoolMirror:
    """The copy of one spool directory at ``<base>/<suffix>`` (see the module's docstring).

    :param base: a local path or any URL Airflow's ``ObjectStoragePath`` or fsspec knows; the
        credentials come from Airflow's object storage (connections), never from here.
    :param suffix: the run-scoped directories appended to ``base``.
    :param setting: the setting ``base`` came from, for messages.
    :param mutable: files written after the spool is complete (taken from the remote copy by
        :meth:`prepare`).
    """

    def __init__(
        self, base: str, suffix: Sequence[str], *, setting: str = SETTING, mutable: Sequence[str] = ()
    ):
        self.setting = setting
        self._secrets = _secrets_of(base)
        head, question, query = base.partition("?")
        self.location = self._scrubbed(head.rstrip("/") + "/" + "/".join(suffix) + question + query)
        self.mutable = tuple(mutable)
        from airflow_provider_sfcrm.sources import resolve_filesystem

        with self._reaching("open"):
            self.fs, root = resolve_filesystem(base)
        self.root = posixpath.join(root, *suffix)
        self.levels = len(suffix)

    def prepare(self, directory: Path, log: Callable[..., Any]) -> None:
        """Make the local copy agree with the remote one, which wins (see the module's docstring)."""
        with self._reaching("read"):
            self.fs.invalidate_cache(self.root)  # another worker may have written it since
            complete = self.fs.exists(self._remote(MANIFEST))
            remote_id = self._remote_id() if complete else None
        local_id = _local_id(directory)
        if complete and local_id is not None and local_id == remote_id and (directory / MANIFEST).is_file():
            self._take_mutable(directory)
        elif complete:
            self._download(directory)
            log(
                "Restored the Bulk API 2.0 spool from %s (%s) into %s", self.location, self.setting, directory
            )
        else:
            # A copy is to be published: find out now, not after spooling the whole segment, that
            # the location cannot be written.
            with self._reaching("write"):
                self._write(_WRITE_CHECK, b"")
                # The check file and the directories it made go: no copy is complete here, and a run
                # that ends up sending over REST (``api="auto"``) must leave nothing at the location.
                self._delete()
            if local_id is not None:
                shutil.rmtree(directory, ignore_errors=True)
                log(
                    "Removed the local copy of a Bulk API 2.0 spool %s no longer holds (a try concluded "
                    "on another worker): it is stale",
                    self.location,
                )

    def publish(self, directory: Path) -> None:
        """Copy the complete spool in ``directory`` (``manifest.json`` last); nothing when this local
        copy is already the remote one."""
        if _local_id(directory) is not None:
            return
        spool_id = {"spool": uuid.uuid4().hex}
        files = [rel for rel in _local_files(directory) if rel not in (MANIFEST, MIRROR_ID)]
        with self._reaching("write"):
            self._delete()  # what a publication that did not finish left
            for rel in files:
                self._makedirs(posixpath.dirname(self._remote(rel)))
                self.fs.put_file(str(directory / rel), self._remote(rel))
            self._write(MIRROR_ID, json.dumps(spool_id).encode())
            self._write(MANIFEST, (directory / MANIFEST).read_bytes())
        _write_local(directory / MIRROR_ID, json.dumps(spool_id).encode())

    def save(self, directory: Path, name: str) -> None:
        """Copy ``directory/name`` (written locally just now) to the remote copy, atomically."""
        with self._reaching("write"):
            self._write(name, (directory / name).read_bytes())

    def remove(self) -> None:
        """Remove the remote copy (the task concluded)."""
        with self._reaching("remove"):
            self._delete()

    def _remote(self, rel: str) -> str:
        return posixpath.join(self.root, rel)

    def _relative(self, path: str) -> str:
        """``path`` (as the store lists it) relative to the copy's root."""
        root = self.fs._strip_protocol(self.root).rstrip("/") + "/"
        path = self.fs._strip_protocol(path)
        if not path.startswith(root):  # pragma: no cover - a store listing outside what was asked
            raise ValueError(f"{path!r} is not inside {root!r}")
        return path[len(root) :]

    def _remote_id(self) -> str | None:
        with contextlib.suppress(FileNotFoundError):
            return json.loads(self.fs.cat_file(self._remote(MIRROR_ID))).get("spool")
        return None

    def _take_mutable(self, directory: Path) -> None:
        for name in self.mutable:
            with self._reaching("read"):
                try:
                    data = self.fs.cat_file(self._remote(name))
                except FileNotFoundError:
                    data = None
            if data is None:  # written here, but never reached the remote copy: it did not happen
                (directory / name).unlink(missing_ok=True)
            else:
                _write_local(directory / name, data)

    def _download(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        with self._reaching("read"):
            found = [rel for rel in map(self._relative, self.fs.find(self.root)) if not _hidden(rel)]
            for rel in sorted(found, key=lambda rel: rel == MANIFEST):  # the manifest last
                target = directory / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                self.fs.get_file(self._remote(rel), str(temporary))
                os.replace(temporary, target)

    def _write(self, rel: str, data: bytes) -> None:
        """Write whole or not at all where the store allows: a temporary sibling moved in place."""
        target = self._remote(rel)
        temporary = posixpath.join(
            posixpath.dirname(target), f".{posixpath.basename(target)}.{uuid.uuid4().hex[:8]}.tmp"
        )
        self._makedirs(posixpath.dirname(target))
        try:
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, target)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(temporary)
            raise

    def _makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def _delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.root, recursive=True)
        self._prune_parents()

    def _prune_parents(self) -> None:
        """Remove the run's and the DAG's directories once empty, on a filesystem that has directories
        (a shared mount would otherwise collect two empty ones per run; object stores have none)."""
        from fsspec.implementations.local import LocalFileSystem

        if not isinstance(self.fs, LocalFileSystem):
            return
        parent = Path(self.root)
        for _ in range(self.levels - 1):
            parent = parent.parent
            try:
                parent.rmdir()
            except OSError:  # not empty (another task's copy), or already gone
                return

    @contextlib.contextmanager
    def _reaching(self, doing: str) -> Iterator[None]:
        """The store's errors as one naming the setting; its text without the URL's secrets, unchained
        (a library's message or traceback may hold more than we know to scrub)."""
        try:
            yield
        except SfCrmError:
            raise
        except Exception as exc:
            raise SfCrmConfigError(
                f"{self.setting} {self.location!r}: cannot {doing} the Bulk API 2.0 spool's copy there "
                f"({type(exc).__name__}: {self._scrubbed(str(exc))}). It must be a location every worker "
                "can read and write, its credentials in an Airflow connection"
            ) from None

    def _scrubbed(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _secrets_of(url: str) -> list[str]:
    """The parts of a URL that may be secrets: a password in its user info, its query's values (those
    of 4 characters or more: ``versioning=1`` holds no secret, and every ``1`` would go from a message).

    A user name alone stays: in Airflow's object storage URLs it is the connection id
    (``s3://aws_default@bucket/…``).
    """
    secrets = []
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*?:([^/@]+)@", url)
    if match:
        secrets.append(match.group(1))
    if "?" in url:
        secrets += [
            value
            for _, _, value in (p.partition("=") for p in url.split("?", 1)[1].split("&"))
            if len(value) >= 4
        ]
    return sorted(set(secrets), key=len, reverse=True)


def _local_id(directory: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return json.loads((directory / MIRROR_ID).read_text()).get("spool")
    return None


def _local_files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and not _hidden(path.relative_to(directory).as_posix())
    )


def _hidden(rel: str) -> bool:
    """A temporary file (``.<name>.<tag>.tmp``) a crash left: never part of a copy."""
    return any(part.startswith(".") for part in rel.split("/"))


def _write_local(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
