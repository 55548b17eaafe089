"""Replay a monitor's stored windows through a proposed config before it is enabled.

Each finished drift run of the period keeps every statistic its features computed
(`drift_feature_results.stats`). The proposed config's drift settings re-decide each
feature from them (its method, threshold, `auto` null quantile), the dataset decision
(drift share, or Holm / BH), and its rules run through `monitor.rules.evaluate` and the
alert lifecycle (`monitor.lifecycle.step`: `for_runs`, one alert per episode); a
`sequential_drift` rule runs the CUSUM of `monitor.drift.sequential` over the windows in
order. The answer: how many alerts each rule would have raised, next to what the current
config did raise (stored alerts). A statistic the runs did not compute cannot be replayed
(that feature gives no verdict; counted in `unavailable`).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import stats as sps

from monitor.calibrate import (
    PERIOD,
    feature_plans,
    sequential_config,
    sequential_every,
    sequential_judges,
)
from monitor.display import PREDICTION_FEATURE
from monitor.drift.auto_verdict import DECIDED_BY, AutoPlan, apply_auto
from monitor.drift.calibration import FeatureNull
from monitor.drift.registry import METHODS, decide
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sequential import (
    CusumState,
    largest_reference_share,
    update,
    window_values,
)
from monitor.lifecycle import AlertState, step
from monitor.reference import reference_frame
from monitor.reference_nulls import calibrate_nulls
from monitor.rules import RunFacts, evaluate
from monitor.settings import MonitorSettings
from monitor.storage.calibration_reads import StoredWindow, fired_per_rule, stored_windows
from monitor.storage.db import Engine

SEQUENTIAL = "sequential_drift"

__all__ = ["backtest"]


def _value(stats: dict[str, Any], method: str) -> tuple[float, float | None] | None:
    v = stats.get(method)
    if isinstance(v, dict) and "statistic" in v:
        p = v.get("p_value")
        return float(v["statistic"]), None if p is None else float(p)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v), None
    return None


class _Replay:
    """The proposed config judging stored windows as the scheduler judges a window: fixed
    thresholds by `registry.decide`, auto features and the dataset decision by
    `auto_verdict.apply_auto` against the reference's null quantiles (the same seeded
    calibration `reference_nulls` stores when a reference is materialised)."""

    def __init__(self, engine: Engine, proposed: MonitorSettings, windows: list[StoredWindow]):
        self.m, self.windows = proposed, windows
        rows = max((w.current_rows for w in windows), default=0)
        frame, _ = reference_frame(engine, proposed)
        self.plans = {f.name: f for f in feature_plans(proposed, frame, None, max(rows, 2))}
        conditions = (r.condition for r in proposed.rules)
        self.budgets = proposed.alarm.budgets(proposed.run_every, conditions)
        self.unavailable = 0
        seq = any(r.condition == SEQUENTIAL for r in self.m.rules)
        wanted = {n: (f.kind, f.method) for n, f in self.plans.items()
                  if not METHODS[f.method].is_p_value and (f.auto or seq)}  # fmt: skip
        self.nulls: dict[str, FeatureNull] = (
            {x.name: x for x in calibrate_nulls(frame, wanted)} if wanted and rows >= 2 else {}
        )
        self.auto = AutoPlan(
            methods={n: f.method for n, f in self.plans.items() if f.auto},
            nulls={n: x for n, x in self.nulls.items() if self.plans[n].auto},
            budget_runs=self.budgets.window_runs,
            budget_share=self.budgets.window_share,
            delta=proposed.alarm.delta,
            correction=proposed.drift.correction,
        )

    def feature(self, row: dict[str, Any], rows: int) -> tuple[FeatureResult, int] | None:
        """The stored feature as the proposed config's method reads it, with its fixed
        verdict, and its non-missing count in the window."""
        plan = self.plans.get(row["feature"])
        if plan is None:
            return None
        doc = row.get("stats") or {}
        stats = doc.get("stats") or {}
        got: tuple[float, float | None] | None
        if plan.method == row["method"]:
            got = (
                float("nan") if row["statistic"] is None else float(row["statistic"]),
                row["p_value"],
            )
        else:
            got = _value(stats, plan.method)
        if got is None:
            self.unavailable += 1
            got = (math.nan, None)
        quality = doc.get("quality") or {}
        quality = {k: v for k, v in quality.items() if k != DECIDED_BY}
        thr = METHODS[plan.method].default_threshold if plan.threshold is None else plan.threshold
        miss = float(doc.get("missing_share_current") or 0.0)
        f = FeatureResult(
            plan.name, plan.kind, plan.method, got[0], got[1], thr,
            decide(plan.method, got[0], got[1], thr), float(doc.get("missing_share_reference") or 0),
            miss, stats, quality,
        )  # fmt: skip
        return f, self._count(doc, rows, miss)

    def _count(self, doc: dict[str, Any], rows: int, miss: float) -> int:
        decided = (doc.get("quality") or {}).get(DECIDED_BY) or {}
        if isinstance(decided.get("window_size"), int | float):
            return int(decided["window_size"])
        return round(rows * (1.0 - miss))

    def z(self, f: FeatureResult, m: float) -> float:
        null = self.nulls.get(f.name)
        if null is not None and not METHODS[f.method].is_p_value:
            return null.z_score(f.statistic, m)
        p = math.nan if f.p_value is None else float(f.p_value)
        return math.nan if math.isnan(p) else float(sps.norm.isf(max(p, 1e-300)))

    def facts(self, w: StoredWindow) -> tuple[RunFacts, tuple[FeatureResult, ...]]:
        got = [x for row in w.features if (x := self.feature(row, w.current_rows))]
        counts = {f.name: n for f, n in got}
        feats = [f for f, _ in got]
        inputs = tuple(f for f in feats if f.name != PREDICTION_FEATURE)
        pred = next((f for f in feats if f.name == PREDICTION_FEATURE), None)
        share = sum(f.drifted for f in inputs) / len(inputs) if inputs else 0.0
        drift_share = self.m.drift.drift_share
        report = DriftReport(w.reference_rows, w.current_rows, bool(inputs) and share >= drift_share,
                             share, drift_share, inputs)  # fmt: skip
        report, pred, _ = apply_auto(report, pred, counts, self.auto)
        inputs = report.features
        feats = [*inputs, *([pred] if pred is not None else [])]
        ok = w.status == "succeeded"
        facts = RunFacts(
            monitor=self.m.name, model=self.m.model, model_version=self.m.model_version,
            run_id=w.run_id, window_start=w.window_start, window_end=w.window_end,
            status="succeeded" if ok else "insufficient_data",
            dataset_drift=bool(report.dataset_drift) if ok else None,
            drift_share=report.drift_share if ok else None,
            drift_share_threshold=drift_share,
            features=tuple(feats) if ok else (), prediction_feature=pred.name if pred else None,
            current_rows=w.current_rows, reference_rows=w.reference_rows,
        )  # fmt: skip
        return facts, inputs


def _cusum(replay: _Replay, inputs, w: StoredWindow, state: CusumState, counts: Counter, rule):
    share = largest_reference_share(
        (window_values(f, w.current_rows), replay.nulls[f.name].reference_rows)
        for f in inputs
        if f.name in replay.nulls
    )
    cfg = sequential_config(replay.m, len(inputs), share)  # the scheduler's (config_for)
    z = {f.name: replay.z(f, w.current_rows) for f in inputs}
    state, alarmed = update(state, z, cfg, "stored")
    if alarmed:
        counts[rule.name] += len(alarmed)
        state = state.reset(alarmed)
    return state


def backtest(
    engine: Engine,
    proposed: MonitorSettings,
    *,
    days: float = PERIOD.days,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Alerts per rule that `proposed` would have raised on the monitor's stored windows."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    windows = stored_windows(engine, proposed.name, since)
    replay = _Replay(engine, proposed, windows)
    counts: Counter[str] = Counter()
    states: dict[tuple[str, str], AlertState] = {}
    cusum = CusumState()
    seq = [r for r in proposed.rules if r.condition == SEQUENTIAL]
    plain = [r for r in proposed.rules if r.condition != SEQUENTIAL]
    for w in windows:
        facts, inputs = replay.facts(w)
        for hit in evaluate(plain, facts):
            key = (hit.rule.name, hit.subject)
            d = step(states.get(key, AlertState()), hit.condition, w.window_end,
                     for_runs=hit.rule.for_runs)  # fmt: skip
            states[key] = d.state
            if d.transition is not None and d.transition[1] == "firing":
                counts[hit.rule.name] += 1
        if seq and w.status == "succeeded" and sequential_judges(proposed, w.window_end):
            cusum = _cusum(replay, inputs, w, cusum, counts, seq[0])
    stored = fired_per_rule(engine, proposed.name, since)
    return {
        "monitor": proposed.name,
        "days": days,
        "windows": len(windows),
        "unavailable": replay.unavailable,
        "rules": [
            {
                "name": r.name,
                "condition": r.condition,
                "alerts": counts.get(r.name, 0),
                "stored_alerts": stored.get(r.name),
            }
            for r in proposed.rules
        ],
        "stored_alerts": stored,
        "first_window": windows[0].window_start if windows else None,
        "last_window": windows[-1].window_end if windows else None,
        "per_day": sum(counts.values()) / days if days > 0 else float(np.nan),
        # the windows the sequential rule judged (a sliding window: every n-th, as scheduled)
        "sequential_windows": cusum.windows if seq else None,
        "judged_every": sequential_every(proposed),
    }
