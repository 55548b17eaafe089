"""Load one labelled window: a model's predictions in [start, end) LEFT JOIN their labels.

Windows are evaluated on the *prediction* time, so a late label lands in the window of the
prediction it labels. Labels join by (model, event_id); the stored label is already the
newest one (see `storage/writes.py`). Bound parameters only; the same Core query on Postgres
and SQLite. A segment filter (`{"country": "FR"}`: every key must match) is pushed down on
Postgres (`segment::jsonb @> filter`) and applied in Python on both dialects.

Label delay is label event time minus prediction event time (both producer timestamps),
in seconds; coverage is labelled predictions / predictions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, cast, select
from sqlalchemy.dialects.postgresql import JSONB

from monitor.performance.columns import json_safe
from monitor.storage.db import storage_errors
from monitor.storage.tables import labels, predictions

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _epoch_us(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


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


def load_window(
    engine: Engine,
    model: str,
    start: datetime,
    end: datetime,
    *,
    model_version: str | None = None,
    segment: Mapping[str, str] | None = None,
) -> LabelledWindow:
    """Predictions of `model` (optionally one version / segment) with start <= ts < end,
    each with its label if one is stored."""
    join = and_(labels.c.model == predictions.c.model, labels.c.event_id == predictions.c.event_id)
    stmt = (
        select(
            predictions.c.ts,
            predictions.c.model_version,
            predictions.c.prediction,
            predictions.c.prediction_proba,
            predictions.c.segment,
            labels.c.label,
            labels.c.ts.label("label_ts"),
            labels.c.received_at.label("label_received_at"),
        )
        .select_from(predictions.outerjoin(labels, join))
        .where(predictions.c.model == model, predictions.c.ts >= start, predictions.c.ts < end)
        .order_by(predictions.c.ts, predictions.c.event_id)
    )
    if model_version is not None:
        stmt = stmt.where(predictions.c.model_version == model_version)
    wanted = dict(segment or {})
    with storage_errors(engine, "load labelled window"), engine.connect() as conn:
        if wanted and conn.dialect.name == "postgresql":
            stmt = stmt.where(cast(predictions.c.segment, JSONB).contains(wanted))
        rows = conn.execute(stmt).all()
    if wanted:
        rows = [r for r in rows if segment_matches(r.segment, wanted)]
    return _to_window(model, start, end, rows)


def _to_window(model: str, start: datetime, end: datetime, rows: list[Any]) -> LabelledWindow:
    n = len(rows)
    labelled = np.fromiter((r.label_ts is not None for r in rows), bool, n)
    y_true = np.empty(n, dtype=object)
    y_true[:] = [r.label if r.label_ts is not None else None for r in rows]
    y_pred = np.empty(n, dtype=object)
    y_pred[:] = [r.prediction for r in rows]
    versions = np.empty(n, dtype=object)
    versions[:] = [r.model_version for r in rows]
    ts_us = np.fromiter((_epoch_us(r.ts) for r in rows), np.int64, n)
    label_ts_us = np.fromiter(
        (_epoch_us(r.label_ts) if r.label_ts is not None else 0 for r in rows), np.int64, n
    )
    received = [r.label_received_at for r in rows if r.label_received_at is not None]
    proba, proba_classes = _proba([r.prediction_proba for r in rows])
    return LabelledWindow(
        model=model,
        start=start,
        end=end,
        y_pred=y_pred,
        proba=proba,
        proba_classes=proba_classes,
        y_true=y_true,
        model_version=versions,
        segments=tuple(r.segment for r in rows),
        ts_us=ts_us,
        label_ts_us=label_ts_us,
        labelled=labelled,
        labels_received_max=max(received) if received else None,
    )


def _proba(values: list[Any]) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """Scalars -> (n,) positive-class probabilities; any object -> (n, k) over the union of
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
    "load_window",
    "segment_matches",
]
