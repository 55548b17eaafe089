"""Reference-quantile bins: the one binning every binned statistic and sketch shares.

Bins are right-closed, like `pandas.cut`'s default: with interior edges e[0] < ... < e[k-1],
bin 0 is (-inf, e[0]], bin i is (e[i-1], e[i]] and bin k is (e[k-1], +inf). A value equal
to an edge belongs to the bin that edge closes, so the count up to edge i is exactly the
reference's ECDF at that quantile, and a heavily tied value (many zeros) stays in one bin.
"""

from __future__ import annotations

import math

import numpy as np

from monitor.errors import DriftError


def quantile_edges(values: np.ndarray, bins: int = 10) -> np.ndarray:
    """Interior edges: the reference's quantiles at k/bins (k = 1..bins-1), duplicates merged.

    Quantiles use numpy's default (linear) method. `values` must be finite; sorted input is
    fastest (numpy's selection is linear on sorted data). Returns a strictly increasing array
    of between 1 and bins-1 edges (one edge for a constant reference: two bins, (-inf, v]
    holding it and (v, +inf) for anything above).
    """
    if bins < 2:
        raise DriftError(f"bins must be at least 2, got {bins}")
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise DriftError("cannot derive bin edges from an empty reference")
    qs = np.arange(1, bins, dtype=np.float64) / bins
    return np.unique(np.quantile(values, qs))


def sorted_quantiles(sorted_values: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """`np.quantile(sorted_values, qs)` (linear method), bit for bit, on already sorted values.

    numpy's quantile copies and partitions its input; on a sorted array the answer is two
    lookups and numpy's own interpolation (`_lerp`), which this repeats exactly, in Python
    floats (the same IEEE operations: a dozen numpy calls cost more for a few quantiles).
    """
    n = sorted_values.size
    if n == 0:
        raise DriftError("cannot take quantiles of an empty sample")
    out = []
    for q in np.asarray(qs, dtype=np.float64).tolist():
        virtual = (n - 1) * q
        if virtual >= n - 1:  # numpy: both neighbours are the last value, prev counts as -1
            lo = hi = float(sorted_values[n - 1])
            gamma = virtual + 1
        else:
            prev = math.floor(virtual) if virtual > 0 else 0
            lo, hi = float(sorted_values[prev]), float(sorted_values[prev + 1])
            gamma = virtual - prev
        diff = hi - lo
        out.append(hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma)
    return np.array(out, dtype=np.float64)


def sorted_quantile_edges(sorted_values: np.ndarray, bins: int = 10) -> np.ndarray:
    """`quantile_edges` for already sorted finite values, without copying them."""
    if bins < 2:
        raise DriftError(f"bins must be at least 2, got {bins}")
    qs = np.arange(1, bins, dtype=np.float64) / bins
    return np.unique(sorted_quantiles(sorted_values, qs))


def bin_index(values: np.ndarray, interior_edges: np.ndarray) -> np.ndarray:
    """Bin number of each value under right-closed bins (see module docstring)."""
    return np.searchsorted(interior_edges, values, side="left")


def bin_counts(values: np.ndarray, interior_edges: np.ndarray) -> np.ndarray:
    """Counts per bin (int64, length len(interior_edges) + 1) of finite `values`."""
    values = np.asarray(values, dtype=np.float64)
    idx = bin_index(values, interior_edges)
    return np.bincount(idx, minlength=len(interior_edges) + 1).astype(np.int64, copy=False)


def bin_counts_sorted(sorted_values: np.ndarray, interior_edges: np.ndarray) -> np.ndarray:
    """Same as `bin_counts` for already sorted values, in O(bins · log n) instead of O(n)."""
    upto = np.searchsorted(sorted_values, interior_edges, side="right")
    bounds = np.concatenate(([0], upto, [sorted_values.size]))
    return np.diff(bounds).astype(np.int64, copy=False)
