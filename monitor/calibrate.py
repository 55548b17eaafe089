"""A monitor's false-alarm budget against what its drift rules are expected to raise.

`calibration(engine, monitor)` builds the simulation plan (`monitor.drift.simulate.Plan`)
from the monitor's settings and its stored reference, runs it on the reference rows and adds
the budget and the measured false-alarm share from operators' marks. The result is plain
JSON, cached per reference version + config + options (it costs seconds). Used by
`monitor calibrate`, GET /api/v1/monitors/{name}/calibration and the monitor's page.

Settings that other branches add are read with getattr defaults, so this works with and
without them: a threshold "auto" (per feature or for the monitor), `drift.correction`
(none | holm | bh) and rules with condition `sequential_drift`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from monitor.display import PREDICTION_FEATURE
from monitor.drift.defaults import default_method
from monitor.drift.registry import METHODS, Kind
from monitor.drift.sequential import CusumConfig
from monitor.drift.simulate import simulate
from monitor.drift.simulate_plan import MIN_JUDGED, FeaturePlan, Plan, RulePlan, SequentialPlan
from monitor.errors import InputError, ReferenceFailed
from monitor.reference import Reference, latest, reference_frame
from monitor.settings import MonitorSettings
from monitor.settings.alarm import judged_every, judged_window
from monitor.storage.alert_marks import marked_share
from monitor.storage.calibration_reads import typical_window_rows
from monitor.storage.db import Engine

PERIOD = timedelta(days=30)
DRIFT_CONDITIONS = ("dataset_drift", "drift_share", "feature_drift", "feature_statistic",
                    "prediction_drift", "sequential_drift")  # fmt: skip
_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 32
_lock = threading.Lock()

__all__ = [
    "PERIOD",
    "calibration",
    "feature_plans",
    "measured_share",
    "plan_for",
    "sequential_config",
    "sequential_every",
    "sequential_judges",
    "window_rows",
]


def _kind(ref: Reference | None, frame: pd.DataFrame, monitor: MonitorSettings, name: str) -> Kind:
    per = monitor.drift.per_feature.get(name)
    if per is not None and per.kind is not None:
        return per.kind
    if name in monitor.features:
        return monitor.features[name]
    if ref is not None and name in ref.specs:
        return "categorical" if getattr(ref.specs[name], "kind", "") == "categorical" else "numeric"
    from monitor.drift.frames import infer_kind

    return infer_kind(name, frame[name], frame[name])


def _method_threshold(
    monitor: MonitorSettings, name: str, kind: Kind, n_ref: int, m: int, n_cat: int
) -> tuple[str, float | None, bool]:
    """The scheduler's choice: `DriftSettings.auto_method` for auto features (the same
    function the scheduler judges by), else the engine's (`engine.choose_method` /
    `choose_threshold`)."""
    d = monitor.drift
    auto = d.auto_method(name, kind)
    if auto is not None:
        return auto, None, True
    per = d.per_feature.get(name)
    fo_method = per.method if per is not None else None
    fo_thr = getattr(per, "threshold", None) if per is not None else None
    g_thr = getattr(d, "threshold", None)
    if fo_method is not None:
        method = fo_method
    elif d.method is not None and kind in METHODS[d.method].kinds:
        method = d.method
    else:
        method = default_method(kind, n_ref, m, n_cat)
    if fo_thr is not None:
        return method, float(fo_thr), False
    if g_thr is not None and fo_method is None and method == d.method:
        return method, float(g_thr), False
    return method, None, False


def feature_plans(
    monitor: MonitorSettings, frame: pd.DataFrame, ref: Reference | None, rows: int
) -> tuple[FeaturePlan, ...]:
    """Each compared column's method and threshold for windows of `rows` rows."""
    out = []
    for label in frame.columns:
        name = str(label)
        if name in monitor.drift.ignore or (name.startswith("__") and name != PREDICTION_FEATURE):
            continue
        if name == PREDICTION_FEATURE and not monitor.prediction_drift:
            continue
        col = frame[label]
        if col.notna().sum() == 0:
            continue
        kind = _kind(ref, frame, monitor, name)
        n_ref = int(col.notna().sum())
        m = max(2, round(rows * n_ref / max(len(frame), 1)))
        n_cat = int(col.nunique()) if kind == "categorical" else 0
        method, thr, auto = _method_threshold(monitor, name, kind, n_ref, m, n_cat)
        out.append(FeaturePlan(name, kind, method, thr, auto))
    return tuple(out)


def _sequential(monitor: MonitorSettings) -> SequentialPlan:
    """The scheduler's CUSUM settings (`alarm.sequential`: k, warm-up in judged windows,
    delta, cap, learn)."""
    s = monitor.alarm.sequential
    warmup = s.judged_warmup(sequential_every(monitor))
    return SequentialPlan(k=s.k, warmup=warmup, delta=s.delta, cap=s.cap, learn=s.learn)


