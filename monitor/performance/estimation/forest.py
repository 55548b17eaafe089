"""Several exported tree ensembles predicted at once by leaf bitmasks (QuickScorer), in numpy.

Every tree has at most 32 leaves, numbered left to right; a row reaches the leftmost leaf that
no split on its path excludes. A split "x <= t" that a row fails (it goes right) excludes the
leaves of the left subtree: one 32-bit mask. Per feature, the split thresholds of all trees
(of all ensembles) are sorted once; a row's bin is how many of them lie below its value (NaN:
its own bin). For every bin the masks of all splits the bin fails are ANDed into one table
row per tree, so a row's surviving leaves are the AND over features of its bins' table rows,
and its leaf is the lowest set bit. No loop over rows or trees in Python, and the features are
binned once for every ensemble (DLE predicts |error| and squared error from the same rows).

The comparisons are scikit-learn's (NaN -> the learnt side, else x <= threshold -> left) on
the same float64 thresholds, and the leaf values are summed tree by tree in order, so the
predictions equal scikit-learn's bit for bit (pinned by a test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_LEAVES = 32  # one uint32 mask per tree
CHUNK_CELLS = 120_000  # rows × trees per step (0.5 MB of masks: stays in cache)
GROUP_CODES = 1024  # most bin combinations of the columns sharing one table
_FULL = np.uint32(0xFFFFFFFF)
# de Bruijn sequence 0x077CB531: the index of a power of two from its product's top 5 bits
_HASH = np.uint32(0x077CB531)
_DEBRUIJN = np.array(
    [0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
     31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9],
    dtype=np.int64,
)  # fmt: skip


@dataclass(frozen=True)
class Forest:
    features: list[int]  # the columns some split reads
    thresholds: list[np.ndarray]  # per such column: the sorted thresholds of its splits
    groups: list[tuple[np.ndarray, np.ndarray]]  # (bin stride per column, (trees, codes) masks)
    values: np.ndarray  # (trees, 32) leaf values by the de Bruijn hash of their bit
    bounds: list[tuple[int, int]]  # per ensemble: its trees' slice
    baselines: list[float]


def _leaves_in_order(tree: dict[str, Any]) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """Leaf node ids left to right, and for every split node its left subtree's leaves as
    (index of the first, count)."""
    leaves: list[int] = []
    left_span: dict[int, tuple[int, int]] = {}
    stack: list[tuple[int, bool]] = [(0, False)]
    first: dict[int, int] = {}
    while stack:  # iterative in-order walk (deep trees must not hit the recursion limit)
        node, done = stack.pop()
        if tree["leaf"][node]:
            leaves.append(node)
        elif done:  # left subtree finished: its leaves are first[node] .. len(leaves) - 1
            left_span[node] = (first[node], len(leaves) - first[node])
            stack.append((int(tree["right"][node]), False))
        else:
            first[node] = len(leaves)
            stack.append((node, True))
            stack.append((int(tree["left"][node]), False))
    return leaves, left_span


def _feature_tables(
    trees: list[dict[str, Any]], features: int
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per column: sorted thresholds and the (bins + 2, trees) masks (bin K+1 = NaN); the
    leaf values left to right."""
    cuts: list[list[float]] = [[] for _ in range(features)]
    for t in trees:
        for f, th, leaf in zip(t["feature"], t["threshold"], t["leaf"], strict=True):
            if not leaf:
                cuts[int(f)].append(float(th))
    thresholds = [np.unique(np.asarray(c, dtype=float)) for c in cuts]
    tables = [np.full((ts.size + 2, len(trees)), _FULL, dtype=np.uint32) for ts in thresholds]
    values = np.zeros((len(trees), MAX_LEAVES))
    for i, t in enumerate(trees):
        leaves, left_span = _leaves_in_order(t)
        values[i, : len(leaves)] = np.asarray(t["value"], dtype=float)[leaves]
        for node, (start, count) in left_span.items():
            mask = np.uint32(~(((1 << count) - 1) << start) & 0xFFFFFFFF)
            f = int(t["feature"][node])
            ts = thresholds[f]
            j = int(np.searchsorted(ts, float(t["threshold"][node])))
            tables[f][j + 1 : ts.size + 1, i] &= mask  # values above the threshold go right
            if not t["missing_left"][node]:
                tables[f][ts.size + 1, i] &= mask
    return thresholds, tables, values


