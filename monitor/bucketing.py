"""Sketch deltas per time bucket, built from batches of stored predictions.

Ingestion calls a `BucketSketcher` after each batch it stored in full, so a scheduled run
merges small bucket sketches instead of re-reading raw events. Deltas are a cache, never the
truth: a run compares their row count with the stored events of its window and rebuilds the
window from raw events when they differ (a batch stored partly, a reference created after the
events arrived, a consumer that died between the two writes).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from monitor.drift.sketch import NumericSpec, Spec
from monitor.drift.sketch_groups import coded_blobs, column_codes, group_blobs, sketch_groups
from monitor.errors import DriftError, MonitorError
from monitor.event_columns import PredictionColumns
from monitor.events import Prediction
from monitor.reference import Reference, latest
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import Connection, Engine, StorageUnavailable
from monitor.storage.event_frames import (
    PREDICTION_FEATURE,
    TS_COLUMN,
    prediction_value,
    rows_to_frame,
)
from monitor.storage.ingest_store import write_deltas, write_deltas_nested
from monitor.storage.sketch_store import Delta, DeltaRow

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


_NONE_TYPES = frozenset({type(None)})
_PLAIN_NUMBERS = frozenset({int, float, type(None)})  # as sketch_groups.column_codes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def matching_rows(monitor: MonitorSettings, cols: PredictionColumns) -> list[int] | None:
    """Rows of `cols` that belong to the monitor; None: all of them."""
    model, version, segment = monitor.model, monitor.model_version, monitor.segment.items()
    if (
        all(m == model for m in cols.model)
        and (version is None or all(v == version for v in cols.model_version))
        and not segment
    ):
        return None
    return [
        i
        for i, (m, v, seg) in enumerate(
            zip(cols.model, cols.model_version, cols.segment, strict=True)
        )
        if m == model
        and (version is None or v == version)
        and all((seg or {}).get(k) == want for k, want in segment)
    ]


@dataclass(frozen=True)
class DeltaInputs:
    """What one monitor's deltas of a batch are computed from: each reference feature's
    values and each row's bucket, as plain lists and arrays (cheap to send to a process)."""

    monitor: str
    reference_id: int
    specs: dict[str, Spec]
    when: list[datetime]  # bucket starts
    sizes: list[int]  # rows per bucket
    groups: np.ndarray  # each row's bucket index
    values: dict[str, Any]  # feature name (and the prediction) -> values over the rows
    # (a list of JSON scalars, or `column_codes`' array: see `coded_inputs`)