def sequential_config(
    monitor: MonitorSettings, features: int, reference_share: float | None = None
) -> CusumConfig:
    """The monitor's CUSUM, one definition for the scheduler (`scheduler.sequential.
    config_for`) and the backtest: ARL0 = the sequential rule's share of the budget in runs
    (`AlarmSettings.budgets`), shared by `features`; `reference_share`
    (`largest_reference_share` of the window) picks the bound (`CusumConfig.bound_for`).
    The simulation builds the same from its `Plan` (`simulate_rules._config`, pinned)."""
    seq = monitor.alarm.sequential
    budgets = monitor.alarm.budgets(monitor.run_every, (r.condition for r in monitor.rules))
    every = sequential_every(monitor)
    return CusumConfig(
        # at least MIN_JUDGED judged windows (a budget of a few runs on a long sliding window)
        max(MIN_JUDGED, budgets.sequential_runs / every) if every > 1 else budgets.sequential_runs,
        max(features, 1), k=seq.k, warmup=seq.judged_warmup(every),
        delta=seq.delta, cap=seq.cap, learn=seq.learn, reference_share=reference_share,
        budget_share=budgets.sequential_share, judged_every=every,
    )  # fmt: skip


def sequential_every(monitor: MonitorSettings) -> int:
    """n: the sequential rule judges every n-th run of a sliding window (ceil(size / step),
    1 otherwise; `settings.alarm.judged_every`). One definition for the scheduler, the
    simulation's plan and the backtest."""
    w = monitor.window
    return judged_every(w.kind, w.size, w.step, w.events)


def sequential_judges(monitor: MonitorSettings, window_end: datetime) -> bool:
    """Whether the sequential rule judges the run whose window ends at `window_end`
    (`settings.alarm.judged_window`): every run of a tumbling or count window."""
    return judged_window(window_end, monitor.window.step, sequential_every(monitor))


def plan_for(
    monitor: MonitorSettings, frame: pd.DataFrame, ref: Reference | None, rows: int
) -> Plan:
    """The simulation plan of a monitor's drift rules for windows of `rows` rows."""
    every = monitor.run_every or timedelta(hours=1)
    rules = tuple(
        RulePlan(r.name, r.condition, r.threshold, r.feature, r.for_runs) for r in monitor.rules
    )  # rules of other families are listed as not simulated
    features = feature_plans(monitor, frame, ref, rows)
    budgets = monitor.alarm.budgets(monitor.run_every, (r.condition for r in monitor.rules))
    return Plan(
        features=features,
        rules=rules,
        window_rows=rows,
        budget_runs=budgets.runs,
        window_share=budgets.window_share,
        sequential_share=budgets.sequential_share,
        run_every_s=every.total_seconds(),
        drift_share=monitor.drift.drift_share,
        correction=str(getattr(monitor.drift, "correction", None) or "none"),
        delta=monitor.alarm.delta,
        bins=monitor.drift.bins,
        prediction=PREDICTION_FEATURE
        if any(f.name == PREDICTION_FEATURE for f in features)
        else None,
        sequential=_sequential(monitor),
        judged_every=sequential_every(monitor),
    )


def window_rows(engine: Engine, monitor: MonitorSettings, given: int | None, now: datetime) -> int:
    """Rows per window: given, a count window's size, else the median of the last 100
    stored runs."""
    if given is not None:
        return given
    if monitor.window.events is not None:
        return monitor.window.events
    typical = typical_window_rows(engine, monitor.name)
    if typical is None or typical < 2:
        raise InputError(
            f"monitor {monitor.name}: window size unknown (a time window and no stored run "
            "yet); give the rows per window (--window-rows)"
        )
    return typical


def measured_share(engine: Engine, monitor: str, now: datetime) -> dict[str, Any]:
    """Operators' marks over the last 30 days: marked, marked false, the share."""
    s = marked_share(engine, monitor, now - PERIOD)
    return {
        "days": PERIOD.days,
        "marked": s.marked,
        "false": s.false,
        "share": s.share,
        "by_rule": {r: {"marked": n, "false": x} for r, (n, x) in s.by_rule.items()},
    }


def _key(ref: Reference, monitor: MonitorSettings, *parts: Any) -> str:
    text = f"{ref.id}|{monitor.model_dump_json()}|{parts!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def calibration(
    engine: Engine,
    monitor: MonitorSettings,
    *,
    windows: int = 2000,
    rows: int | None = None,
    seed: int = 0,
    now: datetime | None = None,
    compute: bool = True,
) -> dict[str, Any] | None:
    """The simulation for the monitor's stored reference (cached), budget and marks.
    `compute=False`: only a cached result (None when there is none)."""
    now = now or datetime.now(UTC)
    ref = latest(engine, monitor.name)
    if ref is None:
        raise ReferenceFailed(
            f"monitor {monitor.name}: no materialised reference; run `monitor reference "
            f"--monitor {monitor.name}` first"
        )
    m = window_rows(engine, monitor, rows, now)
    key = _key(ref, monitor, windows, m, seed)
    with _lock:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
    if cached is None and not compute:
        return None
    if cached is None:
        frame, _ = reference_frame(engine, monitor)
        frame = frame[[c for c in frame.columns if c in ref.specs]]
        result = simulate(frame, plan_for(monitor, frame, ref, m), windows=windows, seed=seed)
        cached = {"monitor": monitor.name, "reference_version": ref.version, "key": key, **result}
        with _lock:
            _CACHE[key] = cached
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return {**cached, "measured": measured_share(engine, monitor.name, now)}
