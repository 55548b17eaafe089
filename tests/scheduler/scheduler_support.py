"""Helpers for scheduler tests: a training file and stored traffic with known drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitor.events import Prediction
from monitor.settings import Settings, parse_settings
from monitor.storage.writes import store_batch

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a window boundary for 5m/1h windows


def training(path: Path, n: int = 4000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.lognormal(0, 0.5, n),
            "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "prediction": rng.uniform(0, 1, n),
        }
    )
    frame.to_parquet(path)
    return path


def traffic(
    n: int, start: datetime, span: timedelta, *, shift: float = 0.0, seed: int = 1, model="m"
) -> list[Prediction]:
    """n predictions spread evenly over [start, start + span); `shift` moves x by shift·σ
    and tilts c towards "a"."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    y = rng.lognormal(0, 0.5, n)
    p = np.array([0.5, 0.3, 0.2]) if not shift else np.array([0.8, 0.1, 0.1])
    c = rng.choice(["a", "b", "c"], n, p=p)
    proba = np.clip(rng.uniform(0, 1, n) + (0.3 * shift), 0, 1)
    step = span / n
    return [
        Prediction(
            event_id=f"{seed}-{start.timestamp():.0f}-{i}",
            model=model,
            model_version="1",
            ts=start + step * i,
            features={"x": float(x[i]), "y": float(y[i]), "c": str(c[i])},
            prediction=int(proba[i] >= 0.5),
            prediction_proba=float(proba[i]),
        )
        for i in range(n)
    ]


def put(engine: Any, batch: list[Prediction], sketcher: Any = None) -> None:
    result = store_batch(engine, batch, [], [])
    if sketcher is not None and result.predictions_inserted == len(batch):
        sketcher(batch)


def settings_for(url: str, ref: Path, **monitor: Any) -> Settings:
    doc: dict[str, Any] = {
        "database": {"url": url},
        "reports": {"enabled": False},
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(ref),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                "rules": [
                    {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
                    {"name": "no-data", "condition": "insufficient_data", "for": 2},
                ],
                **monitor,
            }
        ],
    }
    return parse_settings(doc)
