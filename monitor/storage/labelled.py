"""Load labelled windows: a model's predictions in [start, end) LEFT JOIN their labels.

Labels join by (model, event_id); the stored label is already the newest one (see
`storage/writes.py`). Bound parameters only; the same Core query on Postgres and SQLite.
A segment filter (`{"country": "FR"}`: every key must match) is pushed down on Postgres
(`segment::jsonb @> filter`) and applied in Python on both dialects. The window type and
its arithmetic (coverage, label delay) are pure: `performance/labelled.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from monitor.performance.labelled import LabelledWindow, proba_arrays, segment_matches
from monitor.storage.db import storage_errors
from monitor.storage.tables import labels, predictions

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _epoch_us(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


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
    each with its label if one is stored, in prediction-time order."""
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
        rows: Sequence[Any] = conn.execute(stmt).all()
    if wanted:
        rows = [r for r in rows if segment_matches(r.segment, wanted)]
    return _to_window(model, start, end, rows)


def _to_window(model: str, start: datetime, end: datetime, rows: Sequence[Any]) -> LabelledWindow:
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
    proba, proba_classes = proba_arrays([r.prediction_proba for r in rows])
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


def relabelled_span(
    engine: Engine,
    model: str,
    model_version: str | None,
    since: datetime,
    lo: datetime,
    hi: datetime,
) -> tuple[datetime, datetime] | None:
    """Prediction-time span [first, last] of the model's predictions in [lo, hi) whose labels
    were stored after `since` (None when there are none)."""
    p, lab = predictions.c, labels.c
    stmt = (
        select(func.min(p.ts), func.max(p.ts))
        .select_from(
            labels.join(predictions, and_(p.model == lab.model, p.event_id == lab.event_id))
        )
        .where(lab.model == model, lab.received_at > since, p.ts >= lo, p.ts < hi)
    )
    if model_version is not None:
        stmt = stmt.where(p.model_version == model_version)
    with storage_errors(engine, "find relabelled windows"), engine.connect() as conn:
        first, last = conn.execute(stmt).one()
    return None if first is None else (first, last)


__all__ = ["load_window", "relabelled_span"]
