"""Rule pieces of the calibration simulation: the dataset decision over many windows, the
median delay of a per-window rule, and the sequential rule's CUSUM over simulated streams.

Kept apart from `monitor.drift.simulate` (which orchestrates) so each stays small; every
function works on arrays of many windows at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.drift.sequential import LEARN_QUIET, CusumConfig
from monitor.drift.simulate_plan import MIN_JUDGED
from monitor.errors import DriftError

SEQUENTIAL = "sequential_drift"
STREAMS = 20  # healthy CUSUM streams
DELAY_STREAMS = 200
MAX_DELAY = 5_000  # windows; a median beyond this is reported as not detected

__all__ = ["SEQUENTIAL", "cusum_delay", "cusum_false_alarms", "dataset_condition", "median_delay"]


def dataset_condition(
    correction: str, share: np.ndarray, p: np.ndarray, drift_share: float, alpha: float
) -> np.ndarray:
    """Whether the dataset decision holds in each window.

    `none`: the share of flagged input features reaches `drift_share` (the engine's
    `summarize`). `holm` / `bh`: some feature is rejected at `alpha` by the correction over
    the features' p-values `p` (features × windows; NaN left out of the family), equal to
    `monitor.drift.correction.correct(...).any_rejected` window by window: Holm rejects
    something iff the smallest p is <= alpha / n; BH iff some p_(i) <= i alpha / n.
    """
    if correction == "none":
        return (share >= drift_share) if p.shape[0] else np.zeros(p.shape[1], dtype=bool)
    if correction not in ("holm", "bh"):
        raise DriftError(f"unknown correction {correction!r}; valid: none, holm, bh")
    if p.shape[0] == 0:
        return np.zeros(p.shape[1], dtype=bool)
    ordered = np.sort(p, axis=0)  # NaN last
    n = (~np.isnan(p)).sum(axis=0)
    rank = np.arange(1, p.shape[0] + 1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if correction == "holm":
            return (n > 0) & (ordered[0] <= alpha / np.maximum(n, 1))
        ok = (rank <= n) & (ordered <= rank * alpha / np.maximum(n, 1))
    return ok.any(axis=0)


def median_delay(q: float, for_runs: int) -> float | None:
    """Median windows to the first alert of a condition holding with probability q in each
    independent window, `for_runs` consecutive times (None: not within MAX_DELAY)."""
    if q <= 0:
        return None
    if q >= 1:
        return float(for_runs)
    if for_runs == 1:
        t = math.ceil(math.log(0.5) / math.log1p(-q))
        return float(t) if t <= MAX_DELAY else None
    state = np.zeros(for_runs)  # probability of a current run of length i, not yet fired
    state[0], fired = 1.0, 0.0
    for t in range(1, MAX_DELAY + 1):
        fired += state[-1] * q
        new = np.zeros(for_runs)
        new[0] = state.sum() * (1 - q)
        new[1:] = state[:-1] * q
        state = new
        if fired >= 0.5:
            return float(t)
    return None


def _config(plan: Any, features: int, share: float | None = None) -> CusumConfig:
    s = plan.sequential
    every = int(getattr(plan, "judged_every", 1))  # sliding windows: ARL0 in judged windows
    return CusumConfig(
        arl0=float(plan.sequential_runs) if every == 1 else max(
            MIN_JUDGED, float(plan.sequential_runs) / every
        ), features=max(1, features), k=s.k,
        warmup=s.warmup, delta=s.delta if s.warmup else None, cap=s.cap if s.warmup else None,
        learn=bool(getattr(s, "learn", False)) and s.warmup > 0, reference_share=share,
        budget_share=plan.sequential_share, judged_every=every,
    )  # fmt: skip


def _baseline(z: np.ndarray, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Each stream's warm-up mean and sd of z (streams × features); N(0, 1) without one."""
    if warmup == 0:
        shape = z.shape[:1] + z.shape[2:]
        return np.zeros(shape), np.ones(shape)
    head = z[:, :warmup]
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nan_to_num(np.nanmean(head, axis=1))
        sd = np.nan_to_num(np.nanstd(head, axis=1, ddof=1), nan=1.0)
    return mean, np.maximum(sd, 0.1)


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._w.__exit__(*exc)


def _scores(z: np.ndarray, mean, sd, cfg: CusumConfig) -> np.ndarray:
    score = (z - mean[:, None]) / sd[:, None]
    if cfg.cap is not None:
        score = np.clip(score, -cfg.cap, cfg.cap)
    return score


