"""Seed labelled monitors through the real scheduler tick (shared by the performance report
and CLI tests; import as `from perf_report_support import seed`).

Two monitors on one database:
- `clf` (model `m`): binary string classes "ok" and a hostile label, probabilities as
  {class: p}, segment `country` (DE labelled at random: the worst segment; LU too small for
  metrics; one hostile value), two model versions (one hostile name), three 1h windows, the
  newest 70% labelled at first and 80% after late labels (revision 2); the reference is
  a labelled training file;
- `reg` (model `r`): regression, two windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from monitor.events import Label, Prediction
from monitor.settings import MonitorSettings, Settings, parse_settings
from monitor.storage import make_engine
from monitor.storage.writes import store_batch

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POS = "ok"
EVIL_CLASS = "<img src=x onerror=alert(1)>"
EVIL_SEGMENT = "<img src=x onerror=alert(2)>"
EVIL_VERSION = '"><script>alert(3)</script>'
COUNTRIES = ("FR", "DE", EVIL_SEGMENT, "LU")
COUNTRY_P = (0.5, 0.3, 0.15, 0.05)
WINDOWS = 3
PER_WINDOW = 600
MIN_ROWS = 50


@dataclass(frozen=True)
class Row:
    event_id: str
    prediction: Any
    label: Any  # None: never labelled
    late: bool  # labelled after the first tick (a second revision of its window)
    proba: float | None
    country: str | None
    version: str


@dataclass(frozen=True)
class Seeded:
    url: str
    config: Path
    settings: Settings
    rows: dict[str, dict[datetime, list[Row]]]  # monitor -> window start -> rows

    def monitor(self, name: str) -> MonitorSettings:
        return self.settings.monitor(name)


def _features(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.lognormal(0, 0.5, n),
            "c": rng.choice(["a", "b", "c"], n),
        }
    )


def _training(directory: Path, n: int = 3000) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    clf = _features(rng, n)
    p = rng.uniform(0, 1, n)
    clf["prediction"] = p
    clf["label"] = np.where(rng.uniform(0, 1, n) < p, POS, EVIL_CLASS)
    reg = _features(rng, n)
    truth = 100 + 20 * reg["x"].to_numpy()
    reg["prediction"] = truth + rng.normal(0, 5, n)
    reg["label"] = truth
    clf.to_parquet(directory / "clf.parquet")
    reg.to_parquet(directory / "reg.parquet")
    return directory / "clf.parquet", directory / "reg.parquet"


def _classification_window(seed: int, newest: bool) -> list[Row]:
    rng = np.random.default_rng(seed)
    n = PER_WINDOW
    p = rng.uniform(0, 1, n)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    good = rng.uniform(0, 1, n) < p
    coin = rng.uniform(0, 1, n) < 0.5
    truth_ok = np.where(country == 1, coin, good)  # DE: labels unrelated to the model
    u = rng.uniform(0, 1, n)
    labelled = u < (0.8 if newest else 1.0)
    late = (u >= 0.7) & labelled if newest else np.zeros(n, bool)
    version = np.where(rng.uniform(0, 1, n) < 0.7, "v1", EVIL_VERSION)
    return [
        Row(
            event_id=f"c{seed}-{i}",
            prediction=POS if p[i] >= 0.5 else EVIL_CLASS,
            label=(POS if truth_ok[i] else EVIL_CLASS) if labelled[i] else None,
            late=bool(late[i]),
            proba=float(p[i]),
            country=COUNTRIES[country[i]],
            version=str(version[i]),
        )
        for i in range(n)
    ]


def _regression_window(seed: int) -> list[Row]:
    rng = np.random.default_rng(seed)
    truth = 100 + 20 * rng.normal(0, 1, PER_WINDOW)
    pred = truth + rng.normal(2, 6, PER_WINDOW)  # a little worse than the reference, biased
    return [
        Row(f"r{seed}-{i}", float(pred[i]), float(truth[i]), False, None, None, "v1")
        for i in range(PER_WINDOW)
    ]


def _ts(start: datetime, i: int) -> datetime:
    return start + HOUR / PER_WINDOW * i


def _label(model: str, start: datetime, i: int, r: Row) -> Label:
    delay = timedelta(minutes=10 + (i * 37) % 290)  # 10 min .. 5 h
    return Label(r.event_id, model, r.label, _ts(start, i) + delay)


def _store(engine: Any, model: str, start: datetime, rows: list[Row], seed: int) -> None:
    feats = _features(np.random.default_rng(seed + 1000), len(rows))
    preds, labels = [], []
    for i, r in enumerate(rows):
        ts = _ts(start, i)
        preds.append(
            Prediction(
                event_id=r.event_id,
                model=model,
                model_version=r.version,
                ts=ts,
                features={
                    "x": float(feats["x"][i]),
                    "y": float(feats["y"][i]),
                    "c": str(feats["c"][i]),
                },
                prediction=r.prediction,
                prediction_proba=None
                if r.proba is None
                else {POS: r.proba, EVIL_CLASS: 1.0 - r.proba},
                segment=None if r.country is None else {"country": r.country},
            )
        )
        if r.label is not None and not r.late:
            labels.append(_label(model, start, i, r))
    received = start + WINDOWS * HOUR
    store_batch(engine, preds, labels, [], received_at=received)


def settings_doc(url: str, clf_ref: Path, reg_ref: Path, reports: Path) -> dict[str, Any]:
    common = {
        "window": {"size": "1h", "bucket": "5m", "min_events": 100},
        "prediction_drift": False,
        "rules": [{"name": "dataset", "condition": "dataset_drift"}],
    }
    return {
        "database": {"url": url},
        "reports": {"enabled": False, "directory": str(reports)},
        "monitors": [
            {
                "name": "clf",
                "model": "m",
                "reference": str(clf_ref),
                "performance": {"enabled": True, "min_rows": MIN_ROWS, "label_horizon": "2d"},
                **common,
            },
            {
                "name": "reg",
                "model": "r",
                "reference": str(reg_ref),
                "performance": {
                    "enabled": True,
                    "task": "regression",
                    "min_rows": MIN_ROWS,
                    "segments": False,
                },
                **common,
            },
        ],
    }


def seed(url: str, directory: Path) -> Seeded:
    """Store the traffic and labels, materialise the references, run one scheduler tick per
    monitor after the last window closed."""
    from monitor.reference import materialise
    from monitor.scheduler.ticks import tick

    clf_ref, reg_ref = _training(directory)
    doc = settings_doc(url, clf_ref, reg_ref, directory / "reports")
    config = directory / "monitor.yaml"
    config.write_text(yaml.safe_dump(doc))
    settings = parse_settings(doc)
    engine = make_engine(url)
    rows: dict[str, dict[datetime, list[Row]]] = {"clf": {}, "reg": {}}
    try:
        for k in range(WINDOWS):
            start = T0 + k * HOUR
            window = _classification_window(10 + k, newest=k == WINDOWS - 1)
            _store(engine, "m", start, window, 10 + k)
            rows["clf"][start] = window
        for k in range(2):
            start = T0 + k * HOUR
            window = _regression_window(20 + k)
            _store(engine, "r", start, window, 20 + k)
            rows["reg"][start] = window
        after = T0 + WINDOWS * HOUR
        for monitor in settings.monitors:
            materialise(engine, monitor, now=T0)
            tick(engine, settings, monitor, now=after + timedelta(seconds=1))
        newest = T0 + (WINDOWS - 1) * HOUR  # late labels: a second revision of that window
        late = [_label("m", newest, i, r) for i, r in enumerate(rows["clf"][newest]) if r.late]
        store_batch(engine, [], late, [], received_at=after + timedelta(minutes=30))
        tick(engine, settings, settings.monitor("clf"), now=after + timedelta(minutes=31))
    finally:
        engine.dispose()
    return Seeded(url, config, settings, rows)
