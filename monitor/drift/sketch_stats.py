"""Drift statistics from two sketches of one spec (reference, current).

Exact for the binning: PSI, Jensen–Shannon, Hellinger, KL (numeric: on the fine counts
coarsened to the engine's decile bins, so they equal the exact engine's numbers), chi-square,
z, TVD (categorical: over the spec's categories plus "other"), counts, missing shares, min,
max and the share outside the reference range.

Approximate, with a bound that follows from the grid. Both ECDFs are known exactly at every
fine edge; inside a bin each is monotone between its values at the bin's two edges, and it
is 0 below its window's min and 1 from its max on (the pieces between those points are
what `_envelope` describes):
- KS: the exact D lies in [lower, upper]. lower = the largest CDF difference that is
  certain somewhere (at an edge, or on a piece where the two CDF ranges cannot overlap);
  upper = the largest possible one, at most the difference at an edge plus one bin's
  mass. With 1000 quantile bins the gap is about 0.001 + tail effects.
- Wasserstein-1 = ∫|F_r − F_c|: on each piece of width w the integrand lies between the
  distance of its possible range from 0 and its largest magnitude, so the integral lies
  between the sums of w times those; outer bins are closed off by the windows' min/max.
  The estimate spreads each bin's mass uniformly over the part of the bin within the
  window's [min, max].
The verdict uses the least alarming end of the interval (the lower KS bound and its
p-value, the lower Wasserstein bound), so a sketch never reports drift that its own error
could explain (whylogs' trap); `quality["sketch_undecided"]` says when the other end would
have flipped the verdict. Categorical: when "other" pools new categories, the chi-square
p-value is a lower bound (fewer degrees of freedom) and `p_value_upper` (every new value
distinct) the upper one; the verdict keeps the pooled value (the upper bound would miss
almost any drift made of new values) and `sketch_undecided` says when it could flip. Mean and std come from the moment sums (float rounding only); quantiles are interpolated
inside their fine bin, with that bin as the interval.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from monitor.drift.numeric import KS_EXACT_MAX_N, QUANTILES, normed
from monitor.drift.registry import METHODS, Method, counted
from monitor.drift.sketch import CategoricalSketch, CategoricalSpec, NumericSketch, NumericSpec
from monitor.errors import DriftError

__all__ = [
    "categorical_sketch_stats",
    "coarse_counts",
    "ks_bounds",
    "ks_pvalue",
    "numeric_sketch_stats",
    "wasserstein_bounds",
]


def coarse_counts(spec: NumericSpec, sketch: NumericSketch) -> np.ndarray:
    """Fine counts summed onto the engine's bins (the spec's coarse edges)."""
    return np.add.reduceat(sketch.counts, spec.coarse_starts)


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Two-sided p-value of KS statistic `d` as `scipy.stats.ks_2samp` (method 'auto') gives it."""
    if max(n, m) <= KS_EXACT_MAX_N:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp  # scipy's own exact path
        except ImportError:  # pragma: no cover - a future scipy; fall back to asymptotic
            pass
        else:
            ok, _, p = _attempt_exact_2kssamp(n, m, math.gcd(n, m), d, "two-sided")
            if ok:
                return float(np.clip(p, 0.0, 1.0))
    big, small = max(float(n), float(m)), min(float(n), float(m))
    return float(np.clip(stats.kstwo.sf(d, np.round(big * small / (big + small))), 0.0, 1.0))


@dataclass(frozen=True)
class _Envelope:
    """What two sketches say about both ECDFs, on open pieces of [min, max] of both windows.

    The pieces are cut at the fine edges and at each window's own min and max. On a piece
    inside fine bin (e_{i-1}, e_i] a window's ECDF lies between its values at e_{i-1} and
    e_i, and is exactly 0 below that window's min and 1 from its max on. CDF values are
    integers: the reference's scaled by m, the current's by n (exact, no rounding), so the
    CDF difference is an integer over n·m.
    """

    left: np.ndarray
    right: np.ndarray
    ref_bounds: tuple[np.ndarray, np.ndarray]
    cur_bounds: tuple[np.ndarray, np.ndarray]
    grid: np.ndarray  # exact difference at every fine edge
    scale: int  # n·m


