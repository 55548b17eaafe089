"""The engine's statistics for many null draws at once, against one full reference.

Each function returns one value per draw, equal (to float rounding) to what
`monitor.drift.compare` reports for that draw as the current window against the reference;
tests/drift/test_nullstats.py pins them draw by draw. Vectorised so that a calibration
costs seconds: a loop over draws would pay a reference-sized merge per draw.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from monitor.drift.binned import FLOOR

__all__ = ["binned_many", "ks_many", "tie_bounds", "wasserstein_many"]


def tie_bounds(ref_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of a sorted array: where its run of equal values starts and ends.

    Equal to searchsorted(ref_sorted, ref_sorted, side="left"/"right"), in linear time: lets
    draws given as positions in the reference skip the binary searches.
    """
    n = ref_sorted.size
    pos = np.arange(n)
    new = np.ones(n, dtype=bool)
    new[1:] = ref_sorted[1:] != ref_sorted[:-1]
    start = np.maximum.accumulate(np.where(new, pos, 0))
    end_mark = np.ones(n, dtype=bool)
    end_mark[:-1] = new[1:]
    end = np.minimum.accumulate(np.where(end_mark, pos, n)[::-1])[::-1] + 1
    return start, end


def _ranks(ref_sorted, draws_sorted, positions, side: Literal["left", "right"]) -> np.ndarray:
    if positions is None:
        return np.searchsorted(ref_sorted, draws_sorted, side=side)
    start, end = positions[1]
    return (start if side == "left" else end)[positions[0]]


def wasserstein_many(
    ref_sorted: np.ndarray, draws_sorted: np.ndarray, positions: tuple | None = None
) -> np.ndarray:
    """W1(draw, reference) / reference population std, per row of `draws_sorted` (b, m).

    W1 = ∫|Q_d(u) - Q_r(u)| du over u in (0, 1). Q_d is x_i on (i/m, (i+1)/m]; with
    I(u) = ∫_0^u Q_r (piecewise linear, from the reference's prefix sums) and c the point
    where Q_r crosses x_i, each interval contributes x_i(c-a) - (I(c)-I(a)) + (I(b)-I(c))
    - x_i(b-c). Both sides are centred on the reference mean first (W1 is translation
    invariant) to keep the prefix sums small. `positions` = (draw positions in
    `ref_sorted`, `tie_bounds(ref_sorted)`) replaces the binary searches when the draws
    are taken from the reference itself.
    """
    n = ref_sorted.size
    mean, std = float(ref_sorted.mean()), float(ref_sorted.std())
    r = ref_sorted - mean
    x = draws_sorted - mean
    prefix = np.concatenate(([0.0], np.cumsum(r)))
    m = x.shape[1]

    def integral(u: np.ndarray) -> np.ndarray:
        k = np.minimum((u * n).astype(np.int64), n - 1)
        return (prefix[k] + (u * n - k) * r[k]) / n

    a = np.arange(m, dtype=np.float64) / m
    b = np.arange(1, m + 1, dtype=np.float64) / m
    ia, ib = integral(a), integral(b)
    c = np.clip(_ranks(r, x, positions, "left") / n, a, b)
    ic = integral(c)
    w = (x * (2 * c - a - b) - 2 * ic + ia + ib).sum(axis=1)
    if std > 0:
        return w / std
    return np.where(w == 0, 0.0, np.inf)


def ks_many(
    ref_sorted: np.ndarray, draws_sorted: np.ndarray, positions: tuple | None = None
) -> np.ndarray:
    """Two-sample KS statistic D of each draw (row) against the full reference, ties handled.

    The ECDFs differ most at a draw value (right limits) or just before one (left limits);
    for a run of equal draw values the run's first/last positions give the limits.
    """
    n = ref_sorted.size
    b, m = draws_sorted.shape
    pos = np.broadcast_to(np.arange(m), (b, m))
    last = np.ones((b, m), dtype=bool)
    last[:, :-1] = draws_sorted[:, 1:] != draws_sorted[:, :-1]
    first = np.ones((b, m), dtype=bool)
    first[:, 1:] = last[:, :-1]
    right = np.minimum.accumulate(np.where(last, pos, m)[:, ::-1], axis=1)[:, ::-1] + 1
    left = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    fr_right = _ranks(ref_sorted, draws_sorted, positions, "right") / n
    fr_left = _ranks(ref_sorted, draws_sorted, positions, "left") / n
    d = np.maximum(np.abs(right / m - fr_right), np.abs(left / m - fr_left))
    return d.max(axis=1)


def _floored(counts: np.ndarray, floor: float) -> np.ndarray:
    p = counts / counts.sum(axis=-1, keepdims=True)
    return np.maximum(p, floor) if floor > 0 else p


def binned_many(
    ref_counts: np.ndarray, draw_counts: np.ndarray, methods: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """`monitor.drift.binned`'s distances of each row of `draw_counts` (b, k) vs `ref_counts`."""
    out: dict[str, np.ndarray] = {}
    r = np.asarray(ref_counts, dtype=np.float64)[None, :]
    c = np.asarray(draw_counts, dtype=np.float64)
    rp, cp = _floored(r, FLOOR), _floored(c, FLOOR)
    if "psi" in methods:
        out["psi"] = ((cp - rp) * np.log(cp / rp)).sum(axis=1)
    if "jensenshannon" in methods or "kl" in methods:
        p = rp / rp.sum(axis=1, keepdims=True)
        q = cp / cp.sum(axis=1, keepdims=True)
        if "kl" in methods:
            out["kl"] = (p * np.log(p / q)).sum(axis=1)
        if "jensenshannon" in methods:
            mid = (p + q) / 2
            js = ((p * np.log(p / mid)).sum(axis=1) + (q * np.log(q / mid)).sum(axis=1)) / 2
            out["jensenshannon"] = np.sqrt(np.maximum(js, 0.0) / np.log(2))
    rr, cc = _floored(r, 0.0), _floored(c, 0.0)
    if "hellinger" in methods:
        out["hellinger"] = np.sqrt(((np.sqrt(rr) - np.sqrt(cc)) ** 2).sum(axis=1) / 2)
    if "tvd" in methods:
        out["tvd"] = 0.5 * np.abs(rr - cc).sum(axis=1)
    return out
