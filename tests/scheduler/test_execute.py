"""Scheduled runs on real stores: sketches vs the exact engine, rebuilds, insufficient data,
catch-up after downtime, stale claims, count windows."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from scheduler_support import T0, put, settings_for, traffic, training
from sqlalchemy import select

from monitor.bucketing import BucketSketcher
from monitor.drift import compare
from monitor.reference import drift_options, materialise
from monitor.scheduler.execute import run_window
from monitor.scheduler.ticks import tick
from monitor.storage import runs as run_store
from monitor.storage.tables import alerts, drift_feature_results, drift_runs
from monitor.window import Window

HOUR = timedelta(hours=1)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _frame(batch) -> pd.DataFrame:
    return pd.DataFrame([p.features for p in batch])


def test_run_from_bucket_sketches_matches_exact_engine(store, tmp_path) -> None:
    ref_path = training(tmp_path / "ref.parquet")
    settings = settings_for(_url(store), ref_path)
    monitor = settings.monitors[0]
    materialise(store, monitor)
    sketcher = BucketSketcher(store, settings)
    batch = traffic(3000, T0, HOUR, shift=0.3)
    for i in range(0, 3000, 500):  # several batches -> several deltas per bucket
        put(store, batch[i : i + 500], sketcher)

    outcome = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)

    assert outcome is not None and outcome.status == "succeeded"
    assert not outcome.rebuilt_sketches  # the deltas covered every event
    exact = compare(
        pd.read_parquet(ref_path)[["x", "y", "c"]], _frame(batch), drift_options(monitor)
    )
    with store.connect() as conn:
        rows = {
            r.feature: r
            for r in conn.execute(
                select(drift_feature_results).where(
                    drift_feature_results.c.run_id == outcome.run_id
                )
            )
        }
    assert set(rows) == {"x", "y", "c", "__prediction__"}
    assert rows["__prediction__"].kind == "prediction"
    for name in ("x", "y"):  # binned statistics are exact for the reference's deciles
        want = exact.feature(name).stats
        got = rows[name].stats["stats"]
        for stat in ("psi", "jensenshannon", "hellinger", "kl"):
            assert got[stat] == pytest.approx(want[stat], rel=1e-9, abs=1e-12), (name, stat)
        assert got["ks"]["statistic"] <= want["ks"]["statistic"] <= got["ks"]["statistic_upper"]
    for stat in ("psi", "jensenshannon", "tvd"):
        assert rows["c"].stats["stats"][stat] == pytest.approx(exact.feature("c").stats[stat])
    assert rows["c"].stats["stats"]["chisquare"]["statistic"] == pytest.approx(
        exact.feature("c").stats["chisquare"]["statistic"]
    )
    assert outcome.current_rows == 3000


def test_missing_deltas_are_rebuilt_from_raw_events(store, tmp_path) -> None:
    settings = settings_for(_url(store), training(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    materialise(store, monitor)
    sketcher = BucketSketcher(store, settings)
    batch = traffic(2000, T0, HOUR, shift=0.3)
    put(store, batch[:1000], sketcher)
    put(store, batch[1000:], None)  # stored, never sketched (consumer died in between)
    put(store, batch[:1000], sketcher)  # a redelivered batch: stores and sketches nothing

    outcome = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)

    assert outcome is not None and outcome.rebuilt_sketches
    assert outcome.current_rows == 2000
    exact = compare(
        pd.read_parquet(tmp_path / "ref.parquet")[["x", "y", "c"]],
        _frame(batch),
        drift_options(monitor),
    )
    got = run_store.get_run(store, outcome.run_id)
    assert got is not None
    psi = {f["feature"]: f["stats"]["stats"].get("psi") for f in got["features"]}
    assert psi["x"] == pytest.approx(exact.feature("x").stats["psi"], rel=1e-9)


def test_insufficient_data_is_recorded_and_never_alerts_as_drift(store, tmp_path) -> None:
    settings = settings_for(_url(store), training(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    put(store, traffic(50, T0, HOUR, shift=3.0))  # heavily shifted, but only 50 events
    put(store, traffic(60, T0 + HOUR, HOUR, shift=3.0, seed=2))

    first = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
    second = run_window(
        store, settings, monitor, Window(T0 + HOUR, T0 + 2 * HOUR), now=T0 + 2 * HOUR
    )

    assert first is not None and first.status == "insufficient_data"
    assert second is not None and second.status == "insufficient_data"
    with store.connect() as conn:
        states = {(r.rule, r.state) for r in conn.execute(select(alerts))}
    assert ("dataset", "firing") not in states and ("dataset", "pending") not in states
    assert ("no-data", "firing") in states  # for: 2 consecutive runs
    listed = run_store.list_runs(store, "mon")
    assert [r["status"] for r in listed] == ["insufficient_data"] * 2
    assert listed[0]["dataset_drift"] is None


def test_restart_catches_up_missed_windows_within_the_cap(store, tmp_path) -> None:
    settings = settings_for(
        _url(store), training(tmp_path / "ref.parquet"), schedule={"max_catch_up": 2}
    )
    monitor = settings.monitors[0]
    for i in range(5):
        put(store, traffic(300, T0 + i * HOUR, HOUR, seed=10 + i))

    first = tick(store, settings, monitor, now=T0 + HOUR + timedelta(seconds=5))
    assert [o.window for o in first] == [Window(T0, T0 + HOUR)]
    assert tick(store, settings, monitor, now=T0 + HOUR + timedelta(minutes=1)) == []

    # down for four hours: two windows are computed, the older one is recorded as skipped
    later = tick(store, settings, monitor, now=T0 + 5 * HOUR + timedelta(seconds=5))

    assert [o.window for o in later] == [
        Window(T0 + 3 * HOUR, T0 + 4 * HOUR),
        Window(T0 + 4 * HOUR, T0 + 5 * HOUR),
    ]
    assert all(o.status == "succeeded" for o in later)
    with store.connect() as conn:
        rows = conn.execute(
            select(
                drift_runs.c.window_start, drift_runs.c.window_end, drift_runs.c.status
            ).order_by(drift_runs.c.window_start)
        ).all()
    assert [(r.window_start, r.window_end, r.status) for r in rows] == [
        (T0, T0 + HOUR, "succeeded"),
        (T0 + HOUR, T0 + 3 * HOUR, "skipped"),
        (T0 + 3 * HOUR, T0 + 4 * HOUR, "succeeded"),
        (T0 + 4 * HOUR, T0 + 5 * HOUR, "succeeded"),
    ]


def test_stale_claim_is_taken_over_and_fresh_one_is_not(pg_engine, tmp_path) -> None:
    settings = settings_for(_url(pg_engine), training(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    put(pg_engine, traffic(300, T0, HOUR))
    window = Window(T0, T0 + HOUR)
    lease = settings.scheduler.lease
    assert run_store.claim(pg_engine, "mon", T0, T0 + HOUR, T0 + HOUR, lease) is not None

    # another replica a minute later: the claim is alive, nothing to do
    assert (
        run_window(pg_engine, settings, monitor, window, now=T0 + HOUR + timedelta(minutes=1))
        is None
    )
    # the claimant died: after the lease the window is taken over and computed once
    later = T0 + HOUR + lease + timedelta(seconds=1)
    outcome = run_window(pg_engine, settings, monitor, window, now=later)
    assert outcome is not None and outcome.status == "succeeded"
    assert run_window(pg_engine, settings, monitor, window, now=later) is None
    with pg_engine.connect() as conn:
        assert conn.execute(select(drift_runs.c.status)).scalars().all() == ["succeeded"]


def test_count_window_runs_on_newest_events_once(store, tmp_path) -> None:
    settings = settings_for(
        _url(store),
        training(tmp_path / "ref.parquet"),
        window={"events": 500, "min_events": 100},
    )
    monitor = settings.monitors[0]
    put(store, traffic(800, T0, HOUR, shift=1.5))

    outcomes = tick(store, settings, monitor, now=T0 + 2 * HOUR)

    assert len(outcomes) == 1 and outcomes[0].status == "succeeded"
    assert outcomes[0].current_rows == 500 and outcomes[0].dataset_drift
    assert tick(store, settings, monitor, now=T0 + 3 * HOUR) == []  # no new events: no new run


def test_multivariate_score_is_stored_and_judged_by_its_rule(pg_engine, tmp_path) -> None:
    settings = settings_for(
        _url(pg_engine),
        training(tmp_path / "ref.parquet"),
        drift={"multivariate": True, "multivariate_rows": 400},
        rules=[{"name": "mv", "condition": "multivariate_drift", "severity": "critical"}],
    )
    monitor = settings.monitors[0]
    put(pg_engine, traffic(800, T0, HOUR, seed=41))
    put(pg_engine, traffic(800, T0 + HOUR, HOUR, seed=42, shift=1.0))

    calm = run_window(pg_engine, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
    shifted = run_window(
        pg_engine, settings, monitor, Window(T0 + HOUR, T0 + 2 * HOUR), now=T0 + 2 * HOUR
    )

    mv = [
        run_store.get_run(pg_engine, o.run_id)["summary"]["multivariate"] for o in (calm, shifted)
    ]
    assert [m["drifted"] for m in mv] == [False, True]
    assert mv[0]["score"] < 0.55 <= mv[1]["score"]
    assert mv[1]["rows_used"] == {"reference": 400, "current": 400}
    assert [a.after for a in shifted.alerts] == ["firing"] and not calm.alerts


def test_pooled_new_categories_are_marked_approximate_in_the_stored_run_and_api(
    pg_engine, tmp_path
) -> None:
    """Several new categories share the sketch's "other" bucket: the stored run and the API
    say the chi-square p-value is approximate and why; its statistic equals the exact one."""
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from monitor.api import create_app

    ref_path = training(tmp_path / "ref.parquet")
    settings = settings_for(
        _url(pg_engine), ref_path, drift={"per_feature": {"c": {"method": "chisquare"}}}
    )
    monitor = settings.monitors[0]
    batch = traffic(1200, T0, HOUR, seed=7)
    batch = [  # every 10th event carries one of 6 values the reference never had
        replace(p, features={**p.features, "c": f"new{i % 6}"}) if i % 10 == 0 else p
        for i, p in enumerate(batch)
    ]
    put(pg_engine, batch)
    [outcome] = tick(pg_engine, settings, monitor, T0 + HOUR + timedelta(seconds=1))
    assert outcome.status == "succeeded"
    exact = compare(
        pd.read_parquet(ref_path)[["x", "y", "c"]], _frame(batch), drift_options(monitor)
    ).feature("c")

    with TestClient(create_app(pg_engine, settings)) as client:
        body = client.get(f"/api/v1/runs/{outcome.run_id}").json()
    [c] = [f for f in body["features"] if f["feature"] == "c"]
    assert c["method"] == "chisquare"
    assert c["stats"]["stats"]["chisquare"]["statistic"] == pytest.approx(
        exact.stats["chisquare"]["statistic"], rel=1e-9
    )
    assert c["p_value"] < exact.p_value  # pooled: 2 fewer degrees of freedom than exact
    quality = c["stats"]["quality"]
    assert "chisquare" in quality["approximate_from_sketch"]
    assert "new categories share one 'other' bucket" in quality["approximate_reason"]
