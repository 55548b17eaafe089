"""deploy/compose.yaml against the vendored compose-spec JSON schema (no container engine runs
here), plus what a schema cannot see: dependencies wait for health, mounted files exist, the
service config it mounts is valid for the service."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from monitor.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((DEPLOY / "compose-spec.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator, doc) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_matches_the_compose_spec_schema(validator, compose) -> None:
    assert errors(validator, compose) == []


def test_the_schema_check_catches_mistakes(validator, compose) -> None:
    typo = copy.deepcopy(compose)
    typo["services"]["kafka"]["helthcheck"] = typo["services"]["kafka"].pop("healthcheck")
    assert errors(validator, typo)
    wrong = copy.deepcopy(compose)
    wrong["services"]["grafana"]["depends_on"]["postgres"] = {"condtion": "service_healthy"}
    assert errors(validator, wrong)


def test_services_wait_for_healthy_dependencies(compose) -> None:
    services = compose["services"]
    assert {"kafka", "postgres", "monitor", "grafana", "prometheus", "producer"} <= set(services)
    for name, svc in services.items():
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in services, (name, dep)
            condition = cond["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"
            else:
                assert condition == "service_completed_successfully", (name, dep)
                assert services[dep].get("restart") == "no", dep
    long_running = [n for n, s in services.items() if s.get("restart") != "no"]
    for name in long_running:
        assert "healthcheck" in services[name], name


def test_the_stack_is_what_the_issue_asks_for(compose) -> None:
    s = compose["services"]
    assert s["kafka"]["image"].startswith("apache/kafka:")
    assert s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert s["postgres"]["image"].startswith("postgres:")
    assert s["monitor"]["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert (ROOT / "Dockerfile").exists()
    assert s["monitor"]["command"][0] == "serve" and s["monitor"]["command"][-2:] == [
        "--role",
        "all",
    ]
    assert s["producer"]["profiles"] == ["sample"]
    assert s["producer"]["command"][0] == "produce-sample"
    prom = s["prometheus"]
    assert (
        "../config/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom["volumes"]
    )
    assert "../config/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in prom["volumes"]
    shipped = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())
    targets = shipped["scrape_configs"][0]["static_configs"][0]["targets"]
    aliases = s["monitor"]["networks"]["default"]["aliases"]
    assert any(t.split(":")[0] in aliases for t in targets)
    token_file = shipped["scrape_configs"][0]["authorization"]["credentials_file"]
    assert token_file in prom["command"][0]
    for published in (s["grafana"], prom, s["monitor"]):
        assert all(p.startswith("127.0.0.1:") for p in published["ports"])


def test_bind_mounts_name_files_of_the_repository(compose) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).resolve().exists(), (name, source)


def test_secrets_come_from_the_environment(compose) -> None:
    secret = re.compile(r"PASSWORD|TOKEN|SECRET")
    seen = 0
    for svc in compose["services"].values():
        env = svc.get("environment", {})
        for key, value in env.items():
            if secret.search(key):
                seen += 1
                assert str(value).startswith("${"), key  # interpolated, never a literal
    assert seen >= 6
    text = (DEPLOY / "compose.yaml").read_text()
    for var in ("MONITOR_DB_PASSWORD", "MONITOR_READ_TOKEN", "GRAFANA_DB_PASSWORD"):
        assert f"${{{var}:?" in text, var  # required: compose refuses to start without it


def test_the_mounted_service_config_is_valid(compose) -> None:
    settings = load_settings(
        DEPLOY / "monitor.yaml",
        env={
            "MONITOR_DATABASE_URL": "postgresql+psycopg://monitor:pw@postgres:5432/monitor",
            "MONITOR_READ_TOKEN": "r" * 24,
        },
    )
    assert settings.kafka.bootstrap_servers == ["kafka:9092"]
    assert settings.api.host == "0.0.0.0" and settings.api.read_tokens
    assert [m.model for m in settings.monitors] == ["churn"]  # what produce-sample sends
    assert (
        "./monitor.yaml:/etc/monitor/monitor.yaml:ro" in compose["services"]["monitor"]["volumes"]
    )
