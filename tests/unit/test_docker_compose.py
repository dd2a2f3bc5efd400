"""docker-compose.yml cannot be run here (no Docker engine): check its structure instead."""

from __future__ import annotations

import yaml

from helpers import ROOT


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_present() -> None:
    services = _compose()["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-worker", "redis", "airflow-db", "mariadb", "tbase", "kafka", "airflow-init", "sandbox-init"):
        assert name in services, name
    commands = {n: s.get("command") for n, s in services.items()}
    assert commands["airflow-apiserver"] == "api-server" and commands["airflow-worker"] == "celery worker"
    assert commands["airflow-dag-processor"] == "dag-processor" and commands["airflow-triggerer"] == "triggerer"
    assert "--backend" in commands["sandbox-init"] and "services" in commands["sandbox-init"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"   # KRaft


def test_dependencies_and_mounts_resolve() -> None:
    doc = _compose()
    services = doc["services"]
    for name, svc in services.items():
        for dep in (svc.get("depends_on") or {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for volume in svc.get("volumes") or []:
            src = volume.split(":")[0]
            if src.startswith("./"):
                assert (ROOT / src[2:]).exists(), f"{name} mounts missing {src}"
            else:
                assert src in doc["volumes"], f"{name} uses undeclared volume {src}"
    airflow = services["airflow-scheduler"]
    mounts = {v.split(":")[1] for v in airflow["volumes"]}
    assert {"/opt/syncverify/dags", "/opt/syncverify/checks", "/opt/syncverify/expectations",
            "/opt/syncverify/reports"} <= mounts
    assert airflow["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert (ROOT / "Dockerfile").read_text(encoding="utf-8").startswith("#")