def _envelope(spec: NumericSpec, ref: NumericSketch, cur: NumericSketch) -> _Envelope:
    n, m = ref.count, cur.count
    lo, hi = min(ref.min, cur.min), max(ref.max, cur.max)
    inner = spec.edges[(spec.edges > lo) & (spec.edges < hi)]
    points = np.unique(np.concatenate((inner, [ref.min, ref.max, cur.min, cur.max])))
    left, right = points[:-1], points[1:]
    bins = np.searchsorted(spec.edges, right, side="left")
    dtype = np.int64 if n * m < 2**62 else np.float64  # int64 overflows past 2^62 (never)
    cums, bounds = [], []
    for s, factor in ((ref, m), (cur, n)):
        cum = np.concatenate(([0], np.cumsum(s.counts))).astype(dtype) * factor
        below, above = right <= s.min, left >= s.max
        low = np.where(below, 0, np.where(above, cum[-1], cum[bins]))
        high = np.where(below, 0, np.where(above, cum[-1], cum[bins + 1]))
        cums.append(cum)
        bounds.append((low, high))
    grid = cums[0][1:-1] - cums[1][1:-1]
    return _Envelope(left, right, bounds[0], bounds[1], grid, n * m)


def ks_bounds(spec: NumericSpec, ref: NumericSketch, cur: NumericSketch) -> tuple[float, float]:
    """(lower, upper): the exact KS statistic lies in this interval (module docstring).

    Lower: the largest difference certain somewhere (at an edge, or on a piece where the
    two CDF ranges do not overlap); upper: the largest difference possible anywhere.
    """
    env = _envelope(spec, ref, cur)
    (lr, hr), (lc, hc) = env.ref_bounds, env.cur_bounds
    grid = float(np.max(np.abs(env.grid), initial=0))
    sure = float(np.max(np.maximum(lr - hc, lc - hr), initial=0))
    possible = float(np.max(np.maximum(hr - lc, hc - lr), initial=0))
    low = max(grid, sure)
    return low / env.scale, max(low, possible) / env.scale


def wasserstein_bounds(
    spec: NumericSpec, ref: NumericSketch, cur: NumericSketch
) -> tuple[float, float, float]:
    """(lower, estimate, upper) of the Wasserstein-1 distance ∫|F_r − F_c| (module docstring).

    The estimate spreads each window's bin mass uniformly over the part of the bin between
    that window's min and max.
    """
    env = _envelope(spec, ref, cur)
    (lr, hr), (lc, hc) = env.ref_bounds, env.cur_bounds
    width = env.right - env.left
    lower = float(np.dot(width, np.maximum(np.maximum(lr - hc, lc - hr), 0))) / env.scale
    upper = float(np.dot(width, np.maximum(hr - lc, hc - lr))) / env.scale
    d0 = _interpolated(spec, ref, env.left, env.right, True)
    d0 -= _interpolated(spec, cur, env.left, env.right, True)
    d1 = _interpolated(spec, ref, env.left, env.right, False)
    d1 -= _interpolated(spec, cur, env.left, env.right, False)
    total = np.abs(d0) + np.abs(d1)
    crossing = np.divide(d0**2 + d1**2, 2 * total, out=np.zeros_like(total), where=total > 0)
    estimate = float(np.dot(width, np.where(d0 * d1 >= 0, total / 2, crossing)))
    return lower, min(max(estimate, lower), upper), upper


def _interpolated(spec, s: NumericSketch, left, right, at_left: bool) -> np.ndarray:
    """The window's CDF, linear over each bin's part inside [min, max], at each piece's end."""
    bins = np.searchsorted(spec.edges, right, side="left")
    cum = np.concatenate(([0.0], np.cumsum(s.counts) / s.count))
    cum[-1] = 1.0
    edges = np.concatenate(([-np.inf], spec.edges, [np.inf]))
    a = np.maximum(edges[bins], s.min)  # the bin's part holding this window's values
    b = np.minimum(edges[bins + 1], s.max)
    x = left if at_left else right
    span = b - a
    share = np.divide(x - a, span, out=(x >= a).astype(float), where=span > 0)
    if not at_left:  # a point mass at `a` (span 0) lies left of any piece ending after it
        share = np.where(span > 0, share, (right > a).astype(float))
    return cum[bins] + (cum[bins + 1] - cum[bins]) * np.clip(share, 0.0, 1.0)


def _moments(spec: NumericSpec, s: NumericSketch) -> tuple[float, float]:
    """(mean, population std) from the centered sums; std is exactly 0 for a constant window."""
    n = s.count
    mean_c = s.sum / n
    std = 0.0 if s.min == s.max else math.sqrt(max(s.sumsq / n - mean_c * mean_c, 0.0))
    return spec.center + mean_c, std


