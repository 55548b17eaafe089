"""Exact numeric drift statistics from sorted arrays: each column is sorted once per side.

Missing values (NaN, None, ±inf) are dropped before anything here is called; the inputs are
finite and sorted ascending. The Wasserstein distance comes from the two sorted arrays
directly (the quantile form, no merge); KS needs the merge of both samples and, with its
p-value, is computed only when the verdict uses it or it is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.drift.binning import bin_counts_sorted, sorted_quantile_edges, sorted_quantiles
from monitor.drift.registry import METHODS, Method

KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp 'auto' is exact up to this size, asymptotic above
KS_EXACT = "exact: scipy.stats.ks_2samp method 'auto' (both sizes <= 10,000)"
KS_ASYMPTOTIC = "asymptotic: scipy.stats.kstwo.sf(D, round(n*m/(n+m))), as ks_2samp 'auto'"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
EXACT_FLOAT_PRODUCT = 2**52  # n*m below this: floor(i*m/n) is exact in float64
ANDERSON_P = "scipy.stats.anderson_ksamp midrank: interpolated in a table, capped to [0.001, 0.25]"
CRAMER_VON_MISES_P = (
    "scipy.stats.cramervonmises_2samp 'auto': exact if both sizes <= 20, else asymptotic"
)


def finite_sorted(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Sorted finite values, and how many were missing (NaN) and infinite (±inf).

    One sorted copy and no mask pass: numpy sorts -inf first and +inf, then NaN, last, so
    the finite values are a slice of the sorted copy, found by three binary searches.
    """
    out = np.sort(np.asarray(values, dtype=np.float64))
    lo = int(np.searchsorted(out, -np.inf, side="right"))
    hi = int(np.searchsorted(out, np.inf, side="left"))
    first_nan = int(np.searchsorted(out, np.nan, side="left"))
    return out[lo:hi], out.size - first_nan, lo + first_nan - hi


@dataclass(frozen=True)
class NumericReference:
    """A reference column fitted once: reused for every current window compared with it."""

    sorted: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    mean: float
    std: float  # population (ddof=0)

    @classmethod
    def fit(cls, sorted_values: np.ndarray, bins: int) -> NumericReference:
        edges = sorted_quantile_edges(sorted_values, bins)
        counts = bin_counts_sorted(sorted_values, edges)
        return cls(sorted_values, edges, counts, *mean_std(sorted_values))


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """`(values.mean(), values.std())` bit for bit, with the mean summed once, not twice.

    The same operations as numpy's `_mean` and `_var` (pairwise sum / n; then the sum of
    squared deviations from that mean / n, square root), on one temporary array.
    """
    n = values.size
    mean = np.add.reduce(values) / n
    dev = np.subtract(values, mean)
    np.multiply(dev, dev, out=dev)
    return float(mean), float(np.sqrt(np.add.reduce(dev) / n))


