"""Reference windows: materialised once (specs + sketches), versioned, loaded by every run.

A reference comes from a CSV/Parquet training file, a fixed time range of stored events, or
the first N events / D days of the monitored model's stored traffic. Materialising derives the
per-feature sketch specs (fine bin edges, top-K categories) and the reference's own sketches;
both are stored in `reference_datasets` as a new version. Runs and ingestion use the newest
version; nothing re-reads the training data until someone asks (`monitor reference refresh`).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sketch import Sketch, Spec, from_bytes, spec_from_dict, to_bytes
from monitor.drift.sketch_report import fit_reference
from monitor.errors import (
    ConfigError,
    DriftError,
    EstimationError,
    InputError,
    MonitorError,
    ReferenceFailed,
    ReferencePending,
)
from monitor.performance.labelled import LabelledWindow
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine
from monitor.storage.estimators import EstimatorRow, store_estimator
from monitor.storage.event_frames import (
    PREDICTION_FEATURE,
    TS_COLUMN,
    EventFilter,
    count_events,
    first_event_ts,
    load_frame,
    nth_event_ts,
)
from monitor.storage.references import (
    ReferenceRow,
    latest_reference,
    reference_versions,
    store_reference,
)

log = logging.getLogger("monitor.reference")
_LEN = struct.Struct("<I")
LABEL_COLUMN = "__label__"


@dataclass(frozen=True)
class Reference:
    id: int
    monitor: str
    version: int
    created_at: datetime
    source: str
    row_count: int
    specs: dict[str, Spec]
    sketches: dict[str, Sketch]
    performance: dict[str, float] | None = None  # metrics on the reference, when labelled

    @property
    def features(self) -> list[str]:
        return [n for n in self.specs if n != PREDICTION_FEATURE]


def event_filter(monitor: MonitorSettings) -> EventFilter:
    return EventFilter(monitor.model, monitor.model_version, dict(monitor.segment) or None)


def drift_options(monitor: MonitorSettings, index: int | None = None, **kw: Any) -> DriftOptions:
    """The engine options of a monitor: its drift section plus kinds from `features`."""
    prefix = f"monitors[{index}].drift" if index is not None else f"monitor {monitor.name}: drift"
    options = DriftOptions.from_settings(monitor.drift.fixed(), prefix=prefix, **kw)
    if not monitor.features:
        return options
    per_feature = dict(options.per_feature)
    for name, kind in monitor.features.items():
        fo = per_feature.get(name, FeatureOptions())
        per_feature[name] = FeatureOptions(fo.method, fo.threshold, fo.kind or kind)
    return DriftOptions(
        method=options.method,
        threshold=options.threshold,
        per_feature=per_feature,
        ignore=options.ignore,
        drift_share=options.drift_share,
        bins=options.bins,
        extra=options.extra,
        workers=options.workers,
    )


def reference_frame(engine: Engine, monitor: MonitorSettings) -> tuple[pd.DataFrame, str]:
    """The reference rows (feature columns + `__prediction__` when known) and a source label."""
    ref = monitor.reference
    if ref is None:
        raise ConfigError(f"config error at monitor {monitor.name}: no reference configured")
    columns = list(monitor.features) or None
    if ref.path is not None:
        from monitor.drift.frames import read_frame

        frame = read_frame(ref.path)
        if ref.prediction_column and ref.prediction_column in frame.columns:
            frame = frame.rename(columns={ref.prediction_column: PREDICTION_FEATURE})
        if ref.label_column and ref.label_column in frame.columns:
            frame = frame.rename(columns={ref.label_column: LABEL_COLUMN})
        if columns is not None:
            absent = [c for c in columns if c not in frame.columns]
            if absent:
                raise InputError(
                    f"reference {ref.path} lacks configured feature(s): {', '.join(absent)}"
                )
            extra = [c for c in (PREDICTION_FEATURE, LABEL_COLUMN) if c in frame.columns]
            frame = frame[columns + extra]
        return frame, f"file:{ref.path}"
    flt = event_filter(monitor)
    if ref.start is not None and ref.end is not None:
        frame = load_frame(engine, flt, start=ref.start, end=ref.end, columns=columns)
        source = f"events:{ref.start.isoformat()}..{ref.end.isoformat()}"
    elif ref.first_events is not None:
        frame = load_frame(engine, flt, limit=ref.first_events, columns=columns)
        source = f"events:first {ref.first_events}"
    else:
        first = first_event_ts(engine, flt)
        if first is None:
            raise ReferenceFailed(f"monitor {monitor.name}: no stored events to take a reference")
        end = first + timedelta(days=float(ref.first_days or 0))
        frame = load_frame(engine, flt, start=first, end=end, columns=columns)
        source = f"events:first {ref.first_days:g} days from {first.isoformat()}"
    return frame.drop(columns=[TS_COLUMN]), source


def materialise(
    engine: Engine,
    monitor: MonitorSettings,
    *,
    frame: pd.DataFrame | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> Reference:
    """Fit specs and sketches on the reference rows and store them as a new version."""
    if frame is None:
        frame, source = reference_frame(engine, monitor)
    if len(frame) == 0:
        raise ReferenceFailed(f"monitor {monitor.name}: the reference has no rows")
    performance = None
    fit_on: pd.DataFrame | LabelledWindow | None = None
    if LABEL_COLUMN in frame.columns:
        performance = reference_metrics(monitor, frame)
        fit_on = frame
        frame = frame.drop(columns=[LABEL_COLUMN])
    elif monitor.performance_enabled and monitor.reference and not monitor.reference.path:
        labelled = _stored_labelled(engine, monitor)
        performance = _stored_reference_metrics(monitor, labelled)
        fit_on = labelled
    options = drift_options(monitor)
    if not monitor.prediction_drift and PREDICTION_FEATURE in frame:
        frame = frame.drop(columns=[PREDICTION_FEATURE])
    if PREDICTION_FEATURE in frame and frame[PREDICTION_FEATURE].isna().all():
        frame = frame.drop(columns=[PREDICTION_FEATURE])
    try:
        specs, sketches = fit_reference(frame, options)
    except DriftError as exc:
        raise ReferenceFailed(f"monitor {monitor.name}: reference: {exc}") from None
    now = now or datetime.now(UTC)
    blob = b"".join(_LEN.pack(len(b)) + b for b in (to_bytes(sketches[n]) for n in specs))
    spec_doc = {
        "features": {n: s.to_dict() for n, s in specs.items()},
        "order": list(specs),
        "performance": performance,
    }
    row = store_reference(
        engine,
        monitor.name,
        created_at=now,
        source=source or "frame",
        row_count=len(frame),
        spec=spec_doc,
        sketch=blob,
    )
    if fit_on is not None and monitor.performance.estimator != "none":
        fit_estimator(engine, monitor, row.id, fit_on, now)
    from monitor.reference_nulls import materialise_nulls

    materialise_nulls(engine, monitor, row.id, frame, specs, now)
    return Reference(
        row.id, row.monitor, row.version, row.created_at, row.source, row.row_count, specs,
        sketches, performance,
    )  # fmt: skip


def ensure_reference(engine: Engine, monitor: MonitorSettings, now: datetime) -> Reference:
    """The newest reference version; materialised on first use once its source is complete.

    Stored traffic gets the monitor's `window.lateness` as windows do, so events of the
    range stored late are in the reference. ReferencePending while it is incomplete."""
    ref = latest(engine, monitor.name)
    if ref is not None:
        return ref
    spec = monitor.reference
    if spec is None:
        raise ReferenceFailed(f"monitor {monitor.name}: no reference configured")
    flt = event_filter(monitor)
    settled = now - monitor.window.lateness  # events before this are in (as for windows)
    if spec.end is not None and spec.end > settled:
        raise ReferencePending(
            f"monitor {monitor.name}: the reference range ends at {spec.end.isoformat()}"
            + (f" (+ lateness {monitor.window.lateness})" if monitor.window.lateness else "")
        )
    if spec.first_events is not None:
        have = count_events(engine, flt, datetime(1970, 1, 1, tzinfo=UTC), now)
        if have < spec.first_events:
            raise ReferencePending(
                f"monitor {monitor.name}: {have} of the first {spec.first_events} reference "
                "events stored so far"
            )
    if spec.first_days is not None:
        first = first_event_ts(engine, flt)
        if first is None or first + timedelta(days=spec.first_days) > settled:
            raise ReferencePending(
                f"monitor {monitor.name}: the first {spec.first_days:g} days are not over yet"
            )
    return materialise(engine, monitor, now=now)


def _is_probability(values: pd.Series) -> bool:
    """A float column in [0, 1] with non-integral values: scores, not classes."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty or v.dtype.kind != "f":
        return False
    return bool(v.between(0, 1).all() and (v != v.round()).any())


