"""The copy of a Bulk API 2.0 spool where every worker reaches it: on a local ``file://`` location and
on fsspec's in-memory store, through their real filesystems."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.operators._bulk_spool_mirror import MIRROR_ID, SpoolMirror, spool_mirror

SUFFIX = ("dag", "run_1", "export")


def _spool(directory: Path) -> dict[str, bytes]:
    """A complete spool as the spool code leaves it (a section, a temporary file a crash left)."""
    files = {
        "part-0.csv": b"Id,LastName\n003000000000001,A\n",
        "hashes-0.npy": b"\x93NUMPY fake",
        "upsert/part-0.csv": b"Ext_Id__c,LastName\nx-1,B\n",
        "client-rejected.parquet": b"PAR1",
        "manifest.json": b'{"header": ["Id"], "part_rows": [1], "counts": {}}',
    }
    for rel, data in files.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_bytes(data)
    (directory / ".jobs.json.123.tmp").write_text("{half")
    return files


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MIRROR_ID
    }


@pytest.fixture(params=["file", "memory"])
def base(request, tmp_path) -> str:
    if request.param == "file":
        return (tmp_path / "shared").as_uri()
    return f"memory://sfcrm-{uuid.uuid4().hex[:8]}/spools"


def _remote_tree(mirror: SpoolMirror) -> dict[str, bytes]:
    return {
        path[len(mirror.root) + 1 :]: mirror.fs.cat_file(path)
        for path in mirror.fs.find(mirror.root)
        if not path.endswith(MIRROR_ID)
    }


def test_publish_copies_every_file_and_the_manifest_last(base, tmp_path, monkeypatch):
    local = tmp_path / "local"
    files = _spool(local)
    mirror = SpoolMirror(base, SUFFIX)
    order = []
    put, move = mirror.fs.put_file, mirror.fs.mv
    # Where each file lands: the upload's target, or for a small JSON the name it is moved to.
    monkeypatch.setattr(
        mirror.fs, "put_file", lambda src, dst, **kw: (order.append(dst), put(src, dst, **kw))
    )
    monkeypatch.setattr(mirror.fs, "mv", lambda src, dst, **kw: (order.append(dst), move(src, dst, **kw)))

    mirror.publish(local)

    assert order[-1] == f"{mirror.root}/manifest.json" and len(order) == len(files) + 1  # + mirror.json
    assert _remote_tree(mirror) == files  # the crash's temporary file stays behind
    assert mirror.root.endswith("/dag/run_1/export")
    # This local directory is now the published copy: publishing again copies nothing.
    (local / "part-0.csv").write_bytes(b"changed")
    mirror.publish(local)
    assert _remote_tree(mirror)["part-0.csv"] == files["part-0.csv"]


def test_an_unfinished_publication_leaves_no_manifest_and_the_next_one_replaces_it(
    base, tmp_path, monkeypatch
):
    local = tmp_path / "local"
    files = _spool(local)
    mirror = SpoolMirror(base, SUFFIX)
    mirror.fs.makedirs(f"{mirror.root}/leftover", exist_ok=True)
    mirror.fs.pipe_file(f"{mirror.root}/leftover/part-9.csv", b"of an abandoned spool")
    real, calls = mirror.fs.put_file, []

    def dies_at_the_third(src, dst, **kwargs):
        calls.append(dst)
        if len(calls) == 3:
            raise ConnectionError("connection reset by peer")
        return real(src, dst, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(mirror.fs, "put_file", dies_at_the_third)
        with pytest.raises(SfCrmConfigError, match=r"cannot write .*\(ConnectionError: connection reset"):
            mirror.publish(local)
    assert not mirror.fs.exists(f"{mirror.root}/manifest.json")
    assert not mirror.fs.exists(f"{mirror.root}/leftover/part-9.csv")
    assert not (local / MIRROR_ID).exists()

    mirror.publish(local)
    assert _remote_tree(mirror) == files


def test_a_worker_without_the_spool_restores_it_and_logs_from_where(base, tmp_path):
    files = _spool(tmp_path / "worker-a")
    SpoolMirror(base, SUFFIX).publish(tmp_path / "worker-a")
    elsewhere = tmp_path / "worker-b" / "dag" / "run_1" / "export"
    logged = []

    SpoolMirror(base, SUFFIX).prepare(elsewhere, lambda *args: logged.append(args[0] % args[1:]))

    assert _tree(elsewhere) == files
    assert json.loads((elsewhere / MIRROR_ID).read_text()) == json.loads(
        (tmp_path / "worker-a" / MIRROR_ID).read_text()
    )
    assert logged == [
        f"Restored the Bulk API 2.0 spool from {base}/dag/run_1/export (bulk_spool_path) into {elsewhere}"
    ]


def test_jobs_json_is_written_to_the_copy_and_the_copy_wins(base, tmp_path):
    here, there = tmp_path / "a", tmp_path / "b"
    _spool(here)
    mirror = SpoolMirror(base, SUFFIX, mutable=("jobs.json",))
    mirror.publish(here)
    mirror.prepare(there, lambda *a: None)

    (there / "jobs.json").write_text('{"parts": [{"job_id": "750B", "uploaded": true}]}')
    mirror.save(there, "jobs.json")
    assert json.loads(mirror.fs.cat_file(f"{mirror.root}/jobs.json")) == {
        "parts": [{"job_id": "750B", "uploaded": True}]
    }
    # Back on the first worker, whose copy is the same publication: its data stays, jobs.json is
    # the one written since elsewhere.
    (here / "part-0.csv").write_bytes(b"the local file is used as it is")
    mirror.prepare(here, lambda *a: pytest.fail("nothing is restored"))
    assert json.loads((here / "jobs.json").read_text())["parts"][0]["job_id"] == "750B"
    assert (here / "part-0.csv").read_bytes() == b"the local file is used as it is"


def test_a_jobs_json_that_never_reached_the_copy_is_dropped(base, tmp_path):
    local = tmp_path / "local"
    _spool(local)
    mirror = SpoolMirror(base, SUFFIX, mutable=("jobs.json",))
    mirror.publish(local)
    (local / "jobs.json").write_text('{"parts": [{"job_id": "750C", "uploaded": false}]}')  # then died

    mirror.prepare(local, lambda *a: None)

    assert not (local / "jobs.json").exists()


def test_a_write_of_jobs_json_is_whole_or_not_at_all(base, tmp_path, monkeypatch):
    local = tmp_path / "local"
    _spool(local)
    mirror = SpoolMirror(base, SUFFIX, mutable=("jobs.json",))
    mirror.publish(local)
    (local / "jobs.json").write_text('{"parts": []}')
    mirror.save(local, "jobs.json")
    (local / "jobs.json").write_text('{"parts": [{"job_id": "750D", "uploaded": false}]}')
    with monkeypatch.context() as patched:  # the data is written, moving it in place fails
        patched.setattr(mirror.fs, "mv", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("reset")))
        with pytest.raises(SfCrmConfigError, match="cannot write"):
            mirror.save(local, "jobs.json")
    assert mirror.fs.cat_file(f"{mirror.root}/jobs.json") == b'{"parts": []}'
    assert [p for p in mirror.fs.find(mirror.root) if p.rsplit("/", 1)[-1].startswith(".")] == []


def test_a_local_copy_of_another_publication_is_replaced(base, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _spool(old)
    mirror = SpoolMirror(base, SUFFIX)
    mirror.publish(old)
    mirror.remove()
    files = _spool(new)
    (new / "part-0.csv").write_bytes(b"Id,LastName\n003000000000001,Changed\n")
    mirror.publish(new)

    mirror.prepare(old, lambda *a: None)

    assert _tree(old) == {**files, "part-0.csv": b"Id,LastName\n003000000000001,Changed\n"}


def test_a_published_copy_whose_remote_copy_was_removed_is_stale(base, tmp_path):
    local = tmp_path / "local"
    _spool(local)
    mirror = SpoolMirror(base, SUFFIX)
    mirror.publish(local)
    mirror.remove()  # a try concluded on another worker
    logged = []

    mirror.prepare(local, lambda *args: logged.append(args[0] % args[1:]))

    assert not local.exists()
    assert "stale" in logged[0]


def test_a_spool_never_published_is_kept_to_be_published(base, tmp_path):
    local = tmp_path / "local"
    files = _spool(local)
    mirror = SpoolMirror(base, SUFFIX)
    mirror.prepare(local, lambda *a: pytest.fail("nothing to restore or remove"))
    assert _tree(local) == {**files, ".jobs.json.123.tmp": b"{half"}
    assert not mirror.fs.exists(f"{mirror.root}/manifest.json")  # published once the task says so


def test_a_location_checked_but_never_published_to_keeps_nothing(base, tmp_path):
    # A run api="auto" sends over REST is checked, then never publishes: nothing stays at the location.
    local = tmp_path / "local"
    mirror = SpoolMirror(base, SUFFIX)
    mirror.prepare(local, lambda *a: pytest.fail("nothing to restore or remove"))
    assert not mirror.fs.exists(mirror.root)
    if base.startswith("file://"):  # real directories: not even the DAG's and the run's
        assert not any(Path(mirror.root).parents[2].iterdir())


def test_removing_the_last_copy_of_a_run_prunes_its_empty_directories(tmp_path):
    base = tmp_path / "shared"
    _spool(tmp_path / "one")
    _spool(tmp_path / "two")
    mine, other = SpoolMirror(base.as_uri(), SUFFIX), SpoolMirror(base.as_uri(), ("dag", "run_2", "export"))
    mine.publish(tmp_path / "one")
    other.publish(tmp_path / "two")

    mine.remove()
    assert [p.name for p in (base / "dag").iterdir()] == ["run_2"]  # run_1 went; the DAG holds run_2
    other.remove()
    assert base.is_dir() and not any(base.iterdir())  # the location itself stays


def test_remove_takes_only_this_tasks_copy(base, tmp_path):
    _spool(tmp_path / "one")
    _spool(tmp_path / "two")
    mine, other = SpoolMirror(base, SUFFIX), SpoolMirror(base, ("dag", "run_1", "export_1"))
    mine.publish(tmp_path / "one")
    other.publish(tmp_path / "two")

    mine.remove()
    mine.remove()  # nothing left: no error

    assert not mine.fs.exists(mine.root)
    assert mine.fs.exists(f"{other.root}/manifest.json")


def test_an_unwritable_location_is_an_error_naming_the_setting_without_its_secrets(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the location should be")
    _spool(tmp_path / "local")
    mirror = SpoolMirror(f"{blocker.as_uri()}/spools?token=s3cr3t", SUFFIX)

    with pytest.raises(SfCrmConfigError, match="cannot write"):  # found before anything is spooled
        mirror.prepare(tmp_path / "elsewhere", lambda *a: None)
    with pytest.raises(SfCrmConfigError) as error:
        mirror.publish(tmp_path / "local")

    message = str(error.value)
    assert message.startswith(f"bulk_spool_path '{blocker.as_uri()}/spools/dag/run_1/export?token=***'")
    assert "cannot write" in message and "s3cr3t" not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_a_location_no_filesystem_knows_is_an_error_naming_the_setting():
    with pytest.raises(SfCrmConfigError, match=r"^bulk_spool_path 'nosuch://me:\*\*\*@host/x/dag/"):
        SpoolMirror("nosuch://me:pa55word@host/x", SUFFIX)


def test_the_location_is_the_argument_else_the_configuration_else_none(tmp_path, monkeypatch):
    directory = tmp_path / "sfcrm" / "bulk" / "dag" / "run_1" / "export_3"
    monkeypatch.delenv("AIRFLOW__SFCRM__BULK_SPOOL_PATH", raising=False)
    assert spool_mirror(None, directory) is None
    assert spool_mirror("  ", directory) is None  # a template that rendered empty

    monkeypatch.setenv("AIRFLOW__SFCRM__BULK_SPOOL_PATH", "memory://configured/spools")
    configured = spool_mirror(None, directory)
    assert (configured.setting, configured.location) == (
        "[sfcrm] bulk_spool_path",
        "memory://configured/spools/dag/run_1/export_3",
    )
    given = spool_mirror(str(tmp_path / "given"), directory)
    assert (given.setting, given.root) == ("bulk_spool_path", str(tmp_path / "given/dag/run_1/export_3"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("shared/spools", "must be a URL .* or an absolute path that every worker reaches"),
        (42, "must be a URL or an absolute path, not 42"),
    ],
)
def test_a_location_that_cannot_work_is_refused(tmp_path, value, message):
    with pytest.raises(SfCrmConfigError, match=f"^bulk_spool_path {message}" if value == 42 else message):
        spool_mirror(value, tmp_path / "dag" / "run" / "task")
