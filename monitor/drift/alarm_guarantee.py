"""Guaranteed conditional performance: a false-alarm rate that holds for *this* reference.

Every window is compared with the same reference, so the reference's own sampling error is
shared by all of them: averaged over reference draws a rule meets its nominal rate, but for
one given reference it can alarm far more often (the "estimation effect" of Phase I in
control charts; Jensen et al., J. Qual. Technol. 38 (2006)). Following Gandy & Kvaløy
("Guaranteed conditional performance of control charts via bootstrap methods", Scand. J.
Statist. 40 (2013)), the thresholds here are chosen so that, with probability at least
1 - delta over the draw of what was estimated, the *conditional* performance meets the
budget:

- **Per-window rule** (`guaranteed_threshold`, `conditional_p_value`). A fresh window's
  calibrated score z (`FeatureNull.z_score`, standard normal averaged over reference draws)
  is modelled as z = b + e: b ~ N(0, rho) the reference's error, fixed for all windows,
  e ~ N(0, 1 - rho) the window's own, with rho = m / (m + N) the reference's share of the
  variance F(1-F)(1/m + 1/N) that `calibration.inflation` uses. Given b, the window exceeds
  h with probability sf((h - b) / sqrt(1 - rho)); b <= sqrt(rho) z_{1-delta} with
  probability 1 - delta, hence the threshold sqrt(rho) z_{1-delta} + sqrt(1-rho) z_{1-alpha}.
  Exact for a mean chart with an estimated mean (the closed form the tests pin); first
  order for the distances (linear in the CDF difference), as the calibration itself (its
  failures on low-cardinality columns at windows much larger than the reference, alarms
  runs 2-3, came from the quantiles' extrapolation, fixed in run 4).
- **Self-starting CUSUM** (`guaranteed_bound`). The warm-up of w windows estimates each
  feature's mean and standard deviation of z; the later standardised scores are
  N(-u/v, 1/v^2) with the pivots u = (mean_hat - mean)/sd ~ N(0, 1/w) and
  v = sd_hat/sd ~ sqrt(chi2_{w-1}/(w-1)), whatever the reference's offset. The CUSUM's
  conditional in-control ARL is then Siegmund's ARL(h v; k v, -u). The bound h is the
  smallest one for which the monitor's rate (the sum over its features of 1/ARL) is at most
  1/ARL0 for a 1 - delta share of (u, v) draws (a parametric bootstrap of the warm-up with
  a fixed seed: deterministic). The reference's own error drops out: it is part of the mean
  the warm-up estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from monitor.errors import DriftError

__all__ = [
    "SIEGMUND_OFFSET",
    "average_bound",
    "capped_arl",
    "conditional_arl",
    "conditional_p_value",
    "conditional_p_values",
    "guaranteed_bound",
    "guaranteed_threshold",
    "learned_bound",
    "monitor_rates",
    "reference_share",
    "siegmund_arl_many",
]

_PIVOT_DRAWS = 4000
SIEGMUND_OFFSET = 1.166  # b = h + 1.166 (Siegmund's correction for normal increments)


def reference_share(m: float, n_reference: float) -> float:
    """rho = m / (m + N): the reference's share of a fresh window's null variance."""
    if not (m > 0 and n_reference > 0):
        raise DriftError(f"window and reference sizes must be > 0, got {m!r}, {n_reference!r}")
    return float(m) / (float(m) + float(n_reference))


def _isf(q: float) -> float:
    """Standard normal upper quantile (scipy.stats.norm.isf without its per-call overhead)."""
    return -float(special.ndtri(q))


def _check(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise DriftError(f"{name} must be in (0, 1), got {value!r}")


def guaranteed_threshold(alpha: float, delta: float, rho: float) -> float:
    """Score threshold whose conditional exceedance rate is <= alpha with prob. >= 1 - delta."""
    _check("alpha", alpha)
    _check("delta", delta)
    if not 0 <= rho <= 1:
        raise DriftError(f"rho must be in [0, 1], got {rho!r}")
    return math.sqrt(rho) * _isf(delta) + math.sqrt(1 - rho) * _isf(alpha)


def conditional_p_value(z: float, rho: float, delta: float) -> float:
    """P(score >= z | reference) for the worst reference among a 1 - delta share of draws.

    Rejecting when this is <= alpha is the same as z >= guaranteed_threshold(alpha, ...).
    NaN in, NaN out; +inf gives 0.
    """
    _check("delta", delta)
    if z is None or math.isnan(z):
        return math.nan
    shift = math.sqrt(rho) * _isf(delta)
    spread = math.sqrt(max(1.0 - rho, 1e-12))
    return float(special.ndtr(-(z - shift) / spread))


def conditional_p_values(
    z_scores: Mapping[str, float], rho: Mapping[str, float], delta: float
) -> dict[str, float]:
    """`conditional_p_value` per feature with delta split evenly (Bonferroni) over features.

    All features' reference errors are then below their bounds with probability >= 1 - delta,
    so Holm at alpha over these p-values keeps the per-window family-wise rate <= alpha for
    this reference with probability >= 1 - delta over reference draws.
    """
    share = delta / max(len(z_scores), 1)
    return {n: conditional_p_value(z, rho[n], share) for n, z in z_scores.items()}


def siegmund_arl_many(h: np.ndarray, k: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """`monitor.drift.sequential.siegmund_arl`, elementwise (inf where it overflows)."""
    d = np.asarray(shift, dtype=np.float64) - k
    b = np.asarray(h, dtype=np.float64) + SIEGMUND_OFFSET
    small = np.abs(d) < 1e-12
    safe = np.where(small, 1.0, d)
    with np.errstate(over="ignore"):
        arl = (np.exp(-2 * safe * b) + 2 * safe * b - 1) / (2 * safe * safe)
    return np.where(small, b * b, arl)


def conditional_arl(h: float, k: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """In-control ARL of a CUSUM on (z - mean_hat)/sd_hat given the pivots u and v.

    The score is N(-u/v, 1/v^2); scaled by v it is N(-u, 1) against k v and h v.
    """
    return siegmund_arl_many(h * np.asarray(v), k * np.asarray(v), -np.asarray(u))


def _pivots(warmup: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20130101)
    u = rng.standard_normal((_PIVOT_DRAWS, features)) / math.sqrt(warmup)
    v = np.sqrt(rng.chisquare(warmup - 1, (_PIVOT_DRAWS, features)) / (warmup - 1))
    return u, v


def monitor_rates(h: float, k: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """False alarms per window of the monitor (any feature), per row of pivots (draws, p).

    Run lengths of these CUSUMs are close to geometric, so the monitor's rate is the sum of
    the features' 1/ARL.
    """
    return (1.0 / np.maximum(conditional_arl(h, k, u, v), 1.0)).sum(axis=1)


@lru_cache(maxsize=256)
def guaranteed_bound(arl0: float, k: float, warmup: int, delta: float, features: int = 1) -> float:
    """Bound h shared by `features` self-starting CUSUMs (each warmed up on `warmup` windows)
    such that the monitor's conditional ARL0 (any feature alarming) is >= `arl0` windows with
    probability >= 1 - delta over the warm-up. The features' warm-up errors are drawn
    independently (features whose scores are positively dependent make it conservative).
    """
    _check("delta", delta)
    if warmup < 2 or features < 1:
        raise DriftError(
            f"need a warm-up of >= 2 windows and >= 1 feature, got {warmup}, {features}"
        )
    if not (math.isfinite(arl0) and arl0 >= 2 and k > 0):
        raise DriftError(f"need arl0 >= 2 and k > 0, got {arl0!r}, {k!r}")
    u, v = _pivots(warmup, features)

    def gap(h: float) -> float:
        rate = float(np.quantile(monitor_rates(h, k, u, v), 1 - delta))
        return math.log(arl0) + math.log(max(rate, 1e-300))

    hi = 10.0
    while gap(hi) > 0:
        hi *= 2
        if hi > 1e3:
            raise DriftError(f"no bound reaches ARL0 {arl0} with warm-up {warmup}")
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-4))


def learned_bound(arl0: float, k: float, warmup: int, delta: float, features: int = 1) -> float:
    """`guaranteed_bound` for a CUSUM that keeps learning its means and sds after the
    warm-up (`CusumConfig.learn`): sized for the estimates' error one budget period
    (`arl0` windows) after the warm-up, as if estimated from warmup + arl0 windows, instead
    of the warm-up's alone, which the learning then removes (bench/RESULTS.md, alarms run 4)."""
    return guaranteed_bound(arl0, k, warmup + round(arl0), delta, features)


