"""Every metric named in a Prometheus panel of the service dashboard is one the service's own
/metrics exposes, with samples, after a real end-to-end run (the app `serve --role all`
builds: stored state plus the consumer's IngestObserver)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import create_app

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"

# PromQL words that look like identifiers but are not metric names
KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
     "bool", "offset", "inf", "nan"}
)  # fmt: skip
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression: strings, label matchers, range/offset brackets
    and grouping label lists removed; function names are the identifiers before `(`."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s, flags=re.I)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", s):
        word, call = m.group(1), m.group(2)
        if call is None and word.lower() not in KEYWORDS:
            names.add(word)
    return names


def exposed(text: str) -> dict[str, int]:
    """Every series name the exposition can be queried by -> its number of samples.
    A counter family `x` is queried as `x_total`, a histogram's as `x_bucket|_sum|_count`."""
    out: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        names = [family.name] if family.type in ("gauge", "untyped", "unknown", "info") else []
        names += [family.name + s for s in SUFFIXES.get(family.type, ())]
        for name in names:
            out[name] = sum(1 for s in family.samples if s.name == name)
    return out


def test_the_extractor_finds_names_and_skips_the_rest() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, kind) (rate(foo_bucket{kind=~"a|b"}[$__rate_interval])))'
        " / on (kind) group_left max without (instance) (bar_total offset 5m) > 0 and time() - baz"
    )
    assert metric_names(expr) == {"foo_bucket", "bar_total", "baz"}


def test_counters_and_histograms_resolve_by_their_suffixes() -> None:
    text = (
        "# HELP a_things Things.\n# TYPE a_things counter\na_things_total 3.0\n"
        "# HELP b_seconds Time.\n# TYPE b_seconds histogram\n"
        'b_seconds_bucket{le="1.0"} 1.0\nb_seconds_bucket{le="+Inf"} 2.0\n'
        "b_seconds_count 2.0\nb_seconds_sum 1.5\n"
        "# HELP c_now Now.\n# TYPE c_now gauge\n"
    )
    got = exposed(text)
    assert got["a_things_total"] == 1 and "a_things" not in got
    assert got["b_seconds_bucket"] == 2 and got["b_seconds_count"] == 1
    assert "b_seconds" not in got and got["c_now"] == 0


@pytest.fixture(scope="module")
def exposition(seeded) -> str:
    engine, facts = seeded
    app = create_app(engine, facts.settings, ingest=facts.observer)
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def prom_exprs() -> list[tuple[str, str]]:
    doc = json.loads((DASHBOARDS / "service.json").read_text())
    out = []
    for panel in doc["panels"]:
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "monitor-prometheus", panel["title"]
            out.append((panel["title"], target["expr"]))
    return out


def test_every_panel_expression_names_only_exposed_metrics(exposition) -> None:
    series = exposed(exposition)
    exprs = prom_exprs()
    assert len(exprs) >= 14
    used: set[str] = set()
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, (title, expr)
        for name in names:
            assert name in series, f"panel {title!r} queries {name}, which /metrics never exposes"
            assert series[name] > 0, f"panel {title!r}: {name} is declared but has no samples"
        used |= names
    # the list: each of these is on the dashboard
    for needed in (
        "monitor_ingest_events_consumed_total",
        "monitor_ingest_events_rejected_total",
        "monitor_ingest_consumer_lag",
        "monitor_ingest_batch_duration_seconds_bucket",
        "monitor_runs_total",
        "monitor_run_duration_seconds_bucket",
        "monitor_alerts_firing",
        "monitor_notifications",
    ):
        assert needed in used, needed


def test_a_misspelt_metric_would_be_caught(exposition) -> None:
    series = exposed(exposition)
    for wrong in (
        "monitor_ingest_events_consumed",  # a counter queried without _total
        "monitor_run_duration_seconds",  # a histogram queried without a suffix
        "monitor_alerts_firing_total",  # a gauge queried as a counter
        "monitor_drift_detected",  # never emitted (the Evidently-example mistake)
    ):
        (name,) = metric_names(f"max(rate({wrong}[5m]))")
        assert name not in series


def test_every_panel_expression_parses_as_promql(tmp_path) -> None:
    """promtool (Debian package `prometheus`, as for tests/api) parses each expression as a
    recording rule; Grafana's $__rate_interval / $__range become a fixed range."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        pytest.fail("promtool is missing: apt-get install -y prometheus", pytrace=False)
    rules = [
        {"record": f"dashboard:expr_{i}", "expr": re.sub(r"\$__\w+", "5m", expr)}
        for i, (_, expr) in enumerate(prom_exprs())
    ]
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