def _quantile(spec: NumericSpec, s: NumericSketch, q: float) -> dict:
    """np.quantile's (linear) q-quantile, interpolated inside its fine bin; that bin bounds it."""
    cum = np.cumsum(s.counts)
    h = (s.count - 1) * q  # 0-based fractional rank, as numpy's linear method
    lo_bin = int(np.searchsorted(cum, math.floor(h) + 1, side="left"))
    hi_bin = int(np.searchsorted(cum, math.ceil(h) + 1, side="left"))
    left = spec.edges[lo_bin - 1] if lo_bin > 0 else s.min
    right = spec.edges[hi_bin] if hi_bin < len(spec.edges) else s.max
    left, right = max(left, s.min), min(right, s.max)
    before = cum[lo_bin - 1] if lo_bin > 0 else 0
    share = (h + 1 - before) / s.counts[lo_bin] if lo_bin == hi_bin else 0.5
    estimate = left + min(max(share, 0.0), 1.0) * (right - left)
    return {"value": float(estimate), "interval": [float(left), float(right)]}


def _describe(spec: NumericSpec, ref: NumericSketch, cur: NumericSketch) -> dict:
    """The exact engine's descriptive block, from sketches (quantiles carry their interval)."""
    mean_r, std_r = _moments(spec, ref)
    mean_c, std_c = _moments(spec, cur)
    quantiles = {}
    for q in QUANTILES:
        r, c = _quantile(spec, ref, q), _quantile(spec, cur, q)
        quantiles[f"{q:g}"] = {
            "reference": r["value"],
            "current": c["value"],
            "reference_interval": r["interval"],
            "current_interval": c["interval"],
        }
    shift = normed(abs(mean_c - mean_r), std_r) * (1.0 if mean_c >= mean_r else -1.0)
    return {
        "mean": {"reference": mean_r, "current": mean_c, "shift_normed": shift},
        "std": {"reference": std_r, "current": std_c},
        "quantiles": quantiles,
        "share_outside_reference_range": float(
            (cur.counts[0] + cur.counts[-1]) / cur.count
        ),  # bin 0: below the spec reference's min; last bin: above its max
    }


def ks_entries(
    spec: NumericSpec, ref: NumericSketch, cur: NumericSketch, p_values: bool
) -> dict[str, Any]:
    """The "ks" entry from sketches: the lower bound as statistic, the upper one beside it.

    Without `p_values` the p-values stay None: scipy's exact Smirnov distribution (`kstwo.sf`,
    what ks_2samp uses) costs up to ~1 s at 1M rows, so it is paid only when KS decides.
    """
    low, high = ks_bounds(spec, ref, cur)
    entry: dict[str, Any] = {"statistic": low, "p_value": None, "statistic_upper": high}
    if p_values:
        entry["p_value"] = ks_pvalue(low, ref.count, cur.count)
        entry["p_value_lower"] = ks_pvalue(high, ref.count, cur.count)
    return {"ks": entry}


def ks_alarming_end(stats: dict[str, Any]) -> tuple[float, float | None]:
    """(statistic, p_value) at the alarming end of the KS interval."""
    return stats["ks"]["statistic_upper"], stats["ks"]["p_value_lower"]


def wasserstein_normed_entries(
    spec: NumericSpec, ref: NumericSketch, cur: NumericSketch, p_values: bool
) -> dict[str, Any]:
    """The normed Wasserstein bounds: lower (the statistic), estimate and upper."""
    std = _moments(spec, ref)[1]
    lower, estimate, upper = (normed(w, std) for w in wasserstein_bounds(spec, ref, cur))
    return {
        "wasserstein_normed": lower,
        "wasserstein_normed_estimate": estimate,
        "wasserstein_normed_upper": upper,
    }


def wasserstein_normed_alarming_end(stats: dict[str, Any]) -> tuple[float, float | None]:
    """(statistic, p_value) at the alarming end of the normed Wasserstein interval."""
    return stats["wasserstein_normed_upper"], None


def numeric_sketch_stats(
    spec: NumericSpec,
    ref: NumericSketch,
    cur: NumericSketch,
    wanted: Collection[str],
    p_values_for: Collection[str] | None = None,
    methods: Mapping[str, Method] = METHODS,
) -> dict[str, Any]:
    """Every statistic in `wanted` plus the descriptive block; needs values on both sides.

    Each wanted numeric method of the table, in its order: its interval from the sketches
    (`sketch`), else its exact number from the fine counts coarsened to the engine's bins
    (`counts`). Interval p-values are computed for the methods in `p_values_for` (None: all).
    """
    _check(spec, ref, cur)
    out: dict[str, Any] = {}
    counts = None
    for name, m in methods.items():
        if name not in wanted or "numeric" not in m.kinds:
            continue
        if m.sketch is not None:
            out.update(m.sketch(spec, ref, cur, p_values_for is None or name in p_values_for))
        elif m.counts is not None:
            if counts is None:
                counts = coarse_counts(spec, ref), coarse_counts(spec, cur)
            value = m.counts(*counts)
            if value is not None:
                out[name] = value
    out.update(_describe(spec, ref, cur))
    return out


