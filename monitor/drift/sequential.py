"""Sequential detection: a one-sided CUSUM per feature on the null-standardised statistic.

Each window gives every feature a score z (`FeatureNull.z_score`: standard normal when the
window matches the reference). The CUSUM S_t = max(0, S_{t-1} + z_t - k) accumulates the
evidence of a persistent upward shift of z; it alarms when S_t > h. k = delta/2 is tuned
to a shift of delta standard units (0.5: a one-unit shift of z, the optimal CUSUM for it).

The bound h is chosen for an expected run length between false alarms (ARL0, in windows)
with Siegmund's approximation for normal increments (Siegmund 1985, "Sequential Analysis",
ch. X; Basseville & Nikiforov 1993, eq. 5.2.44):

    ARL(mu) ~ (exp(-2 D b) + 2 D b - 1) / (2 D^2),   D = mu - k,   b = h + 1.166

(ARL0 is ARL(0); ARL(mu) with mu > k is the expected detection delay from a zero start.)
The dataset alarms when any of p features alarms: each feature gets ARL0 * p, so that the
first alarm among p independent CUSUMs comes after about ARL0 windows (run lengths are
close to geometric for these bounds; tests/drift/test_sequential.py checks both by
simulation). After an alarm the alarmed feature restarts at 0 once its alert resolves; a new
reference restarts every feature.

With a fixed reference every window shares the reference's own sampling error, so a
feature's z has a persistent offset the CUSUM would take for drift (large when windows are
large next to the reference). `warmup` > 0 makes the CUSUM self-starting: the first
`warmup` windows after a (re)start are assumed healthy and only measure each feature's mean
and standard deviation of z (Welford); later scores are standardised by them. This trades
blindness to a shift present from the start (the per-window rule still sees a large one)
for a false-alarm rate that no longer depends on how the reference draw fell; the t-like
error of the estimated scale shortens ARL0 somewhat for short warm-ups. `delta` chooses the
bound so that ARL0 holds for this stream with probability 1 - delta over the warm-up
(`monitor.drift.alarm_guarantee.guaranteed_bound`), and `cap` clips the standardised
scores (a winsorised CUSUM, robust to heavy-tailed windows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize

from monitor.drift.alarm_guarantee import (
    SIEGMUND_OFFSET,
    average_bound,
    guaranteed_bound,
    learned_bound,
    reference_share,
)
from monitor.drift.result import FeatureResult
from monitor.errors import DriftError

K_DEFAULT = 0.5
LEARN_QUIET = 3  # `learn`: windows in a row with a zero sum before a window is learned
LEARNED_RHO_MAX = 0.9  # `CusumConfig.reference_share` up to which the learned bound applies
# the shortest warm-up the learned bound was measured with (the default, 96 windows): it
# holds from one budget period after a start; a shorter warm-up spends that period on
# estimates from fewer windows, unmeasured, so it keeps the warm-up's bound
LEARNED_MIN_WARMUP = 96
# the guard of `CusumConfig` without a delta where the average bound does not apply
# (`CusumConfig.bound_for`): the per-reference delta monitors had before (bench/RESULTS.md)
FALLBACK_DELTA = 0.2
_SIEGMUND = SIEGMUND_OFFSET

__all__ = [
    "CusumConfig",
    "CusumState",
    "bound_for_arl",
    "largest_reference_share",
    "siegmund_arl",
    "simulate_run_lengths",
    "update",
    "window_values",
]


def siegmund_arl(h: float, k: float, shift: float = 0.0) -> float:
    """Expected windows to the first alarm for normal(shift, 1) scores (Siegmund)."""
    d, b = shift - k, h + _SIEGMUND
    if abs(d) < 1e-12:
        return b * b
    return (math.exp(-2 * d * b) + 2 * d * b - 1) / (2 * d * d)


@lru_cache(maxsize=256)
def bound_for_arl(arl0: float, k: float = K_DEFAULT) -> float:
    """The bound h whose in-control ARL is `arl0` windows (Siegmund's approximation; cached:
    `CusumConfig.bound` asks for it on every window)."""
    if not (math.isfinite(arl0) and arl0 >= 2):
        raise DriftError(f"expected run length must be at least 2 windows, got {arl0!r}")
    if not k > 0:
        raise DriftError(f"CUSUM reference value k must be > 0, got {k!r}")
    return float(optimize.brentq(lambda h: siegmund_arl(h, k) - arl0, 0.0, 200.0))


def window_values(f: FeatureResult, current_rows: int) -> float:
    """A feature's non-missing values in a window of `current_rows` rows (the size its null
    is read at: the scheduler's scores and `largest_reference_share`)."""
    share = f.missing_share_current
    return current_rows * (1.0 - (share if share is not None and math.isfinite(share) else 0.0))


def largest_reference_share(sizes: Iterable[tuple[float, float]]) -> float | None:
    """`CusumConfig.reference_share` for a window: the largest rho = m / (m + N) over the
    features' (window values m, reference values N); None when no feature has both (the
    warm-up's bound then stays). One definition for the scheduler, backtest and simulation."""
    shares = [reference_share(m, n) for m, n in sizes if m > 0 and n > 0]
    return max(shares) if shares else None


