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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerts import apply_run
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch_report import sketch_frame
from monitor.errors import MonitorError, ReferencePending
from monitor.reference import Reference, ensure_reference, event_filter
from monitor.rules import RuleHit, RunFacts, evaluate
from monitor.scheduler import baseline as baselines
from monitor.scheduler import categories as new_categories
from monitor.scheduler import sequential
from monitor.scheduler.baseline_verdict import judge_against_baseline
from monitor.scheduler.comparison import (
    compare_window,
    current_sketches,
    data_quality,
    judge_window,
    multivariate,
)
from monitor.scheduler.retraining import with_retraining
from monitor.settings import MonitorSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage.db import Engine
from monitor.storage.event_frames import PREDICTION_FEATURE, TS_COLUMN, count_events
from monitor.window import Window

log = logging.getLogger("monitor.scheduler")

__all__ = [
    "RunOutcome",
    "compare_window",
    "current_sketches",
    "data_quality",
    "ensure_reference",
    "run_frame",
    "run_window",
]


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


@dataclass(frozen=True)
class ClaimedRun:
    """A run this process claimed: what every step of computing it needs."""

    engine: Engine
    settings: Settings
    monitor: MonitorSettings
    window: Window
    run_id: int
    now: datetime
    began: float

    def facts(self, **values: Any) -> RunFacts:
        """The rules' view of this run: its identity plus `values`."""
        m = self.monitor
        return RunFacts(
            monitor=m.name,
            model=m.model,
            model_version=m.model_version,
            run_id=self.run_id,
            window_start=self.window.start,
            window_end=self.window.end,
            **values,
        )

    def elapsed(self) -> float:
        return time.monotonic() - self.began


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
    run = _claim(engine, settings, monitor, window, now, retry_failed=retry_failed)
    if run is None:
        return None
    return _guarded(run, _compute)


def run_frame(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    frame: Any,
    *,
    now: datetime | None = None,
) -> RunOutcome | None:
    """A count window: the given rows (newest N events), keyed by their first/last timestamps."""
    ts = frame[TS_COLUMN]
    window = Window(min(ts), max(ts) + timedelta(microseconds=1))
    run = _claim(engine, settings, monitor, window, now)
    if run is None:
        return None

    def compute(run: ClaimedRun) -> RunOutcome:
        ref = ensure_reference(engine, monitor, run.now)
        current = sketch_frame(ref.specs, frame.reindex(columns=list(ref.specs)))
        report, prediction, decision = judge_window(engine, monitor, ref, current, run.now)
        report = replace(
            report, features=new_categories.from_frame(frame, report.features, ref.specs)
        )
        return _store(run, ref, report, prediction, rebuilt=False, decision=decision)

    return _guarded(run, compute)


def _claim(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    now: datetime | None,
    *,
    retry_failed: bool = False,
) -> ClaimedRun | None:
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
    return ClaimedRun(engine, settings, monitor, window, run_id, now, time.monotonic())


def _guarded(run: ClaimedRun, compute: Callable[[ClaimedRun], RunOutcome]) -> RunOutcome:
    """`compute(run)`; a run that cannot compare is finished as skipped or failed (a crash
    too, time and count windows alike: a claimed run is never left "running")."""
    try:
        return compute(run)
    except ReferencePending as exc:
        return _fail(run, str(exc), status="skipped")
    except MonitorError as exc:
        return _fail(run, str(exc))
    except Exception as exc:  # a bug must not leave a run "running" until its lease ends
        log.exception("run_crashed", extra={"monitor": run.monitor.name, "run_id": run.run_id})
        return _fail(run, f"internal error: {exc!r}")


