"""The monitor's false-alarm budget, shared by every drift rule of the monitor.

`expected_run_length` is the expected time between false alarms when traffic matches the
baseline (ARL0): a duration (`90d`, the default) or a number of runs (`2160`). Rules that
can state their false-alarm rate (auto thresholds, corrected dataset decisions,
`sequential_drift`) size themselves from their share of it (`AlarmSettings.budgets`); see
docs/drift.md, "The false-alarm budget".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import Field, field_validator, model_validator

from monitor.settings.base import Duration, StrictModel

# The sequential rule's defaults, in one place: the values bench/alarms.py measured
# (docs/drift.md, "Alarms with a stated error rate": k = 1, warm-up 96 windows, cap 3;
# bench/RESULTS.md, alarms run 3: a CUSUM that keeps learning each feature's mean/sd after
# the warm-up at delta 0.2 met <= 1 false alarm per 30 days on every reference draw, where
# the frozen warm-up at delta 0.02 failed on one). `SEQUENTIAL_DELTA` is the probability
# that the stated false-alarm rate fails for this stream's reference and warm-up (the
# guaranteed bound, `monitor.drift.alarm_guarantee`): None (the default) sizes the bound so
# the budget holds on average over references (`alarm_guarantee.average_bound`, the capped
# CUSUM's exact ARL), measured at 0.9-1.3x the budget (bench/RESULTS.md, s23-budget); a
# number (0.2 before) buys the per-reference guarantee at the price of an MTBFA 1.7-3.7x
# the budget. `AlarmSettings.delta` keeps serving the per-window auto thresholds.
# `SEQUENTIAL_SHIFT`: the shift of the standardised score whose expected detection delay
# every sequential payload states (k = 1 is tuned to it).
# The budget split between a monitor's rules (`AlarmSettings.budgets`): when a monitor has both
# the per-window auto thresholds and a `sequential_drift` rule, the per-window rule is sized
# for PER_WINDOW_SHARE of the budget and the sequential rule for the rest, so their rates add
# up to the budget. The per-window rule is the fast alarm for obvious shifts (a z-score far
# beyond its threshold, so a 10x smaller alpha costs little) and its guard makes it spend
# almost none of its share (bench/RESULTS.md, alarms run 4: 0 false alarms on 864,000
# windows per size); the sequential rule, which delivers its rate, gets the bulk.
PER_WINDOW_SHARE = 0.1
SEQUENTIAL_SHARE = 1.0 - PER_WINDOW_SHARE
# Rule conditions that alarm on one window's per-window drift verdict (auto thresholds).
PER_WINDOW_CONDITIONS = frozenset({"dataset_drift", "drift_share", "feature_drift",
                                   "prediction_drift"})  # fmt: skip
SEQUENTIAL_K = 1.0
SEQUENTIAL_WARMUP = 96
SEQUENTIAL_CAP = 3.0
SEQUENTIAL_SHIFT = 2.0
SEQUENTIAL_DELTA: float | None = None
SEQUENTIAL_LEARN = True
# A sliding monitor judges every n-th run (`judged_every`): a default warm-up counts the
# default's 96 RUNS there, ceil(96 / n) judged windows but never fewer than this (a 24 h /
# 1 h monitor: 20 daily windows instead of 96 days; bench/RESULTS.md, s23-warmup). With
# fewer than `drift.sequential.LEARNED_MIN_WARMUP` windows the bound is the warm-up's
# guaranteed one (`CusumConfig.bound_for` "warmup": valid for short warm-ups, conservative).
SLIDING_WARMUP_MIN = 20


class SequentialSettings(StrictModel):
    """The `sequential_drift` rule's CUSUM (docs/drift.md, "In monitors: the sequential rule").

    One state per monitor: every sequential rule of a monitor reads the same sums."""

    k: float = Field(SEQUENTIAL_K, gt=0)  # reference value: tuned to a shift of 2k
    # judged windows estimating each score's mean/sd (default on a sliding window: judged_warmup)
    warmup: int = Field(SEQUENTIAL_WARMUP, ge=10)
    cap: float | None = Field(SEQUENTIAL_CAP, gt=0)  # standardised scores clipped; None: no clip
    shift: float = Field(SEQUENTIAL_SHIFT, gt=0)  # shift whose expected delay payloads state
    # None: the budget holds on average over references (the default); a number (0 < delta
    # < 0.5): it holds for this reference and warm-up with probability >= 1 - delta
    delta: float | None = Field(SEQUENTIAL_DELTA, gt=0, lt=0.5)
    # after the warm-up each feature's mean/sd keep learning from windows that follow
    # `monitor.drift.sequential.LEARN_QUIET` windows in a row with a zero sum
    learn: bool = SEQUENTIAL_LEARN

    def judged_warmup(self, every: int) -> int:
        """The warm-up in judged windows for a rule judging every `every`-th run: `warmup`
        as set when the user set it (an explicit value counts judged windows) or the
        monitor judges every run; else the default counted in runs, ceil(warmup / every),
        floored at SLIDING_WARMUP_MIN (docs/drift.md, "Sliding windows")."""
        if every <= 1 or "warmup" in self.model_fields_set:
            return self.warmup
        return max(SLIDING_WARMUP_MIN, -(-self.warmup // every))

    @model_validator(mode="after")
    def _cap_above_k(self) -> SequentialSettings:
        if self.cap is not None and self.cap <= self.k:
            raise ValueError(f"cap ({self.cap:g}) must exceed k ({self.k:g})")
        return self


class AlarmSettings(StrictModel):
    """How often a healthy monitor may wake someone up, all its drift rules together
    (docs/drift.md, "The budget"): 90 days by default, split between the per-window and
    sequential rules by `budgets`."""

    expected_run_length: int | Duration = Field(timedelta(days=90), union_mode="left_to_right")
    # probability that the stated rate fails for this reference (Gandy & Kvaløy 2013): the
    # per-window auto thresholds' guard (the sequential rule has its own, `sequential.delta`)
    delta: float = Field(0.02, gt=0, lt=0.5)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)

    @field_validator("expected_run_length")
    @classmethod
    def _positive_budget(cls, value: int | timedelta) -> int | timedelta:
        """A budget of fewer than 2 runs, or a duration <= 0, states no rate at all (a
        negative number of runs used to pass and size every rule for a negative ARL0)."""
        if isinstance(value, int) and value < 2:
            raise ValueError(f"a number of runs must be at least 2, got {value}")
        if isinstance(value, timedelta) and value <= timedelta(0):
            raise ValueError(f"a duration must be positive, got {value}")
        return value

    def runs(self, run_every: timedelta | None) -> float:
        """The budget in runs: a duration is divided by the time between runs.

        `run_every` is the monitor's cadence (a tumbling window's size, a sliding window's
        step, a count window's schedule interval); None (unknown cadence, e.g. cron) reads a
        duration as hourly runs.
        """
        if isinstance(self.expected_run_length, int):
            return float(self.expected_run_length)
        every = run_every if run_every and run_every > timedelta(0) else timedelta(hours=1)
        return max(1.0, self.expected_run_length / every)

    def budgets(self, run_every: timedelta | None, conditions: Iterable[str]) -> RuleBudgets:
        """The budget in runs and each drift rule's share of it, for a monitor whose rules
        have these `conditions` (one definition for the scheduler, calibrate and backtest)."""
        window, sequential = budget_shares(conditions)
        return RuleBudgets(self.runs(run_every), window, sequential)


def budget_shares(conditions: Iterable[str]) -> tuple[float, float]:
    """(per-window, sequential) shares of the budget: PER_WINDOW_SHARE / SEQUENTIAL_SHARE
    when the monitor has both kinds of drift rule, else the whole budget for each."""
    conds = set(conditions)
    if "sequential_drift" in conds and conds & PER_WINDOW_CONDITIONS:
        return PER_WINDOW_SHARE, SEQUENTIAL_SHARE
    return 1.0, 1.0


@dataclass(frozen=True)
class RuleBudgets:
    """A monitor's budget B in runs and its rules' shares: the per-window rule is sized for
    one false alarm per B / window_share runs, the sequential rule for B / sequential_share,
    so together (rates add) they spend at most B."""

    runs: float
    window_share: float = 1.0
    sequential_share: float = 1.0

    @property
    def window_runs(self) -> float:
        return self.runs / self.window_share

    @property
    def sequential_runs(self) -> float:
        return self.runs / self.sequential_share


# --- sliding windows: the sequential rule judges non-overlapping windows only -----------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def judged_every(
    kind: str, size: timedelta | None, step: timedelta | None, events: int | None = None
) -> int:
    """n = ceil(size / step) for a sliding time window (1 otherwise): consecutive sliding
    windows overlap, so their scores are correlated and a CUSUM fed every one of them alarms
    far more often than its independent-window ARL0 says. Judging every n-th window only
    makes the judged windows disjoint (docs/drift.md, "Sliding windows")."""
    if events is not None or kind != "sliding" or size is None or step is None:
        return 1
    if step <= timedelta(0) or step >= size:
        return 1
    return -((-size) // step)


def judged_window(window_end: datetime, step: timedelta | None, every: int) -> bool:
    """Whether the sequential rule judges the window ending at `window_end`: the n-th
    steps since the epoch, floor((end - epoch) / step) % n == 0. Stateless, so replicas,
    restarts and catch-up runs agree; the scheduler's window ends are multiples of the step
    since the epoch (`monitor.window.floor_to`), and the floor keeps an unaligned end
    deterministic too."""
    if every <= 1 or step is None or step <= timedelta(0):
        return True
    return ((window_end.astimezone(UTC) - _EPOCH) // step) % every == 0