def reference_metrics(monitor: MonitorSettings, frame: pd.DataFrame) -> dict[str, float] | None:
    """Metrics of the training file's predictions against its labels (rules compare windows
    with these). The prediction column may hold classes or positive-class probabilities."""
    from monitor.performance import reference_performance

    if PREDICTION_FEATURE not in frame.columns:
        return None
    pred = frame[PREDICTION_FEATURE]
    cfg = monitor.performance
    labelled = frame.dropna(subset=[LABEL_COLUMN])
    data = {"label": labelled[LABEL_COLUMN].to_numpy()}
    as_proba = cfg.task != "regression" and _is_probability(pred)
    data["proba" if as_proba else "prediction"] = labelled[PREDICTION_FEATURE].to_numpy()
    try:
        metrics = reference_performance(
            data,
            prediction_column=None if as_proba else "prediction",
            proba_column="proba" if as_proba else None,
            task=cfg.task,
            pos_label=cfg.positive_class,
        )
    except MonitorError:
        return None
    return {k: v for k, v in metrics.scalars().items() if v is not None}


def _stored_range(engine: Engine, monitor: MonitorSettings) -> tuple[datetime, datetime] | None:
    """[start, end) of a reference taken from stored traffic. First N events: through the
    N-th event's timestamp (events sharing that instant beyond the N-th count too)."""
    ref, flt = monitor.reference, event_filter(monitor)
    assert ref is not None
    if ref.start is not None and ref.end is not None:
        return ref.start, ref.end
    first = first_event_ts(engine, flt)
    if first is None:
        return None
    if ref.first_days is not None:
        return first, first + timedelta(days=float(ref.first_days))
    last = nth_event_ts(engine, flt, ref.first_events or 1)
    return (first, last + timedelta(microseconds=1)) if last is not None else None


