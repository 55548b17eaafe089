"""Exact numeric drift statistics from sorted arrays: each column is sorted once per side.

Missing values (NaN, None, ±inf) are dropped before anything here is called; the inputs are
finite and sorted ascending. The merge of the two sorted samples is shared by KS and
Wasserstein, so a 1M-row column costs two sorts and one linear-time merge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from monitor.drift import binned
from monitor.drift.binning import bin_counts_sorted, sorted_quantile_edges, sorted_quantiles

KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp 'auto' is exact up to this size, asymptotic above
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
BINNED = ("psi", "jensenshannon", "hellinger", "kl")


def finite_sorted(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Sorted finite values, and how many were missing (NaN) and infinite (±inf)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    n_bad = values.size - int(np.count_nonzero(finite))
    out = values[finite] if n_bad else values.copy()
    out.sort()
    n_inf = int(np.count_nonzero(np.isinf(values))) if n_bad else 0
    return out, n_bad - n_inf, n_inf


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
        return cls(
            sorted_values, edges, counts, float(sorted_values.mean()), float(sorted_values.std())
        )


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


def ks_wasserstein(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(KS statistic, KS p-value, Wasserstein-1 distance) of two sorted non-empty samples.

    Identical to `scipy.stats.ks_2samp(a, b)` (method 'auto': exact when both sizes are at
    most 10,000, which scipy computes itself here; else Smirnov's asymptotic
    `kstwo.sf(d, round(n·m/(n+m)))`) and to `scipy.stats.wasserstein_distance(a, b)` (the
    same CDF differences times the gaps between merged values; summed by a dot product).
    """
    n, m = a.size, b.size
    merged, from_a = _merge(a, b)
    diff = _ecdf_diff(from_a, n, m)
    del from_a
    steps = np.diff(merged)
    del merged
    if max(n, m) <= KS_EXACT_MAX_N:
        res = stats.ks_2samp(a, b)
        d, p = float(res.statistic), float(res.pvalue)
    else:
        # the ECDFs are compared where a run of equal values ends (scipy's side='right')
        at_ends = diff if steps.all() else np.append(diff[:-1][steps != 0], diff[-1])
        d = float(max(min(max(-at_ends.min(), 0.0), 1.0), at_ends.max()))
        big, small = max(float(n), float(m)), min(float(n), float(m))
        p = float(np.clip(stats.kstwo.sf(d, np.round(big * small / (big + small))), 0.0, 1.0))
    body = np.abs(diff[:-1], out=diff[:-1])
    return d, p, float(np.dot(body, steps))


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
    res = stats.anderson_ksamp([a, b], variant="midrank")
    return float(res.statistic), float(res.pvalue)


def cramer_von_mises(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """`scipy.stats.cramervonmises_2samp(a, b)` with its default method ('auto')."""
    res = stats.cramervonmises_2samp(a, b)
    return float(res.statistic), float(res.pvalue)


def describe(ref: NumericReference, cur: np.ndarray) -> dict:
    """Mean/std/quantile shifts and the share of current values outside reference [min, max]."""
    r = ref.sorted
    qs = np.asarray(QUANTILES)
    q_ref, q_cur = sorted_quantiles(r, qs), sorted_quantiles(cur, qs)
    below = np.searchsorted(cur, r[0], side="left")
    above = cur.size - np.searchsorted(cur, r[-1], side="right")
    mean_cur = float(cur.mean())
    return {
        "mean": {
            "reference": ref.mean,
            "current": mean_cur,
            "shift_normed": normed(abs(mean_cur - ref.mean), ref.std)
            * (1.0 if mean_cur >= ref.mean else -1.0),
        },
        "std": {"reference": ref.std, "current": float(cur.std())},
        "quantiles": {
            f"{q:g}": {"reference": float(x), "current": float(y)}
            for q, x, y in zip(QUANTILES, q_ref, q_cur, strict=True)
        },
        "share_outside_reference_range": float((below + above) / cur.size),
    }


def numeric_stats(
    ref: NumericReference, cur: np.ndarray, wanted: frozenset[str], quality: dict | None = None
) -> dict:
    """Every statistic in `wanted` (method names) plus the descriptive ones, for one column.

    Anderson–Darling and Cramér–von Mises are costly and computed only when in `wanted`;
    when scipy refuses the data (e.g. a single distinct value overall for Anderson–Darling)
    the reason goes to `quality["errors"][name]` and the statistic is left out.
    """
    out: dict = {}
    if wanted & {"ks", "wasserstein_normed"}:
        d, p, w = ks_wasserstein(ref.sorted, cur)
        out["ks"] = {"statistic": d, "p_value": p}
        out["wasserstein_normed"] = normed(w, ref.std)
    if wanted & set(BINNED):
        counts = bin_counts_sorted(cur, ref.edges)
        for name in BINNED:
            if name in wanted:
                out[name] = getattr(binned, name)(ref.counts, counts)
    for name, test in (("anderson", anderson), ("cramer_von_mises", cramer_von_mises)):
        if name in wanted:
            try:
                s, p = test(ref.sorted, cur)
            except ValueError as exc:
                if quality is not None:
                    quality.setdefault("errors", {})[name] = str(exc)
                continue
            out[name] = {"statistic": s, "p_value": p}
    out.update(describe(ref, cur))
    return out