_CHAIN_STATES = 300  # Markov-chain cells on [0, h]: ARL within 0.1% of 800 cells (k 1, cap 3)


def capped_arl(h: float, k: float, cap: float | None) -> float:
    """In-control ARL of the CUSUM S = max(0, S + clip(z, -cap, cap) - k), alarm at S > h,
    for iid N(0, 1) scores: Brook & Evans' Markov chain (Technometrics 1972) on
    `_CHAIN_STATES` cells of [0, h]. Siegmund's approximation ignores the clip, which removes
    the large increments: at k 1, cap 3 it understates the ARL by a factor ~1.25 (the
    "CUSUM's own approximations" of bench/RESULTS.md, alarms run 4). The clip puts an atom
    at the largest increment cap - k, so the ARL jumps at h = cap - k (2 for the defaults,
    below any budget's bound).
    """
    if not (h > 0 and k > 0) or (cap is not None and cap <= k):
        raise DriftError(f"need h > 0, k > 0 and cap > k, got {h!r}, {k!r}, {cap!r}")
    width = h / _CHAIN_STATES
    start = (np.arange(_CHAIN_STATES) + 0.5) * width
    start[0] = 0.0  # the reset state: a sum at zero
    edges = np.arange(1, _CHAIN_STATES + 1) * width  # upper edges of the cells
    step = edges[None, :] - start[:, None] + k  # z below which the sum lands below each edge
    cdf = special.ndtr(step)
    if cap is not None:
        cdf = np.where(step >= cap, 1.0, np.where(step < -cap, 0.0, cdf))
    moves = np.diff(np.concatenate([np.zeros((_CHAIN_STATES, 1)), cdf], axis=1), axis=1)
    arl = np.linalg.solve(np.eye(_CHAIN_STATES) - moves, np.ones(_CHAIN_STATES))
    return float(arl[0])


@lru_cache(maxsize=256)
def average_bound(arl0: float, k: float, cap: float | None, features: int = 1) -> float:
    """Bound h at which `features` capped CUSUMs with known means and sds raise the
    monitor's first false alarm after `arl0` windows on average (each feature's ARL
    `arl0 * features`: run lengths close to geometric, rates add). The learning CUSUM's
    estimates converge to the known values, so this is its rate averaged over streams and
    references: no guard for one reference (that is `guaranteed_bound`'s delta)."""
    if not (math.isfinite(arl0) and arl0 >= 2 and features >= 1):
        raise DriftError(f"need arl0 >= 2 and >= 1 feature, got {arl0!r}, {features!r}")
    target = math.log(arl0 * features)
    hi = 4.0
    while math.log(capped_arl(hi, k, cap)) < target:
        hi *= 2
        if hi > 1e3:
            raise DriftError(f"no bound reaches ARL0 {arl0}")
    gap = lambda h: math.log(capped_arl(h, k, cap)) - target  # noqa: E731
    return float(optimize.brentq(gap, 1e-3, hi, xtol=1e-4))
