"""Auto thresholds in scheduled runs (issue 14): null quantiles calibrated when the reference
is materialised, stored once, loaded by the scheduler, judged per feature at the window's
size, and the dataset decision corrected across features. Real data: scikit-learn's digits
(8x8 pixel intensities 0-16), a reference of 1,200 images and held-out images as traffic."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scheduler_support import T0, put
from sklearn.datasets import load_digits
from sqlalchemy import func, select

from monitor.events import Prediction
from monitor.notify.slack import render
from monitor.reference import ensure_reference, latest, materialise
from monitor.reference_nulls import ensure_nulls
from monitor.scheduler.execute import run_window
from monitor.scheduler.nulls import NULLS
from monitor.settings import parse_settings
from monitor.storage.nulls import load_null_table, load_nulls
from monitor.storage.tables import notifications
from monitor.storage.tables_alarms import reference_nulls
from monitor.window import Window

HOUR = timedelta(hours=1)
NUMERIC = ["pixel_2_2", "pixel_3_4", "pixel_5_5"]
NOISY = "pixel_1_5"  # 17 intensity levels, read as categories: noisy at small windows


def _digits() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_digits(as_frame=True).frame
    frame = frame[[*NUMERIC, NOISY]].astype(float)
    frame[NOISY] = frame[NOISY].astype(int).astype(str)
    order = np.random.default_rng(0).permutation(len(frame))
    return frame.iloc[order[:1200]].reset_index(drop=True), frame.iloc[order[1200:]].reset_index(
        drop=True
    )


def _settings(engine: Any, ref: Path, **drift: Any) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    monitor: dict[str, Any] = {
        "name": "digits",
        "model": "m",
        "reference": str(ref),
        "features": {**dict.fromkeys(NUMERIC, "numeric"), NOISY: "categorical"},
        "window": {"size": "1h", "bucket": "5m", "min_events": 50},
        "rules": [
            {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
            {"name": "features", "condition": "feature_drift"},
        ],
    }
    if drift:
        monitor["drift"] = drift
    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False},
            "monitors": [monitor],
            "alerting": {
                "routes": {
                    "hook": {
                        "type": "webhook",
                        "url": "http://127.0.0.1:9/unused",
                        "secret": "s" * 16,
                    }
                }
            },
        }
    )


def _events(rows: pd.DataFrame, start, tag: str) -> list[Prediction]:
    step = HOUR / len(rows)
    return [
        Prediction(
            event_id=f"{tag}-{i}",
            model="m",
            model_version="1",
            ts=start + step * i,
            features={
                **{c: float(r[c]) for c in NUMERIC},
                NOISY: str(r[NOISY]),
            },
            prediction=0,
        )
        for i, (_, r) in enumerate(rows.iterrows())
    ]


@pytest.fixture
def digits(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    ref, held = _digits()
    path = tmp_path / "digits.parquet"
    ref.to_parquet(path)
    NULLS.clear()
    return path, held


def _features(outcome_run: int, engine: Any) -> dict[str, dict]:
    from monitor.storage import runs as run_store

    got = run_store.get_run(engine, outcome_run)
    assert got is not None
    return {f["feature"]: f for f in got["features"]}


def test_default_monitor_judges_with_stored_nulls(pg_engine, digits) -> None:
    path, held = digits
    settings = _settings(pg_engine, path)
    monitor = settings.monitors[0]
    ref = materialise(pg_engine, monitor)
    nulls = load_nulls(pg_engine, ref.id)
    assert nulls is not None and set(nulls) == {*NUMERIC, NOISY}
    assert nulls[NOISY].method == "jensenshannon"
    assert nulls["pixel_3_4"].method == "wasserstein_normed"
    put(pg_engine, _events(held.iloc[:150], T0, "a"))

    outcome = run_window(pg_engine, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)

    assert outcome is not None and outcome.status == "succeeded", outcome
    assert NULLS.loads == 1 and NULLS.calibrations == 0  # materialised: loaded, not refitted
    rows = _features(outcome.run_id, pg_engine)
    k, alpha = 4, 1 / 2160  # the default 90 days of hourly runs; four features
    for name in (*NUMERIC, NOISY):
        decided = rows[name]["stats"]["quality"]["decided_by"]
        assert decided["rule"] == "null_quantile" and decided["window_size"] == 150
        assert decided["alpha"] == pytest.approx(alpha / k)
        # the threshold is the stored null's quantile at the window's size and the level
        want = nulls[name].threshold(150, decided["level"])
        assert rows[name]["threshold"] == pytest.approx(want, rel=1e-12)
        assert decided["level"] > 1 - alpha / k  # the guard asks for more than alpha_f
    assert outcome.dataset_drift is False and outcome.drifted == ()


def test_a_healthy_noisy_feature_is_not_flagged_where_a_fixed_threshold_is(
    pg_engine, digits
) -> None:
    path, held = digits
    fixed = _settings(pg_engine, path, per_feature={NOISY: {"method": "jensenshannon",
                                                              "threshold": 0.1}})  # fmt: skip
    auto = _settings(pg_engine, path)
    put(pg_engine, _events(held.iloc[:120], T0, "h"))
    window = Window(T0, T0 + HOUR)

    old = run_window(pg_engine, fixed, fixed.monitors[0], window, now=T0 + HOUR)
    assert old is not None and NOISY in old.drifted  # JS of 17 levels from 120 rows >= 0.1
    stat = _features(old.run_id, pg_engine)[NOISY]["statistic"]
    with pg_engine.begin() as conn:  # the same window again under the default config
        conn.exec_driver_sql("DELETE FROM drift_runs")
    new = run_window(pg_engine, auto, auto.monitors[0], window, now=T0 + HOUR)

    assert new is not None and new.status == "succeeded"
    row = _features(new.run_id, pg_engine)[NOISY]
    assert row["statistic"] == pytest.approx(stat)  # the same JS distance ...
    assert not row["drifted"] and row["threshold"] > stat  # ... below the null quantile
    assert new.drifted == () and new.dataset_drift is False


def test_a_shifted_column_is_flagged_with_what_decided_it(pg_engine, digits) -> None:
    path, held = digits
    settings = _settings(pg_engine, path)
    monitor = settings.monitors[0]
    materialise(pg_engine, monitor)
    rows = held.iloc[:300].copy()
    rows["pixel_3_4"] = rows["pixel_3_4"] + 0.5 * rows["pixel_3_4"].std()  # +0.5 sd
    put(pg_engine, _events(rows, T0, "s"))

    outcome = run_window(pg_engine, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)

    assert outcome is not None and outcome.drifted == ("pixel_3_4",)
    assert outcome.dataset_drift is True
    with pg_engine.connect() as conn:
        payloads = {p["rule"]: p for p in conn.execute(select(notifications.c.payload)).scalars()}
    dataset = payloads["dataset"]
    assert dataset["correction"]["method"] == "holm"
    assert dataset["correction"]["rejected"] == ["pixel_3_4"]
    assert dataset["correction"]["alpha"] == pytest.approx(1 / 2160)
    entry = dataset["drifted_features"][0]
    assert entry["name"] == "pixel_3_4" and entry["decided_by"] == "null_quantile"
    assert entry["null"]["window_size"] == 300 and entry["null"]["threshold"] == entry["threshold"]
    assert entry["statistic"] >= entry["threshold"]
    assert entry["p_value_corrected"] <= 1 / 720 and entry["correction"] == "holm"
    assert entry["p_value_calibrated"] <= entry["p_value_conditional"]
    text, _ = render(dataset)
    blocks = str(render(dataset)[1])
    assert "null q" in blocks and "holm" in blocks, (text, blocks)


def test_an_old_reference_is_calibrated_once_by_racing_replicas(pg_engine, digits) -> None:
    path, _ = digits
    old = _settings(pg_engine, path, threshold=0.1, method="wasserstein_normed")
    ref = materialise(pg_engine, old.monitors[0])  # explicit thresholds: no nulls stored
    assert load_nulls(pg_engine, ref.id) is None
    monitor = _settings(pg_engine, path).monitors[0]  # the config moves to auto
    got: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def replica(i: int) -> None:
        barrier.wait()
        got[i] = ensure_nulls(pg_engine, monitor, ref.id, ref.specs, T0)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got[0][0] == got[1][0] == load_null_table(pg_engine, ref.id)
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reference_nulls)).scalar_one() == 4


def test_restart_loads_the_nulls_instead_of_refitting(pg_engine, digits) -> None:
    path, held = digits
    old = _settings(pg_engine, path, threshold=0.1, method="wasserstein_normed")
    materialise(pg_engine, old.monitors[0])  # a reference stored before nulls existed
    settings = _settings(pg_engine, path)
    monitor = settings.monitors[0]
    put(pg_engine, _events(held.iloc[:100], T0, "r1"))
    put(pg_engine, _events(held.iloc[100:200], T0 + HOUR, "r2"))
    put(pg_engine, _events(held.iloc[200:300], T0 + 2 * HOUR, "r3"))

    first = run_window(pg_engine, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
    assert first is not None and first.status == "succeeded"
    assert NULLS.calibrations == 1  # lazily, once
    with pg_engine.connect() as conn:
        stored = conn.execute(select(reference_nulls.c.id, reference_nulls.c.created_at)).all()
    second = run_window(
        pg_engine, settings, monitor, Window(T0 + HOUR, T0 + 2 * HOUR), now=T0 + 2 * HOUR
    )
    assert second is not None and NULLS.loads == 1 and NULLS.calibrations == 1  # from memory
    NULLS.clear()  # a restart
    third = run_window(
        pg_engine, settings, monitor, Window(T0 + 2 * HOUR, T0 + 3 * HOUR), now=T0 + 3 * HOUR
    )
    assert third is not None and third.status == "succeeded"
    assert NULLS.loads == 1 and NULLS.calibrations == 0  # read from storage, not refitted
    with pg_engine.connect() as conn:
        again = conn.execute(select(reference_nulls.c.id, reference_nulls.c.created_at)).all()
    assert again == stored and len(stored) == 4
    ref = ensure_reference(pg_engine, monitor, T0)
    assert ref.id == latest(pg_engine, "digits").id  # type: ignore[union-attr]
    rows = _features(third.run_id, pg_engine)
    assert rows["pixel_2_2"]["stats"]["quality"]["decided_by"]["rule"] == "null_quantile"
