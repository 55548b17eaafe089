"""One labelled window: a model's predictions in [start, end), each with its label if any.

Pure types and arithmetic; `storage/labelled.py` loads the window (predictions LEFT JOIN
labels). Windows are evaluated on the *prediction* time, so a late label lands in the window
of the prediction it labels. Label delay is label event time minus prediction event time
(both producer timestamps), in seconds; coverage is labelled predictions / predictions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from monitor.performance.columns import json_safe


@dataclass(frozen=True)
class LabelledWindow:
    """Rows of one window, prediction-time order. Object arrays hold the raw JSON values
    (None = missing); `proba` is (n,) positive-class probabilities or (n, k) with columns
    `proba_classes`, NaN where a row has none."""

    model: str
    start: datetime
    end: datetime
    y_pred: np.ndarray  # object
    proba: np.ndarray | None
    proba_classes: tuple[str, ...] | None
    y_true: np.ndarray  # object, None where unlabelled
    model_version: np.ndarray  # object, None where unversioned
    segments: tuple[dict[str, str] | None, ...]
    ts_us: np.ndarray  # int64 prediction time, microseconds since the epoch
    label_ts_us: np.ndarray  # int64 label time; meaningless where not labelled
    labelled: np.ndarray  # bool
    labels_received_max: datetime | None  # newest label write among the window's rows

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def n_labelled(self) -> int:
        return int(self.labelled.sum())

    def take(self, index: np.ndarray) -> LabelledWindow:
        """The rows at `index` (an int index or a bool mask)."""
        idx = np.flatnonzero(index) if index.dtype == bool else index
        return LabelledWindow(
            self.model,
            self.start,
            self.end,
            self.y_pred[idx],
            None if self.proba is None else self.proba[idx],
            self.proba_classes,
            self.y_true[idx],
            self.model_version[idx],
            tuple(self.segments[i] for i in idx.tolist()),
            self.ts_us[idx],
            self.label_ts_us[idx],
            self.labelled[idx],
            self.labels_received_max,
        )


@dataclass(frozen=True)
class Coverage:
    predictions: int
    labelled: int

    @property
    def share(self) -> float | None:
        return self.labelled / self.predictions if self.predictions else None

    def to_dict(self) -> dict[str, Any]:
        return {"predictions": self.predictions, "labelled": self.labelled, "share": self.share}


@dataclass(frozen=True)
class LabelDelay:
    """Seconds from prediction to label over labelled rows (numpy linear percentiles)."""

    n: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.__dict__)


def label_coverage(window: LabelledWindow) -> Coverage:
    return Coverage(window.n, window.n_labelled)


def label_delay(window: LabelledWindow) -> LabelDelay:
    delays = (window.label_ts_us[window.labelled] - window.ts_us[window.labelled]) / 1e6
    if len(delays) == 0:
        return LabelDelay(0, None, None, None)
    p50, p95 = np.percentile(delays, [50, 95])
    return LabelDelay(len(delays), float(p50), float(p95), float(delays.max()))


def segment_matches(segment: Mapping[str, str] | None, wanted: Mapping[str, str]) -> bool:
    if not wanted:
        return True
    if not segment:
        return False
    return all(segment.get(k) == v for k, v in wanted.items())


def proba_arrays(values: list[Any]) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """The stored `prediction_proba` values of a window's rows as arrays.

    Scalars -> (n,) positive-class probabilities; any object -> (n, k) over the union of
    keys (a key missing from a row's object is probability 0 for that row; a row with a
    scalar or no probabilities in an object window is NaN)."""
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return None, None
    n = len(values)
    if dict not in kinds:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64), None
    keys = sorted({k for v in values if isinstance(v, dict) for k in v})
    col = {k: i for i, k in enumerate(keys)}
    out = np.full((n, len(keys)), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, dict):
            row = out[i]
            row[:] = 0.0
            for k, p in v.items():
                row[col[k]] = p
    return out, tuple(keys)


__all__ = [
    "Coverage",
    "LabelDelay",
    "LabelledWindow",
    "label_coverage",
    "label_delay",
    "proba_arrays",
    "segment_matches",
]
