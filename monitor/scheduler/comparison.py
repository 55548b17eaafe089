"""What a scheduled run compares: the window's sketches against the reference's, the
per-feature data-quality figures kept with the run, and the multivariate score.

The window's sketches are the merged bucket deltas written at ingestion; when they do not
cover every stored event of the window they are rebuilt from the raw events first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.bucketing import frame_deltas
from monitor.drift.auto_verdict import AutoPlan, apply_auto
from monitor.drift.calibration import FeatureNull
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import Sketch
from monitor.drift.sketch_report import compare_sketches, sketch_feature
from monitor.errors import MonitorError
from monitor.reference import Reference, drift_options, event_filter
from monitor.settings import MonitorSettings
from monitor.storage import sketch_store
from monitor.storage.db import Engine
from monitor.storage.event_frames import PREDICTION_FEATURE, load_frame
from monitor.window import Window

log = logging.getLogger("monitor.scheduler")


def current_sketches(
    engine: Engine, monitor: MonitorSettings, ref: Reference, window: Window, n_events: int
) -> tuple[dict[str, Sketch], bool]:
    """The window's merged sketches; rebuilt from raw events when the deltas miss events."""
    covered = sketch_store.sketched_rows(engine, ref.id, window.start, window.end)
    rebuilt = covered != n_events
    if rebuilt:
        frame = load_frame(
            engine, event_filter(monitor), start=window.start, end=window.end, columns=ref.features
        )
        deltas = frame_deltas(monitor.name, ref, frame, monitor.window.bucket)
        sketch_store.replace_window(engine, ref.id, window.start, window.end, deltas)
        log.info(
            "sketches_rebuilt",
            extra={"monitor": monitor.name, "covered": covered, "events": n_events},
        )
    return sketch_store.window_sketches(engine, ref.id, window.start, window.end), rebuilt


def compare_window(
    ref: Reference, current: dict[str, Sketch], options: DriftOptions
) -> tuple[DriftReport, FeatureResult | None]:
    """Input features decide dataset drift; the prediction is judged on its own."""
    inputs = {n: s for n, s in ref.specs.items() if n != PREDICTION_FEATURE}
    report = compare_sketches(inputs, ref.sketches, current, options)
    prediction = None
    if PREDICTION_FEATURE in ref.specs and PREDICTION_FEATURE in current:
        cur = current[PREDICTION_FEATURE]
        if cur.count > 0:
            prediction = sketch_feature(
                PREDICTION_FEATURE,
                ref.specs[PREDICTION_FEATURE],
                ref.sketches[PREDICTION_FEATURE],
                cur,
                options,
            )
    return report, prediction


def auto_methods(monitor: MonitorSettings, ref: Reference) -> dict[str, str]:
    """Feature -> method of the monitor's auto-threshold features (`DriftSettings.auto_method`)."""
    out = {}
    for name, spec in ref.specs.items():
        method = monitor.drift.auto_method(name, spec.kind)
        if method is not None:
            out[name] = method
    return out


def auto_options(monitor: MonitorSettings, ref: Reference) -> tuple[DriftOptions, dict[str, str]]:
    """The monitor's drift options with each auto feature's method set and its threshold
    cleared (the verdict sets it), and feature -> method of the auto features."""
    methods = auto_methods(monitor, ref)
    return with_methods(drift_options(monitor), methods), methods


def with_methods(options: DriftOptions, methods: Mapping[str, str]) -> DriftOptions:
    """`options` with each named feature judged by its method and no fixed threshold."""
    per_feature = dict(options.per_feature)
    for name, method in methods.items():
        fo = per_feature.get(name, FeatureOptions())
        per_feature[name] = FeatureOptions(method, None, fo.kind)
    return replace(options, per_feature=per_feature)


def auto_plan(
    monitor: MonitorSettings, methods: dict[str, str], nulls: Mapping[str, FeatureNull]
) -> AutoPlan:
    """The auto verdict's plan: the per-window rule's share of the monitor's budget
    (`AlarmSettings.budgets`), guard and correction over `nulls`."""
    budgets = monitor.alarm.budgets(monitor.run_every, (r.condition for r in monitor.rules))
    return AutoPlan(
        methods=methods,
        nulls=nulls,
        budget_runs=budgets.window_runs,
        budget_share=budgets.window_share,
        delta=monitor.alarm.delta,
        correction=monitor.drift.correction,
    )


def judge_window(
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    current: dict[str, Sketch],
    now: datetime,
) -> tuple[DriftReport, FeatureResult | None, dict[str, Any] | None]:
    """Compare the window and judge it: auto features against the reference's stored null
    quantiles at the window's size (docs/drift.md, "In monitors"), the others by their fixed
    thresholds; the dataset decision (None: the drift-share rule decided)."""
    from monitor.scheduler.nulls import NULLS

    options, methods = auto_options(monitor, ref)
    report, prediction = compare_window(ref, current, options)
    if not methods:
        return report, prediction, None
    plan = auto_plan(monitor, methods, NULLS.get(engine, monitor, ref, now))
    counts = {n: s.count for n, s in current.items()}
    return apply_auto(report, prediction, counts, plan)


def data_quality(report: DriftReport) -> dict[str, Any]:
    """Per-feature data-quality figures kept in the run summary (dashboards read them)."""
    out: dict[str, Any] = {}
    for f in report.features:
        entry: dict[str, Any] = {
            "missing_share_reference": f.missing_share_reference,
            "missing_share_current": f.missing_share_current,
        }
        if f.kind == "numeric":
            entry["out_of_range_share"] = f.stats.get("share_outside_reference_range")
        else:
            entry["new_category_share"] = f.stats.get("new_category_share")
            entry["new_category_count"] = f.stats.get("new_category_count")
            entry["new_categories"] = f.stats.get("new_categories")
            entry["vanished_categories"] = f.stats.get("vanished_categories")
        if f.quality.get("error"):
            entry["error"] = f.quality["error"]
        out[f.name] = entry
    return out


def multivariate(engine: Engine, monitor: MonitorSettings, window: Window) -> dict[str, Any]:
    """Domain-classifier drift on raw rows (capped per side); an error is recorded, not raised."""
    from monitor.drift.multivariate import ClassifierOptions, domain_classifier_drift
    from monitor.reference import reference_frame

    cap = monitor.drift.multivariate_rows
    try:
        reference, _ = reference_frame(engine, monitor)
        columns = [c for c in reference.columns if c != PREDICTION_FEATURE]
        current = load_frame(
            engine, event_filter(monitor), start=window.start, end=window.end, limit=cap,
            newest=True, columns=columns,
        )  # fmt: skip
        options = ClassifierOptions(
            threshold=monitor.drift.multivariate_threshold, max_rows_per_side=cap
        )
        kinds = dict(monitor.features) or None
        return domain_classifier_drift(reference, current, columns, kinds, options)
    except MonitorError as exc:
        return {"method": "domain_classifier", "error": str(exc)[:300]}
