"""A seasonal baseline on real hourly data with a daily cycle (Seattle's hourly temperatures
of 2010, bundled with vega_datasets): the same hour of the previous days does not alarm on
the cycle that a trailing baseline (the previous 3 hours) flags, and still catches a real
anomaly at one hour.

Each simulated hour holds the real readings at that hour of day over 28 consecutive real
days; the block moves on one real day per simulated day, so the hour-of-day distribution
drifts as slowly as the real season does while the daily cycle is the real one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scheduler_support import T0, put
from sqlalchemy import select
from vega_datasets import local_data

from monitor.bucketing import BucketSketcher
from monitor.events import Prediction
from monitor.reference import materialise
from monitor.scheduler.execute import run_window
from monitor.settings import Settings, parse_settings
from monitor.storage.tables import drift_runs
from monitor.window import Window

HOUR = timedelta(hours=1)
DAYS = 8  # simulated days: the 8th is judged against the 7 before it
BLOCK = 28  # real days behind each simulated hour
FIRST_REAL_DAY = 182  # 1 July 2010
ANOMALY = {14: 4.0, 15: 4.0}  # simulated day 8, hour -> °F added (a heat anomaly)

T_DAY0 = T0.replace(hour=0)


def _temps() -> pd.DataFrame:
    frame = local_data.seattle_temps()
    frame["hour"] = frame["date"].dt.hour
    frame["day"] = frame["date"].dt.dayofyear
    return frame


def _hour_values(temps: pd.DataFrame, day: int, hour: int) -> np.ndarray:
    first = FIRST_REAL_DAY + day
    rows = temps[(temps["hour"] == hour) & (temps["day"] >= first) & (temps["day"] < first + BLOCK)]
    values = rows["temp"].to_numpy(dtype=float)
    assert len(values) == BLOCK
    return values + (ANOMALY.get(hour, 0.0) if day == DAYS - 1 else 0.0)


def _settings(url: str, ref: Path) -> Settings:
    def monitor(name: str, baseline: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "model": "temps",
            "reference": {"path": str(ref), "prediction_column": None, "label_column": None},
            "window": {"size": "1h", "bucket": "5m", "min_events": 20},
            "prediction_drift": False,
            "drift": {"method": "ks"},  # fixed p < 0.05: this test is about the slots
            "baseline": baseline,
            "rules": [{"name": "dataset", "condition": "dataset_drift"}],
        }

    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False},
            "monitors": [
                monitor("seasonal", {"kind": "seasonal", "days": 7}),
                monitor("trailing", {"kind": "trailing", "windows": 3, "exclude_alarmed": False}),
            ],
        }
    )


def _ingest(engine: Any, settings: Settings, temps: pd.DataFrame) -> None:
    sketcher = BucketSketcher(engine, settings)
    for day in range(DAYS):
        for hour in range(24):
            start = T_DAY0 + timedelta(days=day, hours=hour)
            values = _hour_values(temps, day, hour)
            step = HOUR / len(values)
            batch = [
                Prediction(
                    event_id=f"{day}-{hour}-{i}",
                    model="temps",
                    model_version=None,
                    ts=start + i * step,
                    features={"temp": float(v)},
                )
                for i, v in enumerate(values)
            ]
            put(engine, batch, sketcher)


def test_seasonal_baseline_follows_the_daily_cycle(pg_engine, tmp_path) -> None:
    temps = _temps()
    ref = tmp_path / "july.parquet"
    july = temps[(temps["day"] >= FIRST_REAL_DAY) & (temps["day"] < FIRST_REAL_DAY + 31)]
    july[["temp"]].to_parquet(ref)
    settings = _settings(pg_engine.url.render_as_string(hide_password=False), ref)
    for m in settings.monitors:
        materialise(pg_engine, m)
    _ingest(pg_engine, settings, temps)

    judged: dict[str, dict[int, Any]] = {"seasonal": {}, "trailing": {}}
    for hour in range(24):
        start = T_DAY0 + timedelta(days=DAYS - 1, hours=hour)
        for m in settings.monitors:
            outcome = run_window(pg_engine, settings, m, Window(start, start + HOUR), now=start)
            assert outcome is not None and outcome.status == "succeeded", outcome
            judged[m.name][hour] = outcome

    seasonal = {h for h, o in judged["seasonal"].items() if o.dataset_drift}
    trailing = {h for h, o in judged["trailing"].items() if o.dataset_drift}
    assert seasonal == set(ANOMALY)  # the cycle is expected; the anomaly is not
    normal_hours = set(range(24)) - set(ANOMALY)
    assert normal_hours <= trailing, sorted(trailing)  # the cycle, flagged at every hour
    with pg_engine.connect() as conn:
        summaries = [
            s
            for (s,) in conn.execute(
                select(drift_runs.c.summary).where(drift_runs.c.monitor == "seasonal")
            )
        ]
    assert {s["baseline"]["windows_used"] for s in summaries} == {7}
    assert {s["baseline"]["kind"] for s in summaries} == {"seasonal"}
