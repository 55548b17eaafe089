"""The committed dashboard JSON is what the generator writes, and it points at the
provisioned datasources."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_committed_json_is_what_the_generator_writes(generator) -> None:
    rendered = generator.render()
    assert sorted(rendered) == ["drift.json", "performance.json", "service.json"]
    for name, text in rendered.items():
        committed = (DASHBOARDS / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run .venv/bin/python dashboards/generate.py"
    assert generator.main(["--check"]) == 0


def test_check_mode_fails_on_a_stale_file(generator, tmp_path, monkeypatch) -> None:
    for name, text in generator.render().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(generator, "HERE", tmp_path)
    assert generator.main(["--check"]) == 0
    doc = json.loads((tmp_path / "drift.json").read_text())
    doc["title"] = "edited by hand"
    (tmp_path / "drift.json").write_text(json.dumps(doc))
    assert generator.main(["--check"]) == 1


def _datasource_uids() -> dict[str, str]:
    doc = yaml.safe_load((DASHBOARDS / "provisioning/datasources/monitor.yaml").read_text())
    return {d["uid"]: d["type"] for d in doc["datasources"]}


def test_every_panel_and_variable_uses_a_provisioned_datasource() -> None:
    provisioned = _datasource_uids()
    assert provisioned == {
        "monitor-postgres": "grafana-postgresql-datasource",
        "monitor-prometheus": "prometheus",
    }
    for name in ("drift.json", "performance.json", "service.json"):
        doc = json.loads((DASHBOARDS / name).read_text())
        refs = [p["datasource"] for p in doc["panels"]]
        refs += [t["datasource"] for p in doc["panels"] for t in p["targets"]]
        refs += [v["datasource"] for v in doc.get("templating", {}).get("list", [])]
        assert refs
        for ref in refs:
            assert provisioned.get(ref["uid"]) == ref["type"], (name, ref)
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids)), name


def test_file_provider_points_where_compose_mounts_the_json() -> None:
    doc = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/monitor.yaml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((DASHBOARDS.parent / "deploy/compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../dashboards:{provider['options']['path']}:ro" in mounts