def delta_inputs(
    monitor: str, reference: Reference, cols: PredictionColumns, bucket: timedelta
) -> DeltaInputs:
    """The inputs of `column_delta_rows` (a non-empty batch)."""
    keys = np.fromiter(((t - _EPOCH) // bucket for t in cols.ts), dtype=np.int64, count=len(cols))
    starts, groups = np.unique(keys, return_inverse=True)
    sizes = np.bincount(groups, minlength=len(starts)).tolist()
    when = [_EPOCH + bucket * k for k in starts.tolist()]
    values = _table_columns(cols, reference) or feature_columns(cols.features, reference.features)
    if PREDICTION_FEATURE in reference.specs:
        values[PREDICTION_FEATURE] = list(
            map(prediction_value, cols.prediction, cols.prediction_proba)
        )
    return DeltaInputs(monitor, reference.id, reference.specs, when, sizes, groups, values)


def input_rows(inputs: DeltaInputs) -> list[DeltaRow] | None:
    """The delta rows of `inputs` (pure: runs in ingestion's worker process); None when some
    values' sketch depends on pandas' dtype inference (see `group_blobs`): use the frame path."""
    n, when, sizes = len(inputs.when), inputs.when, inputs.sizes
    out: list[DeltaRow] = []
    for name, spec in inputs.specs.items():
        values = inputs.values[name]
        try:
            if isinstance(values, np.ndarray):
                blobs: list[bytes] | None = coded_blobs(spec, values, inputs.groups, n)
            else:
                blobs = group_blobs(
                    spec, values, inputs.groups, n, object_column=name == PREDICTION_FEATURE
                )
        except DriftError as exc:
            raise DriftError(f"column {name!r}: {exc}") from None
        if blobs is None:
            return None
        out.extend(
            DeltaRow(inputs.monitor, inputs.reference_id, name, when[i], sizes[i], blob)
            for i, blob in enumerate(blobs)
        )
    return out


def coded_inputs(inputs: DeltaInputs) -> DeltaInputs | None:
    """`inputs` with each column as `column_codes`' array (float64 values, category codes)
    instead of a list of Python objects: what the writer sends the delta worker, as
    pickling those lists one object at a time and unpickling them in the worker cost more
    than coding them here (bench/RESULTS.md). None: some column needs the frame path."""
    coded: dict[str, Any] = {}
    for name, spec in inputs.specs.items():
        values = inputs.values[name]
        if not isinstance(values, np.ndarray):
            values = column_codes(spec, values, object_column=name == PREDICTION_FEATURE)
            if values is None:
                return None
        coded[name] = values
    return dataclasses.replace(inputs, values=coded)


def column_delta_rows(
    monitor: str, reference: Reference, cols: PredictionColumns, bucket: timedelta
) -> list[DeltaRow]:
    """`frame_deltas` for a batch of columns, as rows ready to store: the same deltas (the
    same sketch bytes) without building a frame or Sketch objects. Falls back to the frame
    path for values whose sketch depends on pandas' dtype inference (see `group_blobs`)."""
    if not len(cols):
        return []
    rows = input_rows(delta_inputs(monitor, reference, cols, bucket))
    if rows is None:
        frame = predictions_frame(list(cols), reference.features)
        return [d.row() for d in frame_deltas(monitor, reference, frame, bucket)]
    return rows


def _table_columns(cols: PredictionColumns, reference: Reference) -> dict[str, Any] | None:
    """The reference features' columns from the parse's feature table (None without one):
    the lists `feature_columns` would build, and a numeric spec's plain numbers already as
    the float64 array `column_codes` would make of them (its type set is known here)."""
    if cols.feature_table is None:
        return None
    table, n = cols.feature_table, len(cols)
    out: dict[str, Any] = {}
    for name in reference.features:
        values, types = table.get(name) or ([None] * n, _NONE_TYPES)
        spec = reference.specs.get(name)
        if (
            isinstance(spec, NumericSpec)
            and _PLAIN_NUMBERS.issuperset(types)
            and not _NONE_TYPES.issuperset(types)
        ):
            out[name] = np.array(values, dtype=np.float64)
        else:
            out[name] = values
    return out


def feature_columns(feats: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Each named feature's values over the events (None where absent), in C-level passes
    when every event carries the features the first one does."""
    if not feats:
        return {name: [] for name in names}
    present = [n for n in names if n in feats[0]]
    out: dict[str, list[Any]] = {}
    try:
        table = list(map(itemgetter(*present), feats)) if present else []
    except KeyError:  # some event lacks one: look each up
        present = []
    if len(present) == 1:
        out[present[0]] = table
    elif present:
        out.update(zip(present, map(list, zip(*table, strict=True)), strict=True))
    for name in names:
        if name not in out:
            out[name] = [f.get(name) for f in feats]
    return out


def predictions_frame(batch: Sequence[Prediction], columns: list[str]) -> pd.DataFrame:
    rows = [(p.ts, p.features, p.prediction, p.prediction_proba) for p in batch]
    return rows_to_frame(rows, columns)


DeltaPlan = list[tuple[MonitorSettings, Reference]]
"""What a batch's deltas are built from: each monitor with its current reference."""


def plan_rows(plan: DeltaPlan, cols: PredictionColumns) -> list[DeltaRow]:
    """The delta rows of a batch for every (monitor, reference) of `plan` (pure: no I/O, so
    it can run in a worker process)."""
    out: list[DeltaRow] = []
    for m, ref in plan:
        mine = matching_rows(m, cols)
        sub = cols if mine is None else cols.take(mine)
        out.extend(column_delta_rows(m.name, ref, sub, m.window.bucket))
    return out


def plan_inputs(plan: DeltaPlan, cols: PredictionColumns) -> list[DeltaInputs]:
    """`delta_inputs` of every (monitor, reference) of `plan` with rows in the batch."""
    out: list[DeltaInputs] = []
    for m, ref in plan:
        mine = matching_rows(m, cols)
        sub = cols if mine is None else cols.take(mine)
        if len(sub):
            out.append(delta_inputs(m.name, ref, sub, m.window.bucket))
    return out


class BucketSketcher:
    """Holds each monitor's newest reference (re-read every `refresh_s`) and writes deltas."""

    def __init__(self, engine: Engine, settings: Settings, refresh_s: float = 30.0) -> None:
        self._engine = engine
        self._monitors = list(settings.monitors)  # a reference may come from `reference set`
        self._refresh_s = refresh_s
        self._refs: dict[str, Reference] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._plan: DeltaPlan = []
        self._plan_of: dict[str, Reference] | None = None

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

    def plan(self) -> DeltaPlan:
        """Each monitor with a reference, with that reference minus its sketches (all the
        deltas need; small enough to send to a worker process with every batch)."""
        refs = self.references()
        with self._lock:
            if self._plan_of is not refs:
                self._plan = [
                    (m, dataclasses.replace(refs[m.name], sketches={}))
                    for m in self._monitors
                    if m.name in refs
                ]
                self._plan_of = refs
            return self._plan

    def rows(self, batch: Sequence[Prediction] | PredictionColumns) -> list[DeltaRow]:
        """The deltas of a batch as rows to store (`deltas`, from columns)."""
        return plan_rows(self.plan(), PredictionColumns.of(batch))

    def prepare(self, batch: Sequence[Prediction] | PredictionColumns) -> list[DeltaRow] | None:
        """`rows`, or None (logged) when they cannot be built: the batch is stored without
        deltas and the runs rebuild its buckets from raw events."""
        if not batch or not self._monitors:
            return None
        try:
            return self.rows(batch)
        except MonitorError as exc:
            log.warning("sketch_deltas_skipped", extra={"error": str(exc)[:300]})
            return None

    def write(self, conn: Connection, rows: list[DeltaRow]) -> int:
        """Store `rows` in the caller's transaction, inside a savepoint: a refused delta write
        (say, its reference was just deleted) is logged and leaves the batch's own rows be."""
        if not rows:
            return 0
        try:
            return write_deltas_nested(self._engine, conn, rows)
        except StorageUnavailable:
            raise
        except MonitorError as exc:
            log.warning("sketch_deltas_skipped", extra={"error": str(exc)[:300]})
            return 0

    def __call__(self, batch: Sequence[Prediction] | PredictionColumns) -> int:
        """Write the deltas of a fully stored batch in a transaction of their own; failures
        are logged, runs heal them."""
        rows = self.prepare(batch)
        if not rows:
            return 0
        try:
            return write_deltas(self._engine, rows)
        except MonitorError as exc:
            log.warning("sketch_deltas_skipped", extra={"error": str(exc)[:300]})
            return 0


__all__ = [
    "BucketSketcher",
    "DeltaInputs",
    "DeltaPlan",
    "coded_inputs",
    "column_delta_rows",
    "delta_inputs",
    "frame_deltas",
    "input_rows",
    "matches",
    "matching_rows",
    "plan_inputs",
    "plan_rows",
    "prediction_value",
    "predictions_frame",
]
