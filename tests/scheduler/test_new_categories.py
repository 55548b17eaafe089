"""Issue 11 item 2: new categories of a scheduled run are counted and named for real.

A window where 4 distinct values never seen in the reference make up most of `c`: the stored
run, the HTML report, the alert (API), the Slack message and the webhook body all say 4 and
name them, on the sketch path (bucket deltas) and on a count window (raw rows).
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from scheduler_support import T0, put, settings_for, traffic, training
from sqlalchemy import select

from monitor.alerts import alert_detail
from monitor.bucketing import BucketSketcher
from monitor.demo_receivers import Receivers
from monitor.notify.delivery import deliver_due
from monitor.reference import materialise
from monitor.scheduler.execute import run_window
from monitor.settings import parse_settings
from monitor.storage.tables import drift_feature_results, drift_runs
from monitor.window import Window

HOUR = timedelta(hours=1)
READ = "read-token-for-new-categories"
NEW = {"zeta": 0.4, "eta": 0.2, "theta": 0.1, "iota": 0.05}  # share of the window each


def _with_new_categories(n: int, seed: int) -> list:
    """Traffic whose `c` is one of the 4 new values in 75% of the rows (by NEW's shares)."""
    batch = traffic(n, T0, HOUR, seed=seed)
    rng = np.random.default_rng(seed)
    names = [*NEW, None]
    p = [*NEW.values(), 1 - sum(NEW.values())]
    for ev, pick in zip(batch, rng.choice(len(names), n, p=p), strict=True):
        if names[pick] is not None:
            ev.features["c"] = names[pick]
    return batch


def test_scheduled_run_counts_and_names_every_new_category(pg_engine, tmp_path) -> None:
    receivers = Receivers(b"s3cret-for-tests").start()
    url = pg_engine.url.render_as_string(hide_password=False)
    settings = parse_settings(
        {
            "database": {"url": url},
            "reports": {
                "enabled": True,
                "directory": str(tmp_path / "reports"),
                "write_on": "every_run",
            },
            "monitors": [
                {
                    "name": "mon",
                    "model": "m",
                    "reference": str(training(tmp_path / "ref.parquet")),
                    "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                    "rules": [{"name": "new-cats", "condition": "new_category", "feature": "c"}],
                }
            ],
            "api": {"read_tokens": [READ]},
            "alerting": {
                "routes": {
                    "slack": {"type": "slack", "webhook_url": f"{receivers.base}/slack"},
                    "retrain": {
                        "type": "webhook",
                        "url": f"{receivers.base}/hook",
                        "secret": "s3cret-for-tests",
                    },
                }
            },
        }
    )
    monitor = settings.monitors[0]
    materialise(pg_engine, monitor)
    batch = _with_new_categories(2000, seed=5)
    shares = {k: sum(e.features["c"] == k for e in batch) / len(batch) for k in NEW}
    put(pg_engine, batch, BucketSketcher(pg_engine, settings))
    try:
        out = run_window(pg_engine, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
        assert out is not None and out.status == "succeeded" and not out.rebuilt_sketches
        deliver_due(pg_engine, settings.alerting, now=T0 + HOUR)
    finally:
        receivers.stop()

    with pg_engine.connect() as conn:
        stats = conn.execute(
            select(drift_feature_results.c.stats).where(
                drift_feature_results.c.run_id == out.run_id,
                drift_feature_results.c.feature == "c",
            )
        ).scalar_one()["stats"]
        summary = conn.execute(
            select(drift_runs.c.summary).where(drift_runs.c.id == out.run_id)
        ).scalar_one()
    # stored run: the count, every name with its share, the cap
    assert stats["new_category_count"] == 4
    assert set(stats["new_categories"]) == set(NEW)
    for k, share in shares.items():
        assert abs(stats["new_categories"][k] - share) < 1e-12
    assert stats["new_categories_listed_max"] >= 4
    assert summary["data_quality"]["c"]["new_category_count"] == 4

    # the HTTP API: the run and the alert
    from fastapi.testclient import TestClient

    from monitor.api import create_app

    auth = {"Authorization": f"Bearer {READ}"}
    with TestClient(create_app(pg_engine, settings)) as client:
        run = client.get(f"/api/v1/runs/{out.run_id}", headers=auth).json()
        alert = client.get(f"/api/v1/alerts/{out.alerts[0].alert_id}", headers=auth).json()
    (c,) = [f for f in run["features"] if f["feature"] == "c"]
    assert c["stats"]["stats"]["new_category_count"] == 4
    assert run["data_quality"]["c"]["new_category_count"] == 4
    assert alert["details"]["new_category_count"] == 4

    # report
    html = (tmp_path / "reports").glob("*.html")
    page = next(iter(html)).read_text()
    assert re.search(r"<td>4: <code>zeta</code>", page), "report must say 4 new categories"

    # alert (API) and notifications
    (alert_change,) = out.alerts
    detail = alert_detail(pg_engine, alert_change.alert_id)
    assert detail["details"]["new_category_count"] == 4
    assert set(detail["details"]["new_categories"]) == set(NEW)
    hook = next(r for r in receivers.got if r.path == "/hook").json()
    assert hook["new_categories"]["count"] == 4
    listed = hook["new_categories"]["categories"]
    assert [c["name"] for c in listed] == ["zeta", "eta", "theta", "iota"]
    assert [c["share"] for c in listed] == [stats["new_categories"][c["name"]] for c in listed]
    assert hook["new_categories"]["listed_max"] >= 4
    assert "4 new categories" in hook["summary"]
    slack = next(r for r in receivers.got if r.path == "/slack").json()
    assert "4 new categories" in slack["text"]
    assert "1 new category" not in slack["text"]


def _stored_stats(engine, run_id: int) -> dict:
    with engine.connect() as conn:
        return conn.execute(
            select(drift_feature_results.c.stats).where(
                drift_feature_results.c.run_id == run_id, drift_feature_results.c.feature == "c"
            )
        ).scalar_one()["stats"]


def test_new_categories_on_both_stores_and_in_count_windows(store, tmp_path) -> None:
    """Time window from sketches (the stored events are asked) and a count window (its rows):
    the same count, names and shares, on SQLite as on Postgres."""
    url = store.url.render_as_string(hide_password=False)
    ref = training(tmp_path / "ref.parquet")
    rules = [{"name": "new-cats", "condition": "new_category", "feature": "c"}]
    settings = settings_for(url, ref, rules=rules)
    monitor = settings.monitors[0]
    materialise(store, monitor)
    batch = _with_new_categories(1500, seed=9)
    put(store, batch, BucketSketcher(store, settings))
    want = {k: sum(e.features["c"] == k for e in batch) / len(batch) for k in NEW}

    out = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
    stats = _stored_stats(store, out.run_id)
    assert stats["new_category_count"] == 4
    assert stats["new_categories"] == pytest.approx(want, abs=1e-12)

    from monitor.scheduler.execute import run_frame
    from monitor.storage.event_frames import EventFilter, load_frame

    frame = load_frame(store, EventFilter("m"), limit=1000, newest=True, columns=["x", "y", "c"])
    counted = run_frame(store, settings, monitor, frame, now=T0 + 2 * HOUR)
    stats = _stored_stats(store, counted.run_id)
    cur = frame["c"].value_counts()
    assert stats["new_category_count"] == 4
    assert stats["new_categories"] == pytest.approx({k: cur[k] / 1000 for k in NEW}, abs=1e-12)


def test_unseen_categories_for_hostile_feature_names(store) -> None:
    """Feature names come from events: quotes, backslashes and dots, on both stores; JSON
    true and numbers are named like the sketches name them."""
    from monitor.events import Prediction
    from monitor.storage.categories import unseen_categories
    from monitor.storage.event_frames import EventFilter
    from monitor.storage.writes import store_batch

    values = ["a", "zz", "zz", True, 1.5, "a", None, "yy'); drop table predictions; --"]
    for name in ('we"ird', "back\\slash", "dot.ted", "plain"):
        batch = [
            Prediction(
                event_id=f"{name}-{i}",
                model=f"m-{name}",
                model_version=None,
                prediction_proba=None,
                ts=T0 + timedelta(seconds=i),
                features={name: v},
                prediction=0,
            )
            for i, v in enumerate(values)
        ]
        store_batch(store, batch, [], [])
        total, listed = unseen_categories(
            store, EventFilter(f"m-{name}"), T0, T0 + HOUR, name, ["a"], 10
        )
        assert total == 4, name
        assert listed == {
            "zz": 2,
            "True": 1,
            "1.5": 1,
            "yy'); drop table predictions; --": 1,
        }, name