def _welford_head(head: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stream's warm-up as Welford sums (n, mean, M2), streams × features."""
    n = np.sum(~np.isnan(head), axis=1).astype(float)
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nan_to_num(np.nanmean(head, axis=1))
        m2 = np.nan_to_num(np.nanvar(head, axis=1) * n)
    return n, mean, m2


def _learning_alarms(z: np.ndarray, cfg: CusumConfig) -> int:
    """Alarms of the learning CUSUM (`monitor.drift.sequential.update` with `learn`) over
    streams × T × p scores: after the warm-up a window is learned when LEARN_QUIET windows
    in a row left the sum at 0; scored with the estimates before it."""
    n, mean, m2 = _welford_head(z[:, : cfg.warmup])
    sums, quiet = np.zeros_like(mean), np.zeros_like(mean)
    h, alarms = cfg.bound, 0
    for t in range(cfg.warmup, z.shape[1]):
        zt = z[:, t]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(n > 1, np.sqrt(m2 / np.maximum(n - 1, 1)), 1.0)
        score = (zt - mean) / np.maximum(sd, 0.1)
        if cfg.cap is not None:
            score = np.clip(score, -cfg.cap, cfg.cap)
        ok = np.isfinite(zt)
        learn = ok & (quiet >= LEARN_QUIET)
        n1 = n + learn
        d = np.where(learn, zt - mean, 0.0)
        mean = mean + d / np.maximum(n1, 1)
        m2 = m2 + np.where(learn, d * (zt - mean), 0.0)
        n = n1
        sums = np.where(ok, np.maximum(0.0, sums + np.nan_to_num(score) - cfg.k), sums)
        quiet = np.where(ok, np.where(sums == 0.0, quiet + 1, 0), quiet)
        hit = sums > h
        alarms += int(hit.any(axis=1).sum())
        sums[hit], quiet[hit] = 0.0, 0
    return alarms


def cusum_false_alarms(
    z_pool: np.ndarray, plan: Any, rng: np.random.Generator, share: float | None = None
) -> dict[str, Any]:
    """False alarms per run of the dataset's CUSUM (any feature above the bound) on healthy
    streams resampled from `z_pool` (windows × features), restarting a feature after it
    alarmed; the warm-up windows are not counted. With `learn` (the scheduler's default) the
    means and sds keep learning as the scheduler's do. `share`: the windows'
    `largest_reference_share` (the scheduler's choice of bound)."""
    cfg = _config(plan, z_pool.shape[1], share)
    length = int(min(20_000, max(2_000, 4 * plan.budget_runs)))
    total = cfg.warmup + length
    z = z_pool[rng.integers(0, z_pool.shape[0], size=(STREAMS, total))]  # streams × T × p
    h = cfg.bound
    if cfg.learn:
        alarms = _learning_alarms(z, cfg)
    else:
        mean, sd = _baseline(z, cfg.warmup)
        score = np.nan_to_num(_scores(z[:, cfg.warmup :], mean, sd, cfg), nan=cfg.k)
        sums, alarms = np.zeros((STREAMS, z.shape[2])), 0
        for t in range(length):
            sums = np.maximum(0.0, sums + score[:, t] - cfg.k)
            hit = sums > h
            alarms += int(hit.any(axis=1).sum())
            sums[hit] = 0.0
    runs = STREAMS * length  # judged windows (every judged_every-th run of a sliding window)
    every = cfg.judged_every
    return {
        "per_run": alarms / runs / every,
        "per_judged_window": alarms / runs,
        "judged_every": every,
        "per_window_se": math.sqrt(max(alarms, 1)) / runs,
        "bound": h,
        "k": cfg.k,
        "warmup": cfg.warmup,
        "learn": cfg.learn,
        "simulated_runs": runs,
        "design_per_run": 1.0 / plan.sequential_runs,
        "budget_share": plan.sequential_share,
        "bound_for": cfg.bound_for,
    }


def cusum_delay(
    z_healthy: np.ndarray,
    z_shifted: np.ndarray,
    features: int,
    plan: Any,
    rng: Any,
    share: float | None = None,
) -> float | None:
    """Median judged windows from a shift's start to the feature's CUSUM alarm (after a
    healthy warm-up; runs: x `plan.judged_every`); None when most streams do not alarm
    within MAX_DELAY windows. Learning is
    not simulated here: a shift building evidence is not learned (no zero sums), so the
    warm-up's estimates are the ones that judge it."""
    cfg = _config(plan, features, share)
    healthy = z_healthy[~np.isnan(z_healthy)]
    shifted = z_shifted[~np.isnan(z_shifted)]
    if healthy.size == 0 or shifted.size == 0:
        return None
    warm = healthy[rng.integers(0, healthy.size, size=(DELAY_STREAMS, max(cfg.warmup, 1)))]
    mean, sd = _baseline(warm[:, :, None], cfg.warmup)
    mean, sd = mean[:, 0], sd[:, 0]
    sums = np.zeros(DELAY_STREAMS)
    first = np.full(DELAY_STREAMS, np.inf)
    for t in range(1, MAX_DELAY + 1):
        z = shifted[rng.integers(0, shifted.size, size=DELAY_STREAMS)]
        score = (z - mean) / sd
        if cfg.cap is not None:
            score = np.clip(score, -cfg.cap, cfg.cap)
        sums = np.maximum(0.0, sums + score - cfg.k)
        first = np.where((sums > cfg.bound) & np.isinf(first), t, first)
        if np.isfinite(first).mean() > 0.5:
            return float(np.median(first))
    return None
