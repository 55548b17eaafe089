"""Sketch deltas per time bucket, built from batches of stored predictions.

Ingestion calls a `BucketSketcher` after each batch it stored in full, so a scheduled run
merges small bucket sketches instead of re-reading raw events. Deltas are a cache, never the
truth: a run compares their row count with the stored events of its window and rebuilds the
window from raw events when they differ (a batch stored partly, a reference created after the
events arrived, a consumer that died between the two writes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from monitor.drift.sketch_groups import sketch_groups
from monitor.errors import DriftError, MonitorError
from monitor.events import Prediction
from monitor.reference import Reference, latest
from monitor.settings import MonitorSettings, Settings
from monitor.storage.event_frames import TS_COLUMN, prediction_value, rows_to_frame
from monitor.storage.sketch_store import Delta, append_deltas

log = logging.getLogger("monitor.bucketing")


def matches(monitor: MonitorSettings, p: Prediction) -> bool:
    if p.model != monitor.model:
        return False
    if monitor.model_version is not None and p.model_version != monitor.model_version:
        return False
    seg = p.segment or {}
    return all(seg.get(k) == v for k, v in monitor.segment.items())


def frame_deltas(
    monitor: str, reference: Reference, frame: pd.DataFrame, bucket: timedelta
) -> list[Delta]:
    """One delta per (bucket, feature) for the rows of `frame` (needs the `__ts__` column).

    Vectorised over buckets: each feature is binned once for the whole frame, whatever the
    number of buckets its rows fall in (out-of-order batches can span hundreds)."""
    if frame.empty:
        return []
    ns = pd.DatetimeIndex(pd.to_datetime(frame[TS_COLUMN], utc=True)).asi8
    step = bucket // timedelta(microseconds=1) * 1000
    starts, groups = np.unique(ns // step * step, return_inverse=True)
    sizes = np.bincount(groups, minlength=len(starts))
    when = [datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(s) // 1000) for s in starts]
    out: list[Delta] = []
    for name, spec in reference.specs.items():
        column = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
        try:
            sketches = sketch_groups(spec, column, groups, len(starts))
        except DriftError as exc:
            raise DriftError(f"column {name!r}: {exc}") from None
        out.extend(
            Delta(monitor, reference.id, name, when[i], int(sizes[i]), sk)
            for i, sk in enumerate(sketches)
        )
    return out


def predictions_frame(batch: Sequence[Prediction], columns: list[str]) -> pd.DataFrame:
    rows = [(p.ts, p.features, p.prediction, p.prediction_proba) for p in batch]
    return rows_to_frame(rows, columns)


class BucketSketcher:
    """Holds each monitor's newest reference (re-read every `refresh_s`) and writes deltas."""

    def __init__(self, engine, settings: Settings, refresh_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        self._engine = engine
        self._monitors = list(settings.monitors)  # a reference may come from `reference set`
        self._refresh_s = refresh_s
        self._refs: dict[str, Reference] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def references(self) -> dict[str, Reference]:
        with self._lock:
            if time.monotonic() - self._loaded_at >= self._refresh_s:
                refs = {}
                for m in self._monitors:
                    ref = latest(self._engine, m.name)
                    if ref is not None:
                        refs[m.name] = ref
                self._refs, self._loaded_at = refs, time.monotonic()
            return self._refs

    def deltas(self, batch: Sequence[Prediction]) -> list[Delta]:
        refs = self.references()
        out: list[Delta] = []
        for m in self._monitors:
            ref = refs.get(m.name)
            if ref is None:
                continue
            mine = [p for p in batch if matches(m, p)]
            if mine:
                frame = predictions_frame(mine, ref.features)
                out.extend(frame_deltas(m.name, ref, frame, m.window.bucket))
        return out

    def __call__(self, batch: Sequence[Prediction]) -> int:
        """Write the deltas of a fully stored batch; failures are logged, runs heal them."""
        if not batch or not self._monitors:
            return 0
        try:
            return append_deltas(self._engine, self.deltas(batch))
        except MonitorError as exc:
            log.warning("sketch_deltas_skipped", extra={"error": str(exc)[:300]})
            return 0


__all__ = ["BucketSketcher", "frame_deltas", "matches", "prediction_value", "predictions_frame"]
