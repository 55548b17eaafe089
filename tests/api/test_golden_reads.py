"""The exact JSON of the read side, pinned before its queries moved into storage (issue 13).

The API's monitors list and detail, a monitor's runs page, a run's detail, a feature's history,
and `monitor runs show --json` / `monitor runs export`, on the seeded database (api_support),
compared as text with the files in tests/golden/reads/ (key order included). What differs
between two seedings is normalised first: ids become their seeding position (`<run1>`), wall
clock times `<time>`, durations `<seconds>`, report links `<report_url>`, cursors `<cursor>`;
floats are compared at 10 significant digits. `MONITOR_UPDATE_GOLDEN=1` rewrites the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from api_support import XSS

from monitor.cli import main

API = "/api/v1"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "reads"
WALL_CLOCK = {"finished_at", "started_at", "heartbeat_at", "computed_at", "created_at"}
RUN_IDS = {"id", "run_id", "last_run_id"}


def normalise(doc: Any, runs: list[int], key: str = "") -> Any:
    if isinstance(doc, dict):
        return {k: normalise(v, runs, k) for k, v in doc.items()}
    if isinstance(doc, list):
        return [normalise(v, runs, key) for v in doc]
    if doc is None or isinstance(doc, bool):
        return doc
    if key in WALL_CLOCK:
        return "<time>"
    if key in ("duration_seconds", "duration_s"):
        return "<seconds>"
    if key == "report_url":
        return "<report_url>"
    if key == "next_cursor":
        return "<cursor>"
    if key == "reference_id":
        return "<reference>"
    if key in RUN_IDS and isinstance(doc, int):
        return f"<run{runs.index(doc) + 1}>" if doc in runs else "<other run>"
    if isinstance(doc, float):
        return float(f"{doc:.10g}")
    return doc


def check(name: str, doc: Any, runs: list[int]) -> None:
    text = json.dumps(normalise(doc, runs), indent=1, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("MONITOR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name}: the JSON differs from {path}"


def get(client: Any, read: dict[str, str], path: str, **params: Any) -> Any:
    r = client.get(API + path, headers=read, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_monitors_list_and_detail(client, read, facts):
    check("monitors", get(client, read, "/monitors"), facts.runs)
    check("monitor_mon", get(client, read, "/monitors/mon"), facts.runs)
    check("monitor_mon2", get(client, read, "/monitors/mon2"), facts.runs)


def test_runs_pages(client, read, facts):
    check("runs", get(client, read, "/monitors/mon/runs"), facts.runs)
    check("runs_page", get(client, read, "/monitors/mon/runs", limit=2), facts.runs)


def test_run_details(client, read, facts):
    for i, run_id in enumerate(facts.runs, 1):
        check(f"run{i}", get(client, read, f"/runs/{run_id}"), facts.runs)


def test_feature_histories(client, read, facts):
    for name, feature in (("x", "x"), ("xss", XSS), ("c", "c"), ("prediction", "__prediction__")):
        body = get(client, read, f"/monitors/mon/features/{quote(feature, safe='')}/history")
        check(f"history_{name}", body, facts.runs)
    body = get(client, read, "/monitors/mon/features/x/history", limit=2)
    check("history_x_limit2", body, facts.runs)


@pytest.fixture(scope="module")
def config(engine, facts, tmp_path_factory) -> str:
    doc = {
        "database": {"url": engine.url.render_as_string(hide_password=False)},
        "reports": {"enabled": False},
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(facts.settings.monitor("mon").reference),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
            }
        ],
    }
    path = tmp_path_factory.mktemp("golden-cli") / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_cli_runs_show_and_export_json(config, facts, capsys):
    for i, run_id in enumerate(facts.runs, 1):
        capsys.readouterr()
        assert main(["runs", "show", str(run_id), "--json", "--config", config]) == 0
        check(f"cli_show_run{i}", json.loads(capsys.readouterr().out), facts.runs)
    capsys.readouterr()
    assert main(["runs", "export", "--monitor", "mon", "--config", config]) == 0
    check("cli_export", json.loads(capsys.readouterr().out), facts.runs)