@dataclass(frozen=True)
class CusumConfig:
    """A monitor's sequential rule: ARL0 for the whole dataset, shared by `features` CUSUMs."""

    arl0: float  # windows between false alarms of the monitor (e.g. 720 = 30 days hourly)
    features: int
    k: float = K_DEFAULT
    warmup: int = 0  # windows that estimate each feature's z offset and scale (self-starting)
    # with warmup: the ARL0 holds for this stream with probability >= 1 - delta over the
    # warm-up (guaranteed conditional performance, monitor.drift.alarm_guarantee)
    delta: float | None = None
    # with warmup: standardised scores are clipped to [-cap, cap] (winsorised CUSUM): one
    # heavy-tailed window cannot alarm alone; only lengthens the in-control ARL
    cap: float | None = None
    # with warmup: after the warm-up, a feature's mean and sd keep learning from each window
    # that arrives after LEARN_QUIET windows in a row left its sum at 0 (a choice made before the window is seen, so under the
    # null the learned windows are an unbiased sample; a shift that has begun to build
    # evidence is not learned). The warm-up's estimation error then fades (1/sqrt(n)) and
    # the per-stream false-alarm rate converges to the same value for every reference and
    # warm-up: bench/RESULTS.md, alarms run 3
    learn: bool = False
    # with learn and delta: the largest reference share rho = m / (m + N) among the features
    # (`alarm_guarantee.reference_share`). At or below LEARNED_RHO_MAX the bound is sized for
    # the learned estimates (`alarm_guarantee.learned_bound`); above it (windows many times
    # the reference: heavier-tailed scores) and when unknown (None) the warm-up's bound stays
    # (bench/RESULTS.md, alarms run 4)
    reference_share: float | None = None
    # the share of the monitor's budget this rule was sized for (arl0 = budget / share;
    # `AlarmSettings.budgets`): stated in payloads, no effect on the bound
    budget_share: float = 1.0
    # sliding windows: the CUSUM judges every n-th run only (disjoint windows,
    # `settings.alarm.judged_every`); `arl0` is then in judged windows (the budget in runs / n)
    judged_every: int = 1

    def __post_init__(self) -> None:
        if self.features < 1:
            raise DriftError("a sequential rule needs at least one feature")
        if self.warmup != 0 and self.warmup < 10:
            raise DriftError(f"warmup must be 0 or at least 10 windows, got {self.warmup!r}")
        if self.delta is not None and not (self.warmup and 0 < self.delta < 1):
            raise DriftError(f"delta needs a warm-up and must be in (0, 1), got {self.delta!r}")
        if self.cap is not None and not (self.warmup and self.cap > self.k):
            raise DriftError(f"cap needs a warm-up and must exceed k, got {self.cap!r}")
        if self.learn and not self.warmup:
            raise DriftError("learn needs a warm-up")
        if self.judged_every < 1:
            raise DriftError(f"judged_every must be >= 1, got {self.judged_every!r}")
        if not 0 < self.budget_share <= 1:
            raise DriftError(f"budget_share must be in (0, 1], got {self.budget_share!r}")
        if self.reference_share is not None and not 0 <= self.reference_share <= 1:
            raise DriftError(f"reference_share must be in [0, 1], got {self.reference_share!r}")
        bound_for_arl(self.arl0, self.k)  # validates the budget itself
        bound_for_arl(self.arl0 * self.features, self.k)

    @property
    def bound(self) -> float:
        sized_for = self.bound_for
        if sized_for == "known":
            return bound_for_arl(self.arl0 * self.features, self.k)
        if sized_for == "average":
            return average_bound(float(self.arl0), self.k, self.cap, self.features)
        delta = self.delta if self.delta is not None else FALLBACK_DELTA
        if sized_for == "learned":
            return learned_bound(float(self.arl0), self.k, self.warmup, delta, self.features)
        return guaranteed_bound(float(self.arl0), self.k, self.warmup, delta, self.features)

    @property
    def bound_for(self) -> str:
        """What the bound is sized for (stated in payloads). Without a `delta` (the default):
        `average`, the budget on average over references (`alarm_guarantee.average_bound`),
        where that was measured (learning, a warm-up >= 96 windows, the windows' reference
        share known); `warmup` otherwise (short warm-ups, rho unknown, e.g. trailing
        baselines), the warm-up's guaranteed bound at FALLBACK_DELTA. With a `delta`: for
        this reference with probability 1 - delta, `learned` (rho <= 0.9) or `warmup`.
        `known`: no warm-up, or neither a delta nor learning: Siegmund's bound for known
        means and sds."""
        if not self.warmup or (self.delta is None and not self.learn):
            return "known"
        rho = self.reference_share
        measured = self.learn and self.warmup >= LEARNED_MIN_WARMUP and rho is not None
        if self.delta is None:
            return "average" if measured else "warmup"
        return "learned" if measured and rho is not None and rho <= LEARNED_RHO_MAX else "warmup"

    @property
    def learned(self) -> bool:
        """Whether the bound is sized for the learned estimates (see `reference_share`)."""
        return self.bound_for == "learned"

    def expected_delay(self, shift: float) -> float:
        """Expected windows to detect a persistent shift of z by `shift` (zero start)."""
        return siegmund_arl(self.bound, self.k, shift)


