"""Helpers for the sequential rule's scheduler tests: a real data set (scikit-learn's
diabetes, 442 rows x 10 numeric features) as the reference, and hourly windows drawn from
its rows (population design, as bench/alarms.py), optionally with a persistent shift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

from monitor.events import Prediction
from monitor.settings import Settings, parse_settings
from monitor.storage.writes import store_batch
from monitor.window import Window

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROWS = 500  # rows per hourly window
SHIFTED = "bmi"


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame.drop(columns="target")


def reference_file(path: Path) -> Path:
    diabetes().to_parquet(path)
    return path


def window(i: int) -> Window:
    return Window(T0 + i * HOUR, T0 + (i + 1) * HOUR)


def put_window(engine: Any, i: int, *, shift: float = 0.0, seed: int = 0, model: str = "m") -> None:
    """Window i: ROWS rows drawn with replacement from the data set; `shift` moves `bmi` by
    shift x its standard deviation."""
    data = diabetes()
    rng = np.random.default_rng(seed * 100_003 + i)
    rows = data.iloc[rng.integers(0, len(data), ROWS)].reset_index(drop=True)
    if shift:
        rows[SHIFTED] = rows[SHIFTED] + shift * data[SHIFTED].std()
    start, step = T0 + i * HOUR, HOUR / ROWS
    batch = [
        Prediction(
            event_id=f"{seed}-{i}-{j}",
            model=model,
            model_version="1",
            ts=start + step * j,
            features={k: float(v) for k, v in rows.iloc[j].items()},
        )
        for j in range(ROWS)
    ]
    store_batch(engine, batch, [], [])


def seq_settings(url: str, ref: Path, **kw: Any) -> Settings:
    return parse_settings(seq_doc(url, ref, **kw))


def seq_doc(
    url: str, ref: Path, *, warmup: int = 20, per_feature: bool = False, **extra: Any
) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"name": "seq", "condition": "sequential_drift", "per_feature": per_feature},
        {"name": "dataset", "condition": "dataset_drift"},
        {"name": "bmi", "condition": "feature_drift", "feature": SHIFTED},
    ]
    doc: dict[str, Any] = {
        "database": {"url": url},
        "reports": {"enabled": False},
        # a route, so that firing alerts leave their payload in the outbox (not delivered here)
        "alerting": {
            "routes": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "s"}}
        },
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(ref),
                "prediction_drift": False,
                "window": {"size": "1h", "bucket": "1h", "min_events": 100},
                "alarm": {"expected_run_length": "30d", "sequential": {"warmup": warmup}},
                "rules": rules,
                **extra,
            }
        ],
    }
    return doc