def categorical_sketch_stats(
    spec: CategoricalSpec,
    ref: CategoricalSketch,
    cur: CategoricalSketch,
    wanted: Collection[str],
    new_category_count: int | None = None,
    methods: Mapping[str, Method] = METHODS,
) -> dict[str, Any]:
    """Statistics over spec categories + "other" (bins empty on both sides dropped).

    Equal to the exact engine's when the reference has at most K categories and no new
    category appears, or exactly one does and the caller says so. Otherwise "other" pools several categories: `approximate` names
    the statistics that then differ and why (see `_pooling`). `new_category_count`, the
    number of distinct new categories when a caller knows it, makes the chi-square p-value
    exact again (its statistic does not change with the pooling, its degrees of freedom do).
    """
    _check(spec, ref, cur)
    keep = (ref.counts + cur.counts) > 0
    r, c = ref.counts[keep], cur.counts[keep]
    pooled_new = _pooled_new(ref, cur, new_category_count)
    out = counted("categorical", wanted, r, c, methods)
    chisquare = out.get("chisquare")
    if chisquare is not None:
        s = chisquare["statistic"]
        if pooled_new and new_category_count is not None:
            chisquare["p_value"] = float(stats.chi2.sf(s, r.size - 2 + new_category_count))
        elif pooled_new:  # 1..n distinct new values: the exact p-value lies in [p, p_upper]
            n_other = int(cur.counts[-1])
            chisquare["p_value_upper"] = float(stats.chi2.sf(s, r.size - 2 + n_other))
    names = (*spec.categories, None)
    gone = [i for i in range(len(spec.categories)) if ref.counts[i] > 0 and cur.counts[i] == 0]
    out["vanished_categories"] = {names[i]: float(ref.counts[i] / ref.count) for i in gone}
    out["vanished_category_count"] = len(gone)
    other_new = ref.counts[-1] == 0 and cur.counts[-1] > 0
    out["new_category_share"] = float(cur.counts[-1] / cur.count) if other_new else 0.0
    out["other_share"] = {
        "reference": float(ref.counts[-1] / ref.count),
        "current": float(cur.counts[-1] / cur.count),
    }
    approximate = _pooling(spec, ref, cur, new_category_count)
    if approximate is not None:
        out["approximate"] = approximate
    return out


# Statistics that change when categories absent from the reference are pooled: the floored
# PSI/KL/JS, and the chi-square p-value (its statistic, TVD and Hellinger add one term
# linear in each such category's count, so pooling leaves them unchanged).
_CHANGED_BY_POOLED_NEW = ("chisquare", "jensenshannon", "kl", "psi")
# ...and those that change when the reference's own categories beyond the top K are pooled.
_CHANGED_BY_POOLED_REFERENCE = ("chisquare", "hellinger", "jensenshannon", "kl", "psi", "tvd")


def _pooled_new(ref: CategoricalSketch, cur: CategoricalSketch, count: int | None) -> bool:
    """ "other" holds only new categories, possibly several (unknown, or known > 1)."""
    return ref.counts[-1] == 0 and cur.counts[-1] > 0 and (count is None or count > 1)


def _pooling(
    spec: CategoricalSpec, ref: CategoricalSketch, cur: CategoricalSketch, count: int | None
) -> dict | None:
    """{"methods", "reason"} when "other" may pool categories the exact engine keeps apart."""
    k = len(spec.categories)
    if ref.counts[-1] > 0:
        return {
            "methods": list(_CHANGED_BY_POOLED_REFERENCE),
            "reason": (
                f"the reference has more than {k} categories: the rest share one 'other' "
                "bucket (with any new ones), so statistics and p-values are over fewer "
                "categories than the exact engine's"
            ),
        }
    if not _pooled_new(ref, cur, count):
        return None
    methods = [m for m in _CHANGED_BY_POOLED_NEW if m != "chisquare" or count is None]
    how_many = "sketches do not say how many distinct" if count is None else f"{count} distinct"
    return {
        "methods": sorted(methods),
        "reason": (
            f"new categories share one 'other' bucket ({how_many}): the "
            "chi-square statistic, TVD and Hellinger are exact, "
            + (
                "the chi-square p-value counts fewer degrees of freedom (smaller than exact)"
                if count is None
                else "the floored PSI/KL/JS are not"
            )
        ),
    }


def _check(spec, ref, cur) -> None:
    for side, s in (("reference", ref), ("current", cur)):
        if s.spec_id != spec.spec_id:
            raise DriftError(f"the {side} sketch was not built over this spec")
        if s.count == 0:
            raise DriftError(f"the {side} sketch holds no values")