def _fail(run: ClaimedRun, error: str, status: str = "failed") -> RunOutcome:
    """Finish a run that compared nothing: failed, or skipped (reference still pending)."""
    duration = run.elapsed()
    with run.engine.begin() as conn:
        run_store.finish(
            conn, run.run_id, status=status, now=run.now, duration_s=duration, error=error
        )
    say = log.info if status == "skipped" else log.warning
    say(f"run_{status}", extra={"monitor": run.monitor.name, "run_id": run.run_id, "error": error})
    return RunOutcome(
        run.run_id, run.monitor.name, run.window, status, error=error, duration_s=duration
    )


def _compute(run: ClaimedRun) -> RunOutcome:
    engine, monitor, window = run.engine, run.monitor, run.window
    ref = ensure_reference(engine, monitor, run.now)
    flt = event_filter(monitor)
    n_events = count_events(engine, flt, window.start, window.end)
    if n_events < monitor.window.min_events:
        return _insufficient(run, ref, n_events)
    current, rebuilt = current_sketches(engine, monitor, ref, window, n_events)
    baselines.save(engine, monitor, ref, window, n_events, current, run.now)
    base = baselines.build(engine, monitor, ref, window)  # None: the fixed reference
    if base is not None and base.insufficient:
        return _insufficient(run, ref, n_events, base)
    if base is not None:  # a moving baseline: auto nulls from its leave-one-out spread
        against = base.as_reference(ref)
        report, prediction, decision = judge_against_baseline(
            engine, monitor, ref, base, current, run.now
        )
    else:
        against = ref
        report, prediction, decision = judge_window(engine, monitor, ref, current, run.now)
    features = new_categories.from_events(
        engine, flt, window.start, window.end, report.features, ref.specs, current
    )
    report = replace(report, features=features)
    return _store(
        run, against, report, prediction, rebuilt=rebuilt, baseline=base, decision=decision
    )


def _insufficient(
    run: ClaimedRun, ref: Reference, n_events: int, base: baselines.Baseline | None = None
) -> RunOutcome:
    """Too few events (or too little baseline) to compare: recorded, and judged by the
    insufficient-data rules."""
    monitor = run.monitor
    described = base.describe() if base is not None else None
    facts = run.facts(
        status="insufficient_data",
        current_rows=n_events,
        reference_rows=ref.row_count,
        baseline=described,
    )
    hits = evaluate(monitor.rules, facts)
    duration = run.elapsed()
    summary: dict[str, Any] = {
        "min_events": monitor.window.min_events,
        "reference_version": ref.version,
    }
    if base is not None:
        summary |= {"baseline": described, "reason": base.reason}
    with run.engine.begin() as conn:
        run_store.finish(
            conn,
            run.run_id,
            status="insufficient_data",
            now=run.now,
            duration_s=duration,
            reference_id=ref.id,
            reference_rows=ref.row_count,
            current_rows=n_events,
            summary=summary,
        )
        changes = apply_run(conn, facts, hits, monitor.rules, run.settings.alerting, run.now)
    log.info(
        "run_insufficient_data",
        extra={"monitor": monitor.name, "run_id": run.run_id, "events": n_events,
               "reason": base.reason if base is not None else "events"},
    )  # fmt: skip
    return RunOutcome(
        run.run_id,
        monitor.name,
        run.window,
        "insufficient_data",
        current_rows=n_events,
        alerts=tuple(changes),
        duration_s=duration,
    )