@dataclass(frozen=True)
class CusumState:
    """Per-feature sums, the reference they belong to, and windows seen: JSON-able."""

    reference_id: str | None = None
    sums: Mapping[str, float] = field(default_factory=dict)
    windows: int = 0
    baseline: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)  # n, mean, M2
    # with `CusumConfig.learn`: windows in a row after which the feature's sum was 0
    quiet: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference_id": self.reference_id,
            "sums": dict(self.sums),
            "windows": self.windows,
            "baseline": {k: list(v) for k, v in self.baseline.items()},
        }
        if self.quiet:
            out["quiet"] = dict(self.quiet)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CusumState:
        try:
            sums = {str(k): float(v) for k, v in data["sums"].items()}
            base = {
                str(k): (float(v[0]), float(v[1]), float(v[2]))
                for k, v in data.get("baseline", {}).items()
            }
            quiet = {str(k): int(v) for k, v in data.get("quiet", {}).items()}
            ref = data["reference_id"]
            return cls(None if ref is None else str(ref), sums, int(data["windows"]), base, quiet)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DriftError(f"stored sequential state is malformed: {exc}") from None

    def reset(self, features: tuple[str, ...] | None = None) -> CusumState:
        """Restart the named features (an alert resolved), or all of them."""
        if features is None:
            return replace(self, sums={}, quiet={})
        return replace(
            self,
            sums={n: s for n, s in self.sums.items() if n not in features},
            quiet={n: q for n, q in self.quiet.items() if n not in features},
        )


def _welford(base: tuple[float, float, float], z: float) -> tuple[float, float, float]:
    n, mean, m2 = base
    n += 1
    delta = z - mean
    mean += delta / n
    return n, mean, m2 + delta * (z - mean)


def _standardised(state: CusumState, name: str, z: float, config: CusumConfig):
    """(score for the CUSUM or None while warming up, the feature's updated baseline)."""
    if config.warmup == 0:
        return z, None
    base = state.baseline.get(name, (0.0, 0.0, 0.0))
    n, mean, m2 = base
    if n < config.warmup:
        return (z, base) if math.isinf(z) else (None, _welford(base, z))
    sd = math.sqrt(m2 / (n - 1)) if n > 1 else 1.0
    score = (z - mean) / max(sd, 0.1)
    if config.cap is not None and math.isfinite(score):
        score = min(max(score, -config.cap), config.cap)
    # learned only after LEARN_QUIET windows in a row left the sum at 0 (counted from a
    # restart): a shift that keeps alarming and restarting is not learned between alarms
    if config.learn and math.isfinite(z) and state.quiet.get(name, 0) >= LEARN_QUIET:
        base = _welford(base, z)  # scored with the estimates before it, then learned
    return score, base


def update(
    state: CusumState, z_scores: Mapping[str, float], config: CusumConfig, reference_id: str | None
) -> tuple[CusumState, tuple[str, ...]]:
    """Add one window's scores; return the new state and the features above the bound.

    A different reference restarts everything. A NaN score (statistic not computable) leaves
    that feature's sum as it was; +inf (a constant reference that moved) alarms at once.
    """
    if state.reference_id != reference_id:
        state = CusumState(reference_id=reference_id)
    h, k = config.bound, config.k
    sums, base, quiet = dict(state.sums), dict(state.baseline), dict(state.quiet)
    for name, z in z_scores.items():
        if z is None or math.isnan(z):
            continue
        score, base[name] = _standardised(state, name, float(z), config)
        if score is not None:
            sums[name] = max(0.0, sums.get(name, 0.0) + score - k)
            if config.learn:
                quiet[name] = quiet.get(name, 0) + 1 if sums[name] == 0.0 else 0
    if config.warmup == 0:
        base = {}
    alarmed = tuple(n for n, s in sums.items() if s > h)
    return CusumState(reference_id, sums, state.windows + 1, base, quiet), alarmed


def simulate_run_lengths(
    h: float,
    k: float,
    runs: int,
    rng: np.random.Generator,
    features: int = 1,
    shift: float = 0.0,
    max_windows: int = 1_000_000,
) -> np.ndarray:
    """Windows to the first alarm of any of `features` CUSUMs fed normal(shift, 1) scores."""
    sums = np.zeros((runs, features))
    length = np.zeros(runs, dtype=np.int64)
    alive = np.arange(runs)
    for t in range(1, max_windows + 1):
        z = rng.standard_normal((alive.size, features)) + shift
        s = np.maximum(0.0, sums[alive] + z - k)
        sums[alive] = s
        done = (s > h).any(axis=1)
        length[alive[done]] = t
        alive = alive[~done]
        if alive.size == 0:
            break
    length[alive] = max_windows
    return length
