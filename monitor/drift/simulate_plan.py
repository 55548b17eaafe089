"""What `monitor.drift.simulate` simulates: a monitor's features, rules and budget as plain
data (`monitor.calibrate.plan_for` builds one from a monitor's config). Apart from the
simulation so the plan reads on its own; `monitor.drift.simulate` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.drift.registry import Kind

DAY_S = 86_400.0
# the sequential rule's smallest ARL0 in judged windows of a sliding window (a budget of a
# few runs divided by n would size no bound at all; `calibrate.sequential_config`)
MIN_JUDGED = 10.0

__all__ = ["DAY_S", "MIN_JUDGED", "FeaturePlan", "Plan", "RulePlan", "SequentialPlan"]


@dataclass(frozen=True)
class FeaturePlan:
    """How one feature is judged: its method and threshold (None with `auto`)."""

    name: str
    kind: Kind
    method: str
    threshold: float | None = None
    auto: bool = False


@dataclass(frozen=True)
class RulePlan:
    name: str
    condition: str
    threshold: float | None = None
    feature: str | None = None
    for_runs: int = 1


@dataclass(frozen=True)
class SequentialPlan:
    """The CUSUM of a `sequential_drift` rule (defaults: docs/drift.md, "Measured"; a
    monitor's come from `alarm.sequential`, as the scheduler's)."""

    k: float = 1.0
    warmup: int = 96
    delta: float | None = None  # None: the budget on average; a number: per reference
    cap: float | None = 3.0
    learn: bool = True


@dataclass(frozen=True)
class Plan:
    features: tuple[FeaturePlan, ...]
    rules: tuple[RulePlan, ...]
    window_rows: int
    budget_runs: float  # expected runs between false alarms of the monitor (AlarmSettings.runs)
    run_every_s: float = 3600.0
    drift_share: float = 0.5
    correction: str = "none"  # none | holm | bh (dataset decision)
    alpha: float | None = None  # per-window family alpha; default window_share / budget_runs
    delta: float = 0.02  # AlarmSettings.delta: the guard of auto thresholds (auto_verdict)
    bins: int = 10
    prediction: str | None = None  # the prediction's feature name (judged on its own)
    sequential: SequentialPlan = field(default_factory=SequentialPlan)
    fresh: bool = True
    # the rules' shares of the budget (`AlarmSettings.budgets`, as the scheduler's)
    window_share: float = 1.0
    sequential_share: float = 1.0
    # sliding windows: the CUSUM judges every n-th run (`calibrate.sequential_every`)
    judged_every: int = 1

    @property
    def family_alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return min(0.5, self.window_share / self.budget_runs)

    @property
    def sequential_runs(self) -> float:
        """The sequential rule's ARL0 in runs: its share of the budget."""
        return self.budget_runs / self.sequential_share

    @property
    def sequential_windows(self) -> float:
        """The sequential rule's ARL0 in judged windows (every `judged_every`-th run): the
        same budget in time (`calibrate.sequential_config`)."""
        if self.judged_every == 1:
            return self.sequential_runs
        return max(MIN_JUDGED, self.sequential_runs / self.judged_every)

    @property
    def runs_per_day(self) -> float:
        return DAY_S / self.run_every_s