def _store(
    run: ClaimedRun,
    ref: Reference,
    report: DriftReport,
    prediction: FeatureResult | None,
    *,
    rebuilt: bool,
    baseline: baselines.Baseline | None = None,
    decision: dict[str, Any] | None = None,
) -> RunOutcome:
    """Judge a compared run, write its report when due, then store run and alerts at once."""
    monitor = run.monitor
    described = baseline.describe() if baseline is not None else None
    mv = multivariate(run.engine, monitor, run.window) if monitor.drift.multivariate else None
    features = report.features + ((prediction,) if prediction is not None else ())
    facts = run.facts(
        status="succeeded",
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drift_share_threshold=report.drift_share_threshold,
        features=features,
        prediction_feature=PREDICTION_FEATURE if prediction is not None else None,
        current_rows=report.current_rows,
        reference_rows=ref.row_count,
        multivariate=mv,
        baseline=described,
        dataset_decision=decision,
    )
    facts = with_retraining(run.engine, monitor, ref, facts)  # issue 16: retraining_ineffective
    hits = evaluate(monitor.rules, facts)
    report_path, url = _write_report(run, report, prediction, hits)
    if url is not None:
        facts = replace(facts, report_url=url)
    summary = {**_summary(ref, report, prediction, rebuilt, mv), "dataset_decision": decision}
    summary |= _baseline_summary(described, baselines.alarmed_rules(hits))
    duration = run.elapsed()
    with run.engine.begin() as conn:
        run_store.finish(
            conn, run.run_id, status="succeeded", now=run.now, duration_s=duration,
            reference_id=ref.id, reference_rows=ref.row_count, current_rows=report.current_rows,
            dataset_drift=report.dataset_drift, drift_share=report.drift_share,
            features=report.features, prediction=prediction, summary=summary, report_url=url,
        )  # fmt: skip
        facts, hits = sequential.judge(conn, run.engine, monitor, ref, facts, hits, run.now)
        changes = apply_run(conn, facts, hits, monitor.rules, run.settings.alerting, run.now)
        sequential.restart_resolved(conn, monitor, ref, changes, run.now)
    _log_finished(run, report, duration)
    return RunOutcome(
        run.run_id,
        monitor.name,
        run.window,
        "succeeded",
        current_rows=report.current_rows,
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drifted=tuple(f.name for f in features if f.drifted),
        report_path=str(report_path) if report_path else None,
        rebuilt_sketches=rebuilt,
        alerts=tuple(changes),
        duration_s=duration,
    )


def _summary(
    ref: Reference,
    report: DriftReport,
    prediction: FeatureResult | None,
    rebuilt: bool,
    mv: dict[str, Any] | None,
) -> dict[str, Any]:
    """The details stored with a compared run (`drift_runs.summary`)."""
    return {
        "reference_version": ref.version,
        "drift_share_threshold": report.drift_share_threshold,
        "prediction_drift": prediction.to_dict() if prediction is not None else None,
        "data_quality": data_quality(report),
        "sketches_rebuilt": rebuilt,
        "multivariate": mv,
    }


def _baseline_summary(described: dict[str, Any] | None, alarmed: list[str]) -> dict[str, Any]:
    """The run's baseline (when not the fixed reference) and the data rules that held at it
    (`alarmed`: later trailing/seasonal baselines leave this window out)."""
    out: dict[str, Any] = {}
    if described is not None:
        out["baseline"] = described
    if alarmed:
        out["alarmed"] = alarmed
    return out


def _write_report(
    run: ClaimedRun, report: DriftReport, prediction: FeatureResult | None, hits: list[RuleHit]
) -> tuple[Path | None, str | None]:
    """The HTML report's path and URL when one is due (a rule holds, or every run)."""
    reports = run.settings.reports
    if not reports.enabled or (
        reports.write_on != "every_run" and not any(h.condition for h in hits)
    ):
        return None, None
    from monitor.scheduler.report import try_window_report

    path = try_window_report(
        run.engine, run.settings, run.monitor, run.window, report, prediction, run.run_id
    )
    if path is None:
        return None, None
    from monitor.reports import report_url

    return path, report_url(path, reports.base_url)


def _log_finished(run: ClaimedRun, report: DriftReport, duration: float) -> None:
    log.info(
        "run_finished",
        extra={
            "monitor": run.monitor.name,
            "run_id": run.run_id,
            "window_end": run.window.end.isoformat(),
            "events": report.current_rows,
            "dataset_drift": report.dataset_drift,
            "drift_share": round(report.drift_share, 4),
            "seconds": round(duration, 3),
        },
    )
