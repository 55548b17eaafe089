"""Numeric binning by table lookup, equal bin for bin to `np.searchsorted(edges, x, "left")`.

Ingestion bins ~16 numeric columns of every batch into ~900 edges each; a binary search per
value was the delta worker's largest numeric cost. A uniform grid of `GRID_PER_EDGE` cells
per edge over [first edge, last edge] stores each cell's first bin; a value's candidate bin
is its cell's entry, stepped once to the right when the next edge is still below it, and is
kept only when the two edges around it confirm it (`edges[b-1] < x <= edges[b]`, which
holds for exactly one b: the number of edges below x). Refused values (cells holding
several edges) are searched as before, so the table only decides speed, never a bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_PER_EDGE = 4  # grid cells per edge
MIN_VALUES = 64  # below this many values the table does not pay for its passes
_CACHE_SIZE = 256  # tables kept (one per numeric spec in use; a few MB at most)


@dataclass(frozen=True)
class BinTable:
    """The grid of one edge array: `first[c]` is the first bin of cell c."""

    lo: float
    scale: float  # cells per unit
    first: np.ndarray  # intp, one entry per cell
    bounds: np.ndarray  # [-inf, *edges, +inf]: bin b holds bounds[b] < x <= bounds[b + 1]


_TABLES: dict[bytes, BinTable | None] = {}


def bin_table(edges: np.ndarray) -> BinTable | None:
    """The table of sorted finite `edges`; None when it cannot help (fewer than 2 distinct
    edges, non-finite or unsorted edges, a span too small or large for the grid)."""
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) < 2 or not np.isfinite(edges).all() or (np.diff(edges) < 0).any():
        return None
    lo, hi = float(edges[0]), float(edges[-1])
    cells = GRID_PER_EDGE * len(edges)
    with np.errstate(over="ignore", divide="ignore"):
        scale = cells / (hi - lo) if hi > lo else float("inf")
    if not np.isfinite(scale) or not np.isfinite(hi - lo):
        return None
    starts = lo + np.arange(cells) / scale
    first = np.searchsorted(edges, starts, "left").astype(np.intp)
    bounds = np.concatenate(([-np.inf], edges, [np.inf]))
    return BinTable(lo, scale, first, bounds)


def cached_table(key: bytes, edges: np.ndarray) -> BinTable | None:
    """`bin_table(edges)` kept under `key` (a spec's id: its edges' content)."""
    try:
        return _TABLES[key]
    except KeyError:
        pass
    if len(_TABLES) >= _CACHE_SIZE:
        _TABLES.clear()
    table = _TABLES[key] = bin_table(edges)
    return table


def search_bins(edges: np.ndarray, x: np.ndarray, table: BinTable | None) -> np.ndarray:
    """`np.searchsorted(edges, x, "left")` for finite float64 `x`, by `table` when given."""
    if table is None or len(x) < MIN_VALUES:
        return np.searchsorted(edges, x, "left")
    bounds, last = table.bounds, len(table.first) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        cell = (x - table.lo) * table.scale  # +-inf for far values: clipped
    np.clip(cell, 0, last, out=cell)
    b = table.first[cell.astype(np.intp)]
    b += x > bounds[b + 1]  # one step right: the cell's next edge is below x
    refused = np.flatnonzero((bounds[b] >= x) | (x > bounds[b + 1]))
    if len(refused):
        b[refused] = np.searchsorted(edges, x[refused], "left")
    return b


__all__ = ["BinTable", "bin_table", "cached_table", "search_bins"]