def _stored_labelled(engine: Engine, monitor: MonitorSettings) -> LabelledWindow | None:
    """The predictions (with their labels) of a reference of stored traffic."""
    from monitor.storage.labelled import load_window

    span = _stored_range(engine, monitor)
    if span is None:
        return None
    return load_window(
        engine, monitor.model, *span,
        model_version=monitor.model_version, segment=dict(monitor.segment) or None,
    )  # fmt: skip


def _stored_reference_metrics(
    monitor: MonitorSettings, window: LabelledWindow | None
) -> dict[str, float] | None:
    """The model's metrics on a reference of stored traffic, from its labelled events."""
    from monitor.performance import reference_performance

    if window is None or not window.labelled.any():
        return None
    try:
        metrics = reference_performance(
            window, task=monitor.performance.task, pos_label=monitor.performance.positive_class
        )
    except MonitorError:
        return None
    return {k: v for k, v in metrics.scalars().items() if v is not None}


def fit_estimator(
    engine: Engine,
    monitor: MonitorSettings,
    reference_id: int,
    rows: pd.DataFrame | LabelledWindow | None,
    now: datetime,
) -> EstimatorRow | None:
    """Fit the monitor's `performance.estimator` on the labelled reference rows (a file
    frame or stored traffic) and store its JSON state with the reference version, once.
    A reference the estimator cannot learn from is logged and left without one."""
    from monitor.performance.estimation.fitting import fit_state

    method = monitor.performance.estimator
    try:
        state = fit_state(
            method, rows, list(monitor.features), monitor.performance.positive_class,
            label=LABEL_COLUMN,
        )  # fmt: skip
    except (EstimationError, InputError) as exc:
        log.warning(
            "estimator_not_fitted",
            extra={"monitor": monitor.name, "estimator": method, "error": str(exc)},
        )
        return None
    return store_estimator(engine, reference_id, method, state, now)


def latest(engine: Engine, monitor: str, version: int | None = None) -> Reference | None:
    """The newest (or the given) version of a monitor's reference, or None."""
    row = latest_reference(engine, monitor, version)
    return None if row is None else _from_row(row)


def versions(engine: Engine, monitor: str) -> list[dict[str, Any]]:
    """The monitor's stored versions, newest first (without their specs and sketches)."""
    return reference_versions(engine, monitor)


def _from_row(row: ReferenceRow) -> Reference:
    order = row.spec["order"]
    specs = {n: spec_from_dict(row.spec["features"][n]) for n in order}
    blob, pos, sketches = row.sketch, 0, {}
    for name in order:
        (size,) = _LEN.unpack_from(blob, pos)
        pos += _LEN.size
        sketches[name] = from_bytes(blob[pos : pos + size])
        pos += size
    return Reference(
        row.id,
        row.monitor,
        row.version,
        row.created_at,
        row.source,
        row.row_count,
        specs,
        sketches,
        row.spec.get("performance"),
    )
