"""Compute one (monitor, window) run: claim it, merge sketches, compare, judge, store, alert.

Flow: claim the run key (once across replicas) -> the monitor's reference (materialised on
first use when its source is available) -> count the window's stored events; below
`min_events` the run is "insufficient_data" -> make sure the bucket sketches cover every
stored event of the window (else rebuild them from raw events) -> merge them and compare
with the reference's sketches -> evaluate the rules -> render the HTML report when a rule
holds (or on every run, by config) -> write the run, its feature rows, the alert changes and
their outbox rows in one transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from monitor.alerts import apply_run
from monitor.bucketing import frame_deltas
from monitor.drift.options import DriftOptions
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import Sketch
from monitor.drift.sketch_report import compare_sketches, sketch_feature, sketch_frame
from monitor.errors import MonitorError
from monitor.reference import (
    Reference,
    ReferencePending,
    drift_options,
    ensure_reference,
    event_filter,
)
from monitor.rules import RunFacts, evaluate
from monitor.scheduler import categories as new_categories
from monitor.settings import MonitorSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage import sketch_store
from monitor.storage.event_frames import PREDICTION_FEATURE, TS_COLUMN, count_events, load_frame
from monitor.window import Window

log = logging.getLogger("monitor.scheduler")


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    monitor: str
    window: Window
    status: str  # succeeded | insufficient_data | failed
    current_rows: int = 0
    dataset_drift: bool | None = None
    drift_share: float | None = None
    drifted: tuple[str, ...] = ()
    report_path: str | None = None
    rebuilt_sketches: bool = False
    alerts: tuple[Any, ...] = field(default_factory=tuple)
    error: str | None = None
    duration_s: float = 0.0


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


def run_window(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    *,
    now: datetime | None = None,
    retry_failed: bool = False,
) -> RunOutcome | None:
    """Compute one window if this process claims it; None when another replica has it."""
    now = now or datetime.now(UTC)
    run_id = run_store.claim(
        engine,
        monitor.name,
        window.start,
        window.end,
        now,
        settings.scheduler.lease,
        retry_failed=retry_failed,
    )
    if run_id is None:
        return None
    began = time.monotonic()
    try:
        return _compute(engine, settings, monitor, window, run_id, now, began)
    except ReferencePending as exc:
        return _fail(engine, monitor, window, run_id, now, began, str(exc), status="skipped")
    except MonitorError as exc:
        return _fail(engine, monitor, window, run_id, now, began, str(exc))
    except Exception as exc:  # a bug must not leave a run "running" until its lease ends
        log.exception("run_crashed", extra={"monitor": monitor.name, "run_id": run_id})
        return _fail(engine, monitor, window, run_id, now, began, f"internal error: {exc!r}")


def _fail(
    engine: Engine,
    monitor: MonitorSettings,
    window: Window,
    run_id: int,
    now: datetime,
    began: float,
    error: str,
    status: str = "failed",
) -> RunOutcome:
    """Finish a run that compared nothing: failed, or skipped (reference still pending)."""
    duration = time.monotonic() - began
    with engine.begin() as conn:
        run_store.finish(conn, run_id, status=status, now=now, duration_s=duration, error=error)
    say = log.info if status == "skipped" else log.warning
    say(f"run_{status}", extra={"monitor": monitor.name, "run_id": run_id, "error": error})
    return RunOutcome(run_id, monitor.name, window, status, error=error, duration_s=duration)


def _compute(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    run_id: int,
    now: datetime,
    began: float,
) -> RunOutcome:
    ref = ensure_reference(engine, monitor, now)
    n_events = count_events(engine, event_filter(monitor), window.start, window.end)
    base = {
        "monitor": monitor.name,
        "model": monitor.model,
        "model_version": monitor.model_version,
        "run_id": run_id,
        "window_start": window.start,
        "window_end": window.end,
    }
    if n_events < monitor.window.min_events:
        facts = RunFacts(
            **base, status="insufficient_data", current_rows=n_events, reference_rows=ref.row_count
        )
        hits = evaluate(monitor.rules, facts)
        duration = time.monotonic() - began
        summary = {"min_events": monitor.window.min_events, "reference_version": ref.version}
        with engine.begin() as conn:
            run_store.finish(
                conn,
                run_id,
                status="insufficient_data",
                now=now,
                duration_s=duration,
                reference_id=ref.id,
                reference_rows=ref.row_count,
                current_rows=n_events,
                summary=summary,
            )
            changes = apply_run(conn, facts, hits, monitor.rules, settings.alerting, now)
        log.info(
            "run_insufficient_data",
            extra={"monitor": monitor.name, "run_id": run_id, "events": n_events},
        )
        return RunOutcome(
            run_id,
            monitor.name,
            window,
            "insufficient_data",
            current_rows=n_events,
            alerts=tuple(changes),
            duration_s=duration,
        )
    current, rebuilt = current_sketches(engine, monitor, ref, window, n_events)
    report, prediction = compare_window(ref, current, drift_options(monitor))
    flt, (start, end) = event_filter(monitor), (window.start, window.end)
    features = new_categories.from_events(
        engine, flt, start, end, report.features, ref.specs, current
    )
    report = replace(report, features=features)
    return _store(
        engine,
        settings,
        monitor,
        window,
        run_id,
        now,
        began,
        ref,
        report,
        prediction,
        rebuilt,
        base,
    )


def run_frame(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    frame: Any,
    *,
    now: datetime | None = None,
) -> RunOutcome | None:
    """A count window: the given rows (newest N events), keyed by their first/last timestamps."""
    now = now or datetime.now(UTC)
    ts = frame[TS_COLUMN]
    window = Window(min(ts), max(ts) + timedelta(microseconds=1))
    run_id = run_store.claim(
        engine, monitor.name, window.start, window.end, now, settings.scheduler.lease
    )
    if run_id is None:
        return None
    began = time.monotonic()
    try:
        ref = ensure_reference(engine, monitor, now)
        current = sketch_frame(ref.specs, frame.reindex(columns=list(ref.specs)))
        report, prediction = compare_window(ref, current, drift_options(monitor))
        report = replace(
            report, features=new_categories.from_frame(frame, report.features, ref.specs)
        )
        base = {
            "monitor": monitor.name,
            "model": monitor.model,
            "model_version": monitor.model_version,
            "run_id": run_id,
            "window_start": window.start,
            "window_end": window.end,
        }
        return _store(
            engine, settings, monitor, window, run_id, now, began, ref, report, prediction,
            False, base,
        )  # fmt: skip
    except ReferencePending as exc:
        return _fail(engine, monitor, window, run_id, now, began, str(exc), status="skipped")
    except MonitorError as exc:
        return _fail(engine, monitor, window, run_id, now, began, str(exc))


def _store(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    run_id: int,
    now: datetime,
    began: float,
    ref: Reference,
    report: DriftReport,
    prediction: FeatureResult | None,
    rebuilt: bool,
    base: dict[str, Any],
) -> RunOutcome:
    features = report.features + ((prediction,) if prediction is not None else ())
    multivariate = _multivariate(engine, monitor, window) if monitor.drift.multivariate else None
    facts = RunFacts(
        **base,
        status="succeeded",
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drift_share_threshold=report.drift_share_threshold,
        features=features,
        prediction_feature=PREDICTION_FEATURE if prediction is not None else None,
        current_rows=report.current_rows,
        reference_rows=ref.row_count,
        multivariate=multivariate,
    )
    hits = evaluate(monitor.rules, facts)
    report_path = None
    if settings.reports.enabled and (
        settings.reports.write_on == "every_run" or any(h.condition for h in hits)
    ):
        from monitor.scheduler.report import try_window_report

        report_path = try_window_report(
            engine, settings, monitor, window, report, prediction, run_id
        )
    url = None
    if report_path is not None:
        from monitor.reports import report_url

        url = report_url(report_path, settings.reports.base_url)
        facts = replace(facts, report_url=url)
    summary = {
        "reference_version": ref.version,
        "drift_share_threshold": report.drift_share_threshold,
        "prediction_drift": prediction.to_dict() if prediction is not None else None,
        "data_quality": data_quality(report),
        "sketches_rebuilt": rebuilt,
        "multivariate": multivariate,
    }
    duration = time.monotonic() - began
    with engine.begin() as conn:
        run_store.finish(
            conn,
            run_id,
            status="succeeded",
            now=now,
            duration_s=duration,
            reference_id=ref.id,
            reference_rows=ref.row_count,
            current_rows=report.current_rows,
            dataset_drift=report.dataset_drift,
            drift_share=report.drift_share,
            features=report.features,
            prediction=prediction,
            summary=summary,
            report_url=url,
        )
        changes = apply_run(conn, facts, hits, monitor.rules, settings.alerting, now)
    drifted = tuple(f.name for f in features if f.drifted)
    log.info(
        "run_finished",
        extra={
            "monitor": monitor.name,
            "run_id": run_id,
            "window_end": window.end.isoformat(),
            "events": report.current_rows,
            "dataset_drift": report.dataset_drift,
            "drift_share": round(report.drift_share, 4),
            "seconds": round(duration, 3),
        },
    )
    return RunOutcome(
        run_id,
        monitor.name,
        window,
        "succeeded",
        current_rows=report.current_rows,
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drifted=drifted,
        report_path=str(report_path) if report_path else None,
        rebuilt_sketches=rebuilt,
        alerts=tuple(changes),
        duration_s=duration,
    )


def _multivariate(engine: Engine, monitor: MonitorSettings, window: Window) -> dict | None:
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
