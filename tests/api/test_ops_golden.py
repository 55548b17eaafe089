"""Golden files of /metrics (metric names, types and label names; values vary), /healthz and
/readyz (issue 13: pinned before the metrics, health and app code moved)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from api_support import READ_TOKEN
from fastapi.testclient import TestClient
from golden.ops.golden import compare
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from monitor.api.prometheus import IngestObserver, build_registry
from monitor.app import create_app
from monitor.settings import parse_settings
from monitor.storage import make_engine, upgrade
from monitor.storage.tables import performance_runs


def exposition_outline(text: str) -> dict[str, dict[str, object]]:
    """Per `monitor_*` family: its type and the label-name sets of its samples."""
    out: dict[str, dict[str, object]] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("monitor_"):
            continue
        labels = sorted({",".join(sorted(s.labels)) for s in family.samples})
        suffixes = sorted({s.name[len(family.name) :] for s in family.samples})
        out[family.name] = {"type": family.type, "labels": labels, "samples": suffixes}
    return out


def test_metrics_exposition_names_and_labels(engine, facts):
    observer = IngestObserver()
    m = observer.metrics
    m.consumed = Counter({"predictions": 3})
    m.stored_predictions = Counter({"m": 2, "elsewhere": 1})
    m.stored_labels = Counter({"m": 1})
    m.rejected = Counter({"invalid_json": 1})
    m.lag = {"predictions:0": 4}
    m.last_batch_seconds = 0.2
    now = datetime.now(UTC)
    batch = SimpleNamespace(predictions=[SimpleNamespace(ts=now)], labels=[])
    observer.committed(batch)
    with TestClient(create_app(engine, facts.settings, ingest=observer)) as c:
        r = c.get("/metrics", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    compare("metrics_exposition", exposition_outline(r.text))


def test_health_bodies(engine, facts):
    checks = {"scheduler": lambda: True, "consumer": lambda: False}
    with TestClient(create_app(engine, facts.settings)) as c:
        ok, ready = c.get("/healthz"), c.get("/readyz")
    with TestClient(create_app(engine, facts.settings, readiness=checks)) as c:
        not_ready = c.get("/readyz")
    got = {
        "healthz": [ok.status_code, ok.json()],
        "readyz_ready": [ready.status_code, ready.json()],
        "readyz_not_ready": [not_ready.status_code, not_ready.json()],
    }
    compare("health", got)


def test_performance_gauge_reads_the_newest_window_and_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'perf.db'}"
    engine = make_engine(url)
    upgrade(engine)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)

    def row(end: datetime, revision: int, accuracy: float, status: str = "succeeded") -> dict:
        metrics = {"overall": {"metrics": {"accuracy": accuracy, "n": 3, "flag": True}}}
        return {
            "monitor": "perf", "window_start": end - hour, "window_end": end,
            "revision": revision, "status": status, "predictions": 10, "labelled": 5,
            "metrics": metrics, "segments": None, "computed_at": end,
        }  # fmt: skip

    with engine.begin() as conn:
        conn.execute(
            insert(performance_runs),
            [
                row(t0 + hour, 1, 0.5),
                row(t0 + 2 * hour, 1, 0.6),
                row(t0 + 2 * hour, 2, 0.7),
                row(t0 + 3 * hour, 1, 0.9, status="insufficient_labels"),
            ],
        )
    settings = parse_settings(
        {"database": {"url": url}, "monitors": [{"name": "perf", "model": "m"}]}
    )
    text = generate_latest(build_registry(engine, settings, process=False)).decode()
    engine.dispose()
    got = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "monitor_performance_metric"
        for s in family.samples
    }
    assert got == {
        (("metric", "accuracy"), ("monitor", "perf")): 0.7,
        (("metric", "n"), ("monitor", "perf")): 3.0,
    }
