"""One feature's drift statistic (and p-value) over many windows drawn from the reference.

The calibration simulation (`monitor.drift.simulate`) needs, per feature, the statistic the
monitor decides on for thousands of windows, healthy or shifted. The common methods are
vectorised here with the engine's definitions (`monitor.drift.nullstats`, pinned draw by
draw to `monitor.drift.compare`; chi-square and the z-test are `count_stats.chi2` /
`z_two_proportion` on a (draws, categories) array); any other method of the registry is
computed draw by draw through its own row (`Method.counts` / `Method.samples`), slower but
the same code as the engine.

KS p-values: the engine's `ks` is scipy's `ks_2samp` (exact up to 10,000 values per side).
For fixed sizes the p-value is a decreasing function of D alone, so it is computed exactly
once per pair of sizes on a grid of D values and interpolated in log p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as sps
from scipy.special import chdtrc, ndtr

from monitor.drift.binning import bin_counts, quantile_edges
from monitor.drift.nullstats import binned_many, ks_many, tie_bounds, wasserstein_many
from monitor.drift.numeric import KS_EXACT_MAX_N, NumericReference
from monitor.drift.registry import METHODS, Kind
from monitor.errors import DriftError

VECTOR_NUMERIC = frozenset({"wasserstein_normed", "ks", "psi", "jensenshannon", "hellinger", "kl"})
VECTOR_CATEGORICAL = frozenset({"chisquare", "z", "psi", "jensenshannon", "hellinger", "kl", "tvd"})
GRID = 80  # KS p-values computed exactly per window sizes
CHUNK_VALUES = 2_000_000  # values per block of draws (memory bound)

__all__ = ["Column", "Shift", "column_stats"]


@dataclass(frozen=True)
class Shift:
    """A change applied to drawn windows: a mean shift in reference sds (numeric) or a share
    of the most frequent category's mass moved to the next one (categorical)."""

    kind: str  # "mean" | "mass"
    size: float

    @property
    def label(self) -> str:
        return f"+{self.size:g}σ" if self.kind == "mean" else f"{self.size:.0%} mass"


@dataclass
class Column:
    """A feature's reference side, prepared once for every block of draws."""

    name: str
    kind: Kind
    values: np.ndarray  # present values (numeric floats, or category codes)
    present_rows: np.ndarray  # row index of each present value in the frame
    n_rows: int
    bins: int = 10
    ordered: np.ndarray | None = None
    rank: np.ndarray | None = None  # position of each present value in `ordered`
    ties: tuple | None = None
    edges: np.ndarray | None = None
    counts: np.ndarray | None = None  # reference counts per bin / category
    std: float = 0.0

    @classmethod
    def of(cls, name: str, kind: Kind, column, bins: int = 10) -> Column:
        if kind == "numeric":
            arr = column.to_numpy(dtype=np.float64, na_value=np.nan)
            ok = np.isfinite(arr)
            values = arr[ok]
        else:
            ok = column.notna().to_numpy()
            values = _codes(column[ok])
        if values.size == 0:
            raise DriftError(f"column {name!r} has no non-missing reference value")
        out = cls(name, kind, values, np.flatnonzero(ok), int(ok.size), bins)
        if kind == "numeric":
            order = np.argsort(values, kind="stable")
            out.ordered = values[order]
            out.rank = np.empty(values.size, dtype=np.int64)
            out.rank[order] = np.arange(values.size)
            out.ties = tie_bounds(out.ordered)
            out.edges = quantile_edges(values, bins)
            out.counts = bin_counts(values, out.edges)
            out.std = float(values.std())
        else:
            out.counts = np.bincount(values).astype(np.int64)
        return out

    @property
    def present_share(self) -> float:
        return self.values.size / self.n_rows

    def window_size(self, rows: int) -> int:
        """Non-missing values in a window of `rows` rows (at least 2)."""
        return max(2, round(rows * self.present_share))


def _codes(series) -> np.ndarray:
    import pandas as pd

    codes, _ = pd.factorize(series.astype(str) if series.dtype == object else series)
    return codes.astype(np.int64)