def _merge(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merged sorted values and, at each position, how many of them came from `a`."""
    both = np.concatenate((a, b))
    order = np.argsort(both, kind="stable")  # timsort: linear on two sorted runs
    merged = both.take(order)
    del both
    from_a = order < a.size
    del order
    return merged, np.cumsum(from_a, dtype=np.int32 if merged.size < 2**31 else np.int64)


def _ecdf_diff(from_a: np.ndarray, n: int, m: int) -> np.ndarray:
    """ECDF(a) − ECDF(b) at each merged position, computed in place as scipy does (i/n − j/m)."""
    from_b = np.arange(1, from_a.size + 1, dtype=np.float64)
    diff = from_a.astype(np.float64)
    from_b -= diff
    from_b /= m
    diff /= n
    diff -= from_b
    return diff


def ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float, str]:
    """(KS statistic, p-value, how the p-value was computed) of two sorted non-empty samples.

    Identical to `scipy.stats.ks_2samp(a, b)` (method 'auto': exact when both sizes are at
    most 10,000, which scipy computes itself here; else Smirnov's asymptotic
    `kstwo.sf(d, round(n·m/(n+m)))` on the statistic from one merge of the sorted samples).
    """
    from scipy import stats

    n, m = a.size, b.size
    if max(n, m) <= KS_EXACT_MAX_N:
        res = stats.ks_2samp(a, b)
        return float(res.statistic), float(res.pvalue), KS_EXACT
    merged, from_a = _merge(a, b)
    diff = _ecdf_diff(from_a, n, m)
    del from_a
    steps = np.diff(merged)
    del merged
    # the ECDFs are compared where a run of equal values ends (scipy's side='right')
    at_ends = diff if steps.all() else np.append(diff[:-1][steps != 0], diff[-1])
    d = float(max(min(max(-at_ends.min(), 0.0), 1.0), at_ends.max()))
    big, small = max(float(n), float(m)), min(float(n), float(m))
    p = float(np.clip(stats.kstwo.sf(d, np.round(big * small / (big + small))), 0.0, 1.0))
    return d, p, KS_ASYMPTOTIC


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """`scipy.stats.wasserstein_distance(a, b)` of two sorted non-empty samples, without a merge.

    W1 = ∫|F_a − F_b| dx = ∫₀¹|Q_a(t) − Q_b(t)| dt: the quantile functions step at i/n and
    j/m, so the integral is a sum over the sorted arrays themselves. Equal sizes: the mean
    of |a_i − b_i|. Otherwise (n > m) each a-step (i−1)/n..i/n overlaps at most two b-steps,
    weighted by the overlap in units of 1/(n·m). The same number as scipy's CDF form up to
    the last bits (a different, equally exact summation; differences measured below 1e-12
    relative, and on decimal data it is the one that lands on the exact value).
    """
    n, m = a.size, b.size
    if n < m:
        a, b, n, m = b, a, m, n
    if n == m:
        dev = np.subtract(a, b)
        np.abs(dev, out=dev)
        return float(np.add.reduce(dev)) / n
    start = np.arange(n, dtype=np.float64)
    start *= m  # (i-1)*m: where a-step i starts, in units of 1/(n*m)
    if float(n) * float(m) < EXACT_FLOAT_PRODUCT:
        j1 = np.floor(start / n).astype(np.intp)  # exact: see EXACT_FLOAT_PRODUCT
    else:
        j1 = (np.arange(n, dtype=np.int64) * m // n).astype(np.intp)
    # overlap of a-step i with b-step j1 (it ends at (j1+1)*n), the rest lies in j1+1
    w1 = (j1 + 1).astype(np.float64)
    w1 *= n
    w1 -= start
    np.minimum(w1, m, out=w1)
    first = np.subtract(a, b.take(j1))
    np.abs(first, out=first)
    first *= w1
    total = float(np.add.reduce(first))
    np.subtract(m, w1, out=w1)
    j1 += 1
    np.minimum(j1, m - 1, out=j1)
    second = np.subtract(a, b.take(j1), out=first)
    np.abs(second, out=second)
    second *= w1
    total += float(np.add.reduce(second))
    return total / (float(n) * float(m))


def ks_wasserstein(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(KS statistic, KS p-value, Wasserstein-1 distance): `ks` and `wasserstein` together."""
    d, p, _ = ks(a, b)
    return d, p, wasserstein(a, b)


def normed(distance: float, scale: float) -> float:
    """distance / scale; for a zero scale (constant reference): 0 if distance is 0 else +inf."""
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else math.inf


def anderson(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """`scipy.stats.anderson_ksamp([a, b], variant='midrank')`: scipy caps p to [0.001, 0.25].

    scipy warns when it caps; the warning is left alone (suppressing it with
    `warnings.catch_warnings` is not thread-safe, and columns run in threads).
    """
    from scipy import stats

    res = stats.anderson_ksamp([a, b], variant="midrank")
    return float(res.statistic), float(res.pvalue)


def cramer_von_mises(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """`scipy.stats.cramervonmises_2samp(a, b)` with its default method ('auto')."""
    from scipy import stats

    res = stats.cramervonmises_2samp(a, b)
    return float(res.statistic), float(res.pvalue)


def describe(ref: NumericReference, cur: np.ndarray) -> dict:
    """Mean/std/quantile shifts and the share of current values outside reference [min, max]."""
    r = ref.sorted
    qs = np.asarray(QUANTILES)
    q_ref, q_cur = sorted_quantiles(r, qs), sorted_quantiles(cur, qs)
    below = np.searchsorted(cur, r[0], side="left")
    above = cur.size - np.searchsorted(cur, r[-1], side="right")
    mean_cur, std_cur = mean_std(cur)
    return {
        "mean": {
            "reference": ref.mean,
            "current": mean_cur,
            "shift_normed": normed(abs(mean_cur - ref.mean), ref.std)
            * (1.0 if mean_cur >= ref.mean else -1.0),
        },
        "std": {"reference": ref.std, "current": std_cur},
        "quantiles": {
            f"{q:g}": {"reference": float(x), "current": float(y)}
            for q, x, y in zip(QUANTILES, q_ref, q_cur, strict=True)
        },
        "share_outside_reference_range": float((below + above) / cur.size),
    }


def ks_entry(ref: NumericReference, cur: np.ndarray) -> dict[str, Any]:
    """The "ks" stats entry: statistic, p-value and how the p-value was computed."""
    d, p, how = ks(ref.sorted, cur)
    return {"statistic": d, "p_value": p, "p_value_method": how}


def wasserstein_normed_entry(ref: NumericReference, cur: np.ndarray) -> float:
    """The Wasserstein-1 distance over the reference's population std (`normed`)."""
    return normed(wasserstein(ref.sorted, cur), ref.std)


def anderson_entry(ref: NumericReference, cur: np.ndarray) -> dict[str, Any]:
    """The "anderson" stats entry; ValueError when scipy refuses the data."""
    s, p = anderson(ref.sorted, cur)
    return {"statistic": s, "p_value": p, "p_value_method": ANDERSON_P}


def cramer_von_mises_entry(ref: NumericReference, cur: np.ndarray) -> dict[str, Any]:
    """The "cramer_von_mises" stats entry; ValueError when scipy refuses the data."""
    s, p = cramer_von_mises(ref.sorted, cur)
    return {"statistic": s, "p_value": p, "p_value_method": CRAMER_VON_MISES_P}


def numeric_stats(
    ref: NumericReference,
    cur: np.ndarray,
    wanted: frozenset[str],
    quality: dict[str, Any] | None = None,
    methods: Mapping[str, Method] = METHODS,
) -> dict[str, Any]:
    """Every statistic in `wanted` (method names) plus the descriptive ones, for one column.

    Each wanted numeric method of the table, in its order, from the samples (`samples`) or
    from the current values counted in the reference's bins (`counts`, counted once). KS (a
    merge and a p-value), Anderson–Darling and Cramér–von Mises are computed only when in
    `wanted`; when scipy refuses the data (e.g. a single distinct value overall for
    Anderson–Darling) the reason goes to `quality["errors"][name]` and the statistic is left out.
    """
    out: dict[str, Any] = {}
    counts = None
    for name, m in methods.items():
        if name not in wanted or "numeric" not in m.kinds:
            continue
        if m.samples is not None:
            try:
                out[name] = m.samples(ref, cur)
            except ValueError as exc:
                if quality is not None:
                    quality.setdefault("errors", {})[name] = str(exc)
        elif m.counts is not None:
            if counts is None:
                counts = bin_counts_sorted(cur, ref.edges)
            value = m.counts(ref.counts, counts)
            if value is not None:
                out[name] = value
    out.update(describe(ref, cur))
    return out
