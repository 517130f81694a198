"""Static checks of docker-compose.yml: services, USHER_* variables, healthchecks, volumes.

No Docker engine is needed; ``docker compose config`` runs only where the compose plugin exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings

try:
    import yaml
except ImportError:  # PyYAML is not a declared dependency of the project
    yaml = None

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
POM = ROOT / "infra" / "kafka" / "pom.xml"

SERVICES = ("kafka", "postgres", "init", "upload", "parser", "merger", "messenger")
APP_SERVICES = ("upload", "parser", "merger", "messenger")
WORKERS = ("parser", "merger", "messenger")
REQUIRED_ENV = {
    "USHER_ADMIN_TOKEN": "test-admin-token",
    "USHER_SECRET_KEY": "a" * 43 + "=",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    if yaml is None:
        pytest.fail(
            "PyYAML is not installed in this environment, so docker-compose.yml cannot be "
            "parsed: add `pyyaml` to the [dev] extra of pyproject.toml (or `pip install pyyaml`)."
        )
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the ["KEY=value", ...] form
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _volumes(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of every volume of a service."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            result.append((parts[0], parts[1], read_only))
        else:
            result.append(
                (volume.get("source", ""), volume["target"], bool(volume.get("read_only")))
            )
    return result


def test_every_service_is_defined(compose: dict[str, Any]) -> None:
    missing = [name for name in SERVICES if name not in _services(compose)]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_usher_variables_are_settings_fields(compose: dict[str, Any]) -> None:
    known = {f"USHER_{name.upper()}" for name in Settings.model_fields}
    unknown = {
        f"{name}: {key}"
        for name, service in _services(compose).items()
        for key in _environment(service)
        if key.startswith("USHER_") and key not in known
    }
    assert not unknown, f"USHER_* variables that Settings does not read: {sorted(unknown)}"


def test_app_services_share_one_environment(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name in ("init", *APP_SERVICES):
        env = _environment(services[name])
        for key in ("USHER_DATABASE_URL", "USHER_KAFKA_BOOTSTRAP", "USHER_STORAGE_DIR"):
            assert key in env, f"{name} lacks {key}"
        assert env["USHER_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert "@postgres:5432/" in env["USHER_DATABASE_URL"], name


def test_kafka_image_matches_the_local_broker(compose: dict[str, Any]) -> None:
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", POM.read_text())
    assert match, f"no <kafka.version> in {POM}"
    ET.parse(POM)  # the pom is well-formed XML
    image = _services(compose)["kafka"]["image"]
    assert image == f"apache/kafka:{match.group(1)}"


def test_kafka_has_the_full_kraft_config(compose: dict[str, Any]) -> None:
    env = _environment(_services(compose)["kafka"])
    for key in (
        "KAFKA_NODE_ID",
        "KAFKA_PROCESS_ROLES",
        "KAFKA_LISTENERS",
        "KAFKA_ADVERTISED_LISTENERS",
        "KAFKA_CONTROLLER_LISTENER_NAMES",
        "KAFKA_CONTROLLER_QUORUM_VOTERS",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
        "CLUSTER_ID",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
        "KAFKA_LOG_DIRS",
    ):
        assert key in env, f"kafka lacks {key}"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "CLUSTER_ID: 22-char base64url"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = _services(compose)
    without = [
        name
        for name in SERVICES
        if name != "init" and not (services[name].get("healthcheck") or {}).get("test")
    ]
    assert not without, f"services without a healthcheck: {without}"


def test_healthchecks_probe_the_configured_ports(compose: dict[str, Any]) -> None:
    services = _services(compose)
    ports = {"upload": _environment(services["upload"])["USHER_HTTP_PORT"]}
    ports |= {name: _environment(services[name])["USHER_WORKER_WEB_PORT"] for name in WORKERS}
    for name, port in ports.items():
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/healthz" in probe, f"{name} healthcheck misses port {port}"


def test_app_services_wait_for_init(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name in APP_SERVICES:
        depends = services[name].get("depends_on") or {}
        assert depends.get("init", {}).get("condition") == "service_completed_successfully", name
    init_depends = services["init"]["depends_on"]
    for name in ("kafka", "postgres"):
        assert init_depends[name]["condition"] == "service_healthy"


def test_parser_reads_the_uploads_volume(compose: dict[str, Any]) -> None:
    services = _services(compose)
    pair = ("upload", "parser")
    storage = {name: _environment(services[name])["USHER_STORAGE_DIR"] for name in pair}
    mounts = {
        name: [(src, ro) for src, target, ro in _volumes(services[name]) if target == storage[name]]
        for name in pair
    }
    assert mounts["upload"], "upload has no volume at its USHER_STORAGE_DIR"
    assert mounts["parser"], "parser has no volume at its USHER_STORAGE_DIR"
    (upload_src, upload_ro), (parser_src, _) = mounts["upload"][0], mounts["parser"][0]
    assert upload_src == parser_src, "upload and parser must mount the same uploads volume"
    assert not upload_ro, "upload must be able to write the uploads volume"
    assert upload_src in (compose.get("volumes") or {}), "the uploads volume is not declared"


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def test_docker_compose_config_is_valid() -> None:
    if not _compose_available():
        pytest.skip("`docker compose` is not available on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    command = ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"]
    done = subprocess.run(
        command, cwd=ROOT, env=env | REQUIRED_ENV, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0, "compose must refuse to start without USHER_ADMIN_TOKEN"