def _moved(counts: np.ndarray, share: float) -> np.ndarray:
    """Category probabilities with `share` of the top category's mass moved to the next."""
    p = counts / counts.sum()
    if p.size < 2:
        return p
    order = np.argsort(-p, kind="stable")
    out = p.copy()
    moved = p[order[0]] * share
    out[order[0]] -= moved
    out[order[1]] += moved
    return out


def _numeric_draws(
    col: Column, idx: np.ndarray, shift: Shift | None
) -> tuple[np.ndarray, tuple | None]:
    """Sorted (b, m) draws; positions in `ordered` when unshifted (skips the searches)."""
    assert col.ordered is not None and col.rank is not None
    pos = np.sort(col.rank[idx], axis=1)
    draws = col.ordered[pos]
    if shift is None or shift.size == 0:
        return draws, (pos, col.ties)
    return draws + shift.size * col.std, None


@lru_cache(maxsize=64)
def _ks_grid(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """log p of the engine's two-sample KS test at sizes (n, m) on a grid of D, computed
    once per sizes: exact (scipy's own routine for `ks_2samp`'s exact mode) where scipy
    succeeds, Smirnov's asymptotic distribution otherwise. The grid ends where p is ~1e-50."""
    en = max(n, m) * min(n, m) / (n + m)
    grid = np.linspace(0.0, min(1.0, 7.6 / math.sqrt(en)), GRID)
    exact = getattr(sps._stats_py, "_attempt_exact_2kssamp", None)
    g, ps = math.gcd(n, m), []
    for x in grid:
        p = None
        if exact is not None and max(n, m) <= KS_EXACT_MAX_N:
            ok, _, p = exact(n, m, g, float(x), "two-sided")
            p = p if ok else None
        ps.append(float(sps.kstwo.sf(x, round(en))) if p is None else float(p))
    return grid, np.log(np.clip(np.asarray(ps), 1e-300, 1.0))


def _ks_p(d: np.ndarray, n: int, m: int) -> np.ndarray:
    """The engine's KS p-value for each D at sizes (n, m): the exact values on a grid,
    interpolated in log p (smooth and decreasing in D); beyond the grid, asymptotic."""
    if max(n, m) > KS_EXACT_MAX_N:
        return np.clip(sps.kstwo.sf(d, round(max(n, m) * min(n, m) / (n + m))), 0.0, 1.0)
    grid, logp = _ks_grid(n, m)
    p = np.exp(np.interp(d, grid, logp))
    beyond = d > grid[-1]
    if beyond.any():
        p[beyond] = np.clip(sps.kstwo.sf(d[beyond], round(n * m / (n + m))), 0.0, 1.0)
    return p


def _chi2(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`count_stats.chi2` for each row of c (categories empty on both sides dropped)."""
    keep = r > 0
    r, c = r[keep].astype(np.float64), c[:, keep].astype(np.float64)
    if r.size < 2:
        return np.zeros(c.shape[0]), np.ones(c.shape[0])
    n_r, n_c = r.sum(), c.sum(axis=1, keepdims=True)
    col = r[None, :] + c
    e_r, e_c = n_r * col / (n_r + n_c), n_c * col / (n_r + n_c)
    stat = ((r - e_r) ** 2 / e_r + (c - e_c) ** 2 / e_c).sum(axis=1)
    return stat, chdtrc(float(r.size - 1), stat)


def _z(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`count_stats.z_two_proportion` per row; NaN unless exactly two categories."""
    if r.size != 2:
        nan = np.full(c.shape[0], np.nan)
        return nan, nan
    n_r, n_c = r.sum(), c.sum(axis=1)
    pooled = (r[0] + c[:, 0]) / (n_r + n_c)
    var = pooled * (1.0 - pooled) * (1.0 / n_r + 1.0 / n_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (r[0] / n_r - c[:, 0] / n_c) / np.sqrt(var), 0.0)
    return z, 2.0 * ndtr(-np.abs(z))


def _counts_of(col: Column, idx: np.ndarray, shift: Shift | None, rng) -> np.ndarray:
    """(b, k) window counts per bin / category."""
    assert col.counts is not None
    b, m = idx.shape
    k = col.counts.size
    if col.kind == "categorical":
        if shift is not None and shift.size > 0:
            return rng.multinomial(m, _moved(col.counts, shift.size), size=b)
        codes = col.values[idx]
    else:
        assert col.edges is not None
        vals = col.values[idx] + (0.0 if shift is None else shift.size * col.std)
        codes = np.searchsorted(col.edges, vals, side="left")
    flat = (codes + k * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * k).reshape(b, k)


def _vector(col: Column, method: str, idx, shift, rng) -> tuple[np.ndarray, np.ndarray | None]:
    if method in ("wasserstein_normed", "ks") and col.kind == "numeric":
        draws, pos = _numeric_draws(col, idx, shift)
        assert col.ordered is not None
        if method == "wasserstein_normed":
            return wasserstein_many(col.ordered, draws, pos), None
        d = ks_many(col.ordered, draws, pos)
        return d, None  # p-values are added on the whole array (one grid)
    counts = _counts_of(col, idx, shift, rng)
    assert col.counts is not None
    if method == "chisquare":
        return _chi2(col.counts, counts)
    if method == "z":
        return _z(col.counts, counts)
    return binned_many(col.counts, counts, (method,))[method], None


def _one_by_one(col: Column, method: str, idx, shift, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """Any registry method, draw by draw through its own row (the engine's code)."""
    row = METHODS[method]
    stats, ps = np.full(idx.shape[0], np.nan), np.full(idx.shape[0], np.nan)
    if row.counts is not None and not (col.kind == "numeric" and row.samples is not None):
        assert col.counts is not None
        for i, c in enumerate(_counts_of(col, idx, shift, rng)):
            ref_c = col.counts.astype(np.float64)
            stats[i], ps[i] = _entry(row.counts(ref_c, c.astype(np.float64)))
    elif row.samples is not None and col.kind == "numeric":
        draws, _ = _numeric_draws(col, idx, shift)
        assert col.ordered is not None
        ref = NumericReference.fit(col.ordered, col.bins)
        for i, d in enumerate(draws):
            stats[i], ps[i] = _entry(row.samples(ref, d))
    else:
        raise DriftError(f"cannot simulate drift method {method!r} for {col.kind} features")
    return stats, (ps if row.is_p_value else None)


def _entry(value) -> tuple[float, float]:
    if isinstance(value, dict):
        p = value.get("p_value")
        return float(value["statistic"]), math.nan if p is None else float(p)
    return (math.nan if value is None else float(value)), math.nan


def column_stats(
    col: Column,
    method: str,
    idx: np.ndarray,
    rng: np.random.Generator,
    shift: Shift | None = None,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(statistic, p-value or None) of `method` for each row of value positions `idx` (b, m),
    computed in blocks of at most CHUNK_VALUES values. `scale` multiplies statistics linear
    in the CDF difference (squared for chi-square, PSI and KL; p-values follow)."""
    vector = VECTOR_NUMERIC if col.kind == "numeric" else VECTOR_CATEGORICAL
    fn = _vector if method in vector else _one_by_one
    b, m = idx.shape
    step = max(1, CHUNK_VALUES // max(m, 1))
    parts = [fn(col, method, idx[i : i + step], shift, rng) for i in range(0, b, step)]
    stat = np.concatenate([s for s, _ in parts])
    p = None if parts[0][1] is None else np.concatenate([x for _, x in parts if x is not None])
    if scale != 1.0 and fn is _vector:
        stat, p = _scaled(col, method, stat, p, scale)
    if method == "ks":
        return stat, _ks_p(stat, col.values.size, m)
    return stat, p


def _scaled(col: Column, method: str, stat, p, scale: float):
    """Statistics of a fresh window from those of a window drawn from the reference."""
    if method in ("psi", "kl"):
        return stat * scale * scale, p
    if method == "chisquare":
        assert col.counts is not None
        stat = stat * scale * scale
        return stat, chdtrc(float(max(int((col.counts > 0).sum()) - 1, 1)), stat)
    if method == "z":
        stat = stat * scale
        return stat, 2.0 * ndtr(-np.abs(stat))
    return stat * scale, p
