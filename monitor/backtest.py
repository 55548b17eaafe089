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

from monitor.calibrate import PERIOD, feature_plans
from monitor.display import PREDICTION_FEATURE
from monitor.drift.calibration import NullCalibration, calibrate
from monitor.drift.correction import correct
from monitor.drift.registry import METHODS, decide
from monitor.drift.result import FeatureResult
from monitor.drift.sequential import CusumConfig, CusumState, update
from monitor.lifecycle import AlertState, step
from monitor.reference import reference_frame
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
    def __init__(self, engine: Engine, proposed: MonitorSettings, windows: list[StoredWindow]):
        self.m, self.windows = proposed, windows
        rows = max((w.current_rows for w in windows), default=0)
        frame, _ = reference_frame(engine, proposed)
        self.plans = {f.name: f for f in feature_plans(proposed, frame, None, max(rows, 2))}
        self.correction = str(getattr(proposed.drift, "correction", None) or "none")
        self.budget = proposed.alarm.runs(proposed.run_every)
        self.alpha = min(0.5, 1.0 / self.budget)
        inputs = [n for n in self.plans if n != PREDICTION_FEATURE]
        self.level = 1.0 - self.alpha / max(1, len(inputs))
        self.unavailable = 0
        self.nulls = self._nulls(frame, rows)

    def _nulls(self, frame, rows: int) -> NullCalibration | None:
        seq = any(r.condition == SEQUENTIAL for r in self.m.rules)
        want = {n: f for n, f in self.plans.items()
                if not METHODS[f.method].is_p_value and (f.auto or seq or self.correction != "none")}  # fmt: skip
        if not want or rows < 2:
            return None
        return calibrate(
            frame[list(want)], methods={n: (f.method,) for n, f in want.items()},
            kinds={n: f.kind for n, f in want.items()},
            sizes=tuple(sorted({max(2, rows // 4), max(2, rows // 2), rows, 2 * rows})),
        )  # fmt: skip

    def feature(self, row: dict[str, Any], w: StoredWindow) -> FeatureResult | None:
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
        miss = float(doc.get("missing_share_current") or 0.0)
        m = max(2.0, w.current_rows * (1.0 - miss))
        thr = plan.threshold
        if plan.auto and self.nulls is not None and plan.name in self.nulls.features:
            thr = self.nulls.features[plan.name].threshold(m, self.level)
        thr = METHODS[plan.method].default_threshold if thr is None else thr
        return FeatureResult(
            plan.name, plan.kind, plan.method, got[0], got[1], thr,
            decide(plan.method, got[0], got[1], thr), float(doc.get("missing_share_reference") or 0),
            miss, stats, doc.get("quality") or {},
        )  # fmt: skip

    def p_value(self, f: FeatureResult, m: float) -> float:
        if METHODS[f.method].is_p_value:
            return math.nan if f.p_value is None else f.p_value
        if self.nulls is None or f.name not in self.nulls.features:
            return math.nan
        return self.nulls.features[f.name].p_value(f.statistic, m)

    def z(self, f: FeatureResult, m: float) -> float:
        if not METHODS[f.method].is_p_value and self.nulls and f.name in self.nulls.features:
            return self.nulls.features[f.name].z_score(f.statistic, m)
        p = self.p_value(f, m)
        return math.nan if math.isnan(p) else float(sps.norm.isf(max(p, 1e-300)))

    def facts(self, w: StoredWindow) -> tuple[RunFacts, tuple[FeatureResult, ...]]:
        feats = tuple(x for row in w.features if (x := self.feature(row, w)) is not None)
        inputs = tuple(f for f in feats if f.name != PREDICTION_FEATURE)
        share = sum(f.drifted for f in inputs) / len(inputs) if inputs else 0.0
        dataset = bool(inputs) and share >= self.m.drift.drift_share
        if self.correction != "none" and inputs:
            ps = {f.name: self.p_value(f, w.current_rows) for f in inputs}
            dataset = correct(ps, self.correction, self.alpha).any_rejected  # type: ignore[arg-type]
        pred = PREDICTION_FEATURE if any(f.name == PREDICTION_FEATURE for f in feats) else None
        facts = RunFacts(
            monitor=self.m.name, model=self.m.model, model_version=self.m.model_version,
            run_id=w.run_id, window_start=w.window_start, window_end=w.window_end,
            status="succeeded" if w.status == "succeeded" else "insufficient_data",
            dataset_drift=dataset if w.status == "succeeded" else None,
            drift_share=share if w.status == "succeeded" else None,
            drift_share_threshold=self.m.drift.drift_share,
            features=feats if w.status == "succeeded" else (), prediction_feature=pred,
            current_rows=w.current_rows, reference_rows=w.reference_rows,
        )  # fmt: skip
        return facts, inputs


def _cusum(replay: _Replay, inputs, w: StoredWindow, state: CusumState, counts: Counter, rule):
    s = getattr(rule, "k", None)
    cfg = CusumConfig(
        arl0=replay.budget, features=max(1, len(inputs)), k=float(s or 1.0),
        warmup=int(getattr(rule, "warmup", None) or 96),
        delta=float(getattr(replay.m.alarm, "delta", 0.02)), cap=getattr(rule, "cap", 3.0),
    )  # fmt: skip
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
        if seq and w.status == "succeeded":
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
    }