def _grouped(tables: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Columns with few bins share one table (the AND of theirs over every combination of
    their bins, up to GROUP_CODES rows): fewer gathers per row. Greedy, smallest first."""
    groups: list[list[int]] = []
    size = GROUP_CODES + 1
    for p in sorted(range(len(tables)), key=lambda p: (tables[p].shape[0], p)):
        rows = tables[p].shape[0]
        if size * rows > GROUP_CODES:
            groups.append([])
            size = 1
        groups[-1].append(p)
        size *= rows
    out = []
    for members in groups:
        combined = tables[members[0]]
        strides = [1]
        for p in members[1:]:
            t = tables[p]
            combined = (combined[:, None, :] & t[None, :, :]).reshape(-1, t.shape[1])
            strides = [s * t.shape[0] for s in strides] + [1]
        position = np.zeros(len(tables), dtype=np.int64)
        position[members] = strides
        out.append((position, np.ascontiguousarray(combined.T)))
    return out


def build(models: list[dict[str, Any]], features: int) -> Forest | None:
    """The ensembles' bitmask tables; None if a tree has more than MAX_LEAVES leaves."""
    trees = [t for model in models for t in model["trees"]]
    if any(sum(t["leaf"]) > MAX_LEAVES for t in trees):
        return None
    thresholds, tables, values = _feature_tables(trees, features)
    used = [f for f in range(features) if (tables[f] != _FULL).any()]
    bounds, start = [], 0
    for model in models:
        bounds.append((start, start + len(model["trees"])))
        start += len(model["trees"])
    groups = _grouped([tables[f] for f in used])
    by_hash = values[:, _DEBRUIJN]  # the leaf whose bit hashes to h sits in column h
    return Forest(used, [thresholds[f] for f in used], groups, by_hash, bounds,
                  [float(m["baseline"]) for m in models])  # fmt: skip


def _codes(forest: Forest, x: np.ndarray) -> list[np.ndarray]:
    """Every group's table row for every row of `x`."""
    bins = np.empty((len(forest.features), x.shape[0]), dtype=np.int64)
    for p, (f, ts) in enumerate(zip(forest.features, forest.thresholds, strict=True)):
        col = x[:, f]
        bins[p] = np.searchsorted(ts, col, side="left")
        bins[p][np.isnan(col)] = ts.size + 1
    return [strides @ bins for strides, _ in forest.groups]


def predict_all(forest: Forest, x: np.ndarray) -> list[np.ndarray]:
    """Every ensemble's prediction for every row of `x` (as scikit-learn's, bit for bit)."""
    n, trees = x.shape[0], forest.values.shape[0]
    leaf_values = np.empty((trees, n))
    if trees:
        codes = _codes(forest, np.asarray(x, dtype=float))
        tables = [table for _, table in forest.groups]
        flat = forest.values.ravel()
        offset = (np.arange(trees, dtype=np.uint32) * np.uint32(MAX_LEAVES))[:, None]
        step = max(1, CHUNK_CELLS // trees)
        for s in range(0, n, step):
            e = min(n, s + step)
            alive = np.full((trees, e - s), _FULL, dtype=np.uint32)
            for table, code in zip(tables, codes, strict=True):
                np.bitwise_and(alive, np.take(table, code[s:e], axis=1), out=alive)
            bit = np.negative(alive)  # two's complement: the lowest set bit alone survives &
            np.bitwise_and(bit, alive, out=bit)
            np.multiply(bit, _HASH, out=bit)  # de Bruijn: a distinct top 5 bits per bit
            np.right_shift(bit, np.uint32(27), out=bit)
            bit += offset
            leaf_values[:, s:e] = flat[bit]
    out = []  # axis 0 is summed tree after tree, as scikit-learn's `out += tree` does
    for (first, end), base in zip(forest.bounds, forest.baselines, strict=True):
        summed = leaf_values[first:end].sum(axis=0) if end > first else np.zeros(n)
        out.append(base + summed)
    return out


__all__ = ["Forest", "build", "predict_all"]
