"""The false-alarm budget made visible: a monitor's drift rules on simulated windows.

`simulate(reference, plan)` draws N healthy windows from the reference (rows with
replacement, all features of a row together, so that their dependence is kept), computes
each feature's statistic by the engine's definitions (`monitor.drift.simulate_draws`),
applies the plan's thresholds (fixed, the method's default, or `auto`: a null quantile of
`monitor.drift.calibration`), the dataset decision (drift share, or Holm / BH over the
features' p-values, `monitor.drift.correction`) and the sequential rule (the CUSUM of
`monitor.drift.sequential`), and reports the expected false alarms per day and per 30 days
at the monitor's cadence, per rule and per feature. Then the median detection delay of a
persistent shift of one feature: +0.1/0.25/0.5 reference sd for numerics, 10%/25% of the
top category's mass moved to the next for categoricals.

How the figures are obtained (docs/drift.md, "Calibrate"):

- An alert fires when its condition held for `for_runs` consecutive runs and it was not
  already firing; it resolves at the first run where the condition fails
  (`monitor.lifecycle.step`). With windows independent given the reference and a
  per-window probability q, new alerts per run are (1 - q) q^k: that is what is reported,
  q estimated from the N windows (its Monte Carlo error is in `per_window_se`).
- `fresh=True` (default): a window of a live stream differs from a fixed reference of N rows
  by F(1-F)(1/m + 1/N) at each point of the CDF, a window drawn from the reference by
  F(1-F)/m; the drawn statistics are scaled by sqrt(1 + m/N) (squared for chi-square, PSI,
  KL), the calibration's own first-order model. `fresh=False` keeps the draws as they are
  (what `monitor.drift.compare` gives for a window resampled from the reference).
- Delays: the median number of windows from the shift's start to the first alarm of the
  fastest rule (per-window rules: exact from q for independent windows; sequential: CUSUM
  streams on resampled scores, after a healthy warm-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from monitor.drift.alarm_guarantee import conditional_p_value, reference_share
from monitor.drift.auto_verdict import auto_level
from monitor.drift.calibration import (
    AUTO_METHOD,
    CATEGORICAL_METHODS,
    NUMERIC_METHODS,
    FeatureNull,
    NullCalibration,
    calibrate,
)
from monitor.drift.registry import METHODS, Kind
from monitor.drift.sequential import largest_reference_share
from monitor.drift.simulate_draws import Column, Shift, column_stats
from monitor.drift.simulate_plan import FeaturePlan, Plan, RulePlan, SequentialPlan
from monitor.drift.simulate_rules import (
    SEQUENTIAL,
    cusum_delay,
    cusum_false_alarms,
    dataset_condition,
    median_delay,
)
from monitor.errors import DriftError

SHIFTS: dict[Kind, tuple[Shift, ...]] = {
    "numeric": (Shift("mean", 0.1), Shift("mean", 0.25), Shift("mean", 0.5)),
    "categorical": (Shift("mass", 0.1), Shift("mass", 0.25)),
}
SIMULATED = frozenset(
    {"dataset_drift", "drift_share", "feature_drift", "feature_statistic", "prediction_drift"}
    | {SEQUENTIAL}
)

# the scheduler's guarded p-value (the same function, window by window)
_GUARDED = np.vectorize(conditional_p_value, otypes=[float])

__all__ = ["SHIFTS", "SIMULATED", "FeaturePlan", "Plan", "RulePlan", "SequentialPlan", "simulate"]


@dataclass
class _Sim:
    """What every rule reads: per feature statistic, p-value, flag and null score."""

    stat: dict[str, np.ndarray]
    p: dict[str, np.ndarray]
    flag: dict[str, np.ndarray]
    z: dict[str, np.ndarray]


def _calibratable(f: FeaturePlan) -> str | None:
    """The statistic whose null is calibrated for this feature (None: the test's own p)."""
    valid = NUMERIC_METHODS if f.kind == "numeric" else CATEGORICAL_METHODS
    if METHODS[f.method].is_p_value:
        return None
    return f.method if f.method in valid else AUTO_METHOD[f.kind]


def _nulls(reference: pd.DataFrame, plan: Plan, seed: int) -> NullCalibration | None:
    seq = any(r.condition == SEQUENTIAL for r in plan.rules)
    wanted = {
        f.name: m
        for f in plan.features
        if (m := _calibratable(f)) and (f.auto or seq)  # a correction reads auto ones only
    }
    if not wanted:
        return None
    rows = plan.window_rows
    sizes = tuple(sorted({max(2, rows // 2), max(2, rows), 2 * rows}))
    return calibrate(
        reference[list(wanted)],
        methods={n: (x,) for n, x in wanted.items()},
        kinds={f.name: f.kind for f in plan.features if f.name in wanted},
        sizes=sizes,
        draws=400,
        seed=seed + 1,
    )


def _z_of(null: FeatureNull, stat: np.ndarray, m: float) -> np.ndarray:
    """FeatureNull.z_score for many statistics at once (its own vectorised form)."""
    return null.z_scores(stat, m)


class _Runner:
    """The plan's features on a reference, ready to draw windows."""

    def __init__(self, reference: pd.DataFrame, plan: Plan, seed: int) -> None:
        if not plan.features:
            raise DriftError("nothing to simulate: the monitor has no feature")
        if plan.window_rows < 2:
            raise DriftError(f"window size must be at least 2 rows, got {plan.window_rows}")
        self.plan, self.rows = plan, len(reference)
        if self.rows == 0:
            raise DriftError("the reference has no rows")
        self.rng = np.random.default_rng(seed)
        self.cols = {
            f.name: Column.of(f.name, f.kind, reference[f.name], plan.bins) for f in plan.features
        }
        self.nulls = _nulls(reference, plan, seed)
        self.inputs = tuple(f.name for f in plan.features if f.name != plan.prediction)
        # as `auto_verdict.apply_auto`: alpha and delta split over the auto features judged,
        # the inputs and the prediction
        self.auto = tuple(f.name for f in plan.features if f.auto and f.name in self.inputs)
        self.k = max(1, sum(f.auto for f in plan.features))
        self.alpha_f, self.delta_f = plan.family_alpha / self.k, plan.delta / self.k

    def m(self, name: str) -> int:
        return self.cols[name].window_size(self.plan.window_rows)

    def cusum_share(self) -> float | None:
        """The inputs' `largest_reference_share` at the window size (the scheduler's bound)."""
        nulls = self.nulls.features if self.nulls is not None else {}
        return largest_reference_share(
            (self.m(n), nulls[n].reference_rows) for n in self.inputs if n in nulls
        )

    def positions(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Value positions of a column for drawn rows (independent draws with missing values)."""
        col = self.cols[name]
        if col.values.size == self.rows:
            return rows
        return self.rng.integers(0, col.values.size, size=(rows.shape[0], self.m(name)))

    def threshold(self, f: FeaturePlan) -> float:
        """The feature's threshold; auto: the scheduler's (`auto_verdict.auto_level`, the
        guarded null quantile at the window's values; a p-value test: alpha_f)."""
        if f.auto and METHODS[f.method].is_p_value:
            return self.alpha_f
        if f.auto:
            assert self.nulls is not None
            null, m = self.nulls.features[f.name], self.m(f.name)
            return null.threshold(m, auto_level(self.alpha_f, self.delta_f, m, null.reference_rows))
        return METHODS[f.method].default_threshold if f.threshold is None else f.threshold

    def feature(self, f: FeaturePlan, rows: np.ndarray, shift: Shift | None = None):
        """(statistic, p-value, flag, z) of feature f on the drawn rows."""
        col, m = self.cols[f.name], self.m(f.name)
        scale = math.sqrt(1.0 + m / col.values.size) if self.plan.fresh and shift is None else 1.0
        stat, p = column_stats(col, f.method, self.positions(f.name, rows), self.rng, shift, scale)
        thr = self.threshold(f)
        with np.errstate(invalid="ignore"):
            if METHODS[f.method].is_p_value:
                assert p is not None
                flag = (p <= thr) if f.auto else (p < thr)  # auto: as auto_verdict._with_test
            else:
                flag = stat >= thr
        null = self.nulls.features.get(f.name) if self.nulls is not None else None
        if null is not None and _calibratable(f) == f.method:
            z = _z_of(null, stat, m)
        elif p is not None:
            z = sps.norm.isf(np.clip(p, 1e-300, 1.0))
        else:
            z = np.full(stat.shape, np.nan)
        if f.auto and null is not None and p is None:  # the guarded p the correction reads
            p = _GUARDED(z, reference_share(m, null.reference_rows), self.delta_f)
        p_for_family = p if p is not None else sps.norm.sf(z)
        return stat, p_for_family, np.where(np.isnan(stat), False, flag), z

    def draw(self, n: int) -> _Sim:
        rows = self.rng.integers(0, self.rows, size=(n, self.plan.window_rows))
        sim = _Sim({}, {}, {}, {})
        for f in self.plan.features:
            s, p, fl, z = self.feature(f, rows)
            sim.stat[f.name], sim.p[f.name], sim.flag[f.name], sim.z[f.name] = s, p, fl, z
        return sim


def _conditions(rule: RulePlan, sim: _Sim, run: _Runner) -> dict[str, np.ndarray]:
    """Per subject ("" = the dataset), whether the rule's condition holds in each window."""
    plan = run.plan
    flags = np.array([sim.flag[n] for n in run.inputs])
    share = flags.mean(axis=0) if flags.size else np.zeros(0)
    c = rule.condition
    if c == "dataset_drift":
        return {"": _dataset_drift(sim, run, share)}
    if c == "drift_share":
        return {"": share >= float(rule.threshold or 0.0)}
    if c == "prediction_drift":
        return {"": sim.flag[plan.prediction]} if plan.prediction in sim.flag else {}
    names = (rule.feature,) if rule.feature else run.inputs
    names = tuple(n for n in names if n in sim.stat)
    if c == "feature_statistic":
        thr = float(rule.threshold or 0.0)
        return {n: np.nan_to_num(sim.stat[n], nan=-np.inf) >= thr for n in names}
    return {n: sim.flag[n] for n in names}


def _dataset_drift(sim: _Sim, run: _Runner, share: np.ndarray) -> np.ndarray:
    """The dataset decision as the scheduler makes it (`auto_verdict.apply_auto`): with auto
    input features, `correction` over their guarded p-values at alpha·k_in/k (`none`: any
    p <= that alpha); without, the share of flagged inputs against `drift_share`."""
    plan = run.plan
    if not run.auto:
        if not run.inputs:
            return np.zeros(len(next(iter(sim.flag.values()))), dtype=bool)
        return share >= plan.drift_share
    p = np.array([sim.p[n] for n in run.auto])
    alpha = plan.family_alpha * len(run.auto) / run.k
    if plan.correction == "none":
        with np.errstate(invalid="ignore"):
            return np.asarray((p <= alpha).any(axis=0))
    return dataset_condition(plan.correction, share, p, plan.drift_share, alpha)


def _rate(q: float, k: int) -> float:
    """New alerts per run for a condition holding with probability q in independent runs."""
    return (1.0 - q) * q**k if q < 1 else 0.0


def _per_time(rate_per_run: float, plan: Plan) -> dict[str, float]:
    per_day = rate_per_run * plan.runs_per_day
    return {"per_run": rate_per_run, "per_day": per_day, "per_30d": 30 * per_day}


def _healthy_rules(sim: _Sim, run: _Runner, n: int) -> list[dict[str, Any]]:
    out = []
    for rule in run.plan.rules:
        entry: dict[str, Any] = {"name": rule.name, "condition": rule.condition}
        if rule.condition == SEQUENTIAL:
            z = np.array([sim.z[name] for name in run.inputs]).T
            res = cusum_false_alarms(z, run.plan, run.rng, run.cusum_share())
            entry.update(res, **_per_time(res["per_run"], run.plan))
        elif rule.condition not in SIMULATED:
            entry["note"] = "not simulated: windows drawn from the reference cannot show it"
            out.append(entry)
            continue
        else:
            subjects: list[dict[str, Any]] = []
            for subject, holds in _conditions(rule, sim, run).items():
                q = float(holds.mean())
                subjects.append({"subject": subject, "per_window": q,
                                 "per_window_se": math.sqrt(q * (1 - q) / n),
                                 **_per_time(_rate(q, rule.for_runs), run.plan)})  # fmt: skip
            rate = float(sum(float(s["per_run"]) for s in subjects))
            entry.update(_per_time(rate, run.plan), subjects=subjects)
        out.append(entry)
    return out


def _feature_rows(sim: _Sim, run: _Runner) -> list[dict[str, Any]]:
    rows = []
    for f in run.plan.features:
        q = float(sim.flag[f.name].mean())
        rows.append({
            "name": f.name, "kind": f.kind, "method": f.method, "auto": f.auto,
            "threshold": run.threshold(f),
            "threshold_on": "p_value" if METHODS[f.method].is_p_value else "statistic",
            "window_values": run.m(f.name), "per_window": q,
            **_per_time(_rate(q, 1), run.plan),
        })  # fmt: skip
    return rows


def _delays(sim: _Sim, run: _Runner, pool: int) -> list[dict[str, Any]]:
    """Median delay of the fastest rule for each input feature and shift."""
    out = []
    base = _Sim(*(({k: v[:pool] for k, v in d.items()}) for d in vars(sim).values()))
    for f in run.plan.features:
        if f.name not in run.inputs:
            continue
        for shift in SHIFTS[f.kind]:
            rows = run.rng.integers(0, run.rows, size=(pool, run.plan.window_rows))
            s, p, fl, z = run.feature(f, rows, shift)
            shifted = _Sim({**base.stat, f.name: s}, {**base.p, f.name: p},
                           {**base.flag, f.name: fl}, {**base.z, f.name: z})  # fmt: skip
            best: tuple[float, str] | None = None
            for rule in run.plan.rules:
                if rule.condition == SEQUENTIAL:
                    d = cusum_delay(
                        sim.z[f.name], z, len(run.inputs), run.plan, run.rng, run.cusum_share()
                    )
                    # judged windows to runs: a sliding window is judged every n-th run
                    d = None if d is None else d * getattr(run.plan, "judged_every", 1)
                elif rule.condition in SIMULATED:
                    holds = _conditions(rule, shifted, run)
                    key = f.name if f.name in holds else ""
                    d = (
                        median_delay(float(holds[key].mean()), rule.for_runs)
                        if key in holds
                        else None
                    )
                else:
                    d = None
                if d is not None and (best is None or d < best[0]):
                    best = (d, rule.name)
            out.append({
                "feature": f.name, "kind": f.kind, "shift": shift.label,
                "windows": None if best is None else best[0],
                "seconds": None if best is None else best[0] * run.plan.run_every_s,
                "rule": None if best is None else best[1],
            })  # fmt: skip
    return out


def simulate(
    reference: pd.DataFrame,
    plan: Plan,
    windows: int = 2000,
    seed: int = 0,
    delays: bool = True,
    delay_pool: int = 400,
) -> dict[str, Any]:
    """Expected false alarms of the plan's rules on `windows` healthy windows, and delays."""
    if windows < 10:
        raise DriftError(f"simulate at least 10 windows, got {windows}")
    run = _Runner(reference, plan, seed)
    sim = run.draw(windows)
    rules = _healthy_rules(sim, run, windows)
    total = sum(r.get("per_run", 0.0) for r in rules)
    budget = 1.0 / plan.budget_runs
    return {
        "windows": windows,
        "window_rows": plan.window_rows,
        "reference_rows": run.rows,
        "run_every_s": plan.run_every_s,
        "fresh": plan.fresh,
        "correction": plan.correction,
        "alpha": plan.family_alpha,
        "budget": {"runs": plan.budget_runs, **_per_time(budget, plan)},
        "expected": _per_time(total, plan),
        "rules": rules,
        "features": _feature_rows(sim, run),
        "delays": _delays(sim, run, min(delay_pool, windows)) if delays else [],
    }
