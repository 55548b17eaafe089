"""Sketch many groups of one batch at once (ingestion's per-time-bucket sketch deltas).

`sketch(spec, values)` per group costs a pandas round trip per group and feature; a consumer
batch can span hundreds of time buckets (out-of-order or replayed events), so the per-group
cost dominated ingestion. Here each feature is binned once for the whole batch and the
per-group counts come from one `np.bincount` over (group, bin) pairs. Counts, missing and
min/max equal `sketch()` on each group exactly; the moment sums agree up to float rounding
(they are summed in another order), which merging tolerates by design.
"""

from __future__ import annotations

import math
import zlib
from itertools import repeat

import numpy as np
import pandas as pd

from monitor.drift.sketch import (
    _HEADER,
    _MAGIC,
    _MOMENTS,
    _VERSION,
    _ZLIB,
    CategoricalSketch,
    CategoricalSpec,
    NumericSketch,
    NumericSpec,
    Sketch,
    Spec,
    as_float,
    pack_counts,
)
from monitor.drift.sketch_bins import cached_table, search_bins

__all__ = ["coded_blobs", "column_codes", "group_blobs", "pack_small", "sketch_groups"]


def sketch_groups(spec: Spec, values, groups: np.ndarray, n_groups: int) -> list[Sketch]:
    """One sketch per group id in range(n_groups); `groups[i]` is row i's group."""
    groups = np.asarray(groups, dtype=np.intp)
    if isinstance(spec, NumericSpec):
        return _numeric(spec, as_float(values), groups, n_groups)
    return _categorical(spec, values, groups, n_groups)


def _numeric(spec: NumericSpec, x: np.ndarray, g: np.ndarray, n: int) -> list[Sketch]:
    finite = np.isfinite(x)
    nan = np.isnan(x)
    inf = ~finite & ~nan
    gf, xf = g[finite], x[finite]
    bins = search_bins(spec.edges, xf, cached_table(spec.spec_id, spec.edges))
    counts = np.bincount(gf * spec.n_bins + bins, minlength=n * spec.n_bins).reshape(n, -1)
    missing = np.bincount(g[nan], minlength=n)
    infinite = np.bincount(g[inf], minlength=n)
    centered = xf - spec.center
    sums = np.bincount(gf, weights=centered, minlength=n)
    sumsq = np.bincount(gf, weights=centered * centered, minlength=n)
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, gf, xf)
    np.maximum.at(hi, gf, xf)
    return [
        NumericSketch(
            spec.spec_id,
            counts[i].astype(np.int64, copy=True),
            int(missing[i]),
            int(infinite[i]),
            float(sums[i]),
            float(sumsq[i]),
            float(lo[i]),
            float(hi[i]),
        )
        for i in range(n)
    ]


def _categorical(spec: CategoricalSpec, values, g: np.ndarray, n: int) -> list[Sketch]:
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    position = {c: i for i, c in enumerate(spec.categories)}
    other = spec.n_bins - 1
    float_column = series.dtype.kind == "f"
    idx = np.full(len(series), -1, dtype=np.intp)
    for i, v in enumerate(series.tolist()):
        if _missing(v, float_column):
            continue
        idx[i] = position.get(str(v), other)
    present = idx >= 0
    counts = np.bincount(g[present] * spec.n_bins + idx[present], minlength=n * spec.n_bins)
    counts = counts.reshape(n, -1)
    missing = np.bincount(g[~present], minlength=n)
    return [
        CategoricalSketch(spec.spec_id, counts[i].astype(np.int64, copy=True), int(missing[i]))
        for i in range(n)
    ]


def _missing(v: object, float_column: bool) -> bool:
    """As the exact engine: None, NaN, pandas NA/NaT, and ±inf in float columns."""
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    if isinstance(v, float):
        return math.isnan(v) or (float_column and math.isinf(v))
    return False


_PLAIN_NUMBERS = frozenset({int, float, type(None)})
_PLAIN_STRINGS = frozenset({str, type(None)})
_PLAIN_OBJECTS = frozenset({str, int, float, type(None)})
_NONE_ONLY = {type(None)}


def group_blobs(
    spec: Spec, values: list, groups: np.ndarray, n_groups: int, *, object_column: bool = False
) -> list[bytes] | None:
    """`to_bytes(sketch)` of each group's sketch, byte for byte, straight from a list of JSON
    scalars (ingestion's columns: no pandas, no Sketch objects). None when the values are of
    types whose meaning depends on pandas' dtype inference (ints beside None or floats in a
    categorical feature column become "1.0"): the caller then sketches a frame as before.
    `object_column`: the values form an object column (the prediction), no inference."""
    coded = column_codes(spec, values, object_column=object_column)
    if coded is None:
        return None
    return coded_blobs(spec, coded, groups, n_groups)


def column_codes(spec: Spec, values: list, *, object_column: bool = False) -> np.ndarray | None:
    """What `group_blobs` bins, as one array: float64 values (None as NaN) for a numeric
    spec, each value's category index (-1: missing) for a categorical one; None as in
    `group_blobs`. Compact to send to another process (no Python object per value)."""
    types = set(map(type, values))
    if isinstance(spec, NumericSpec):
        if not _PLAIN_NUMBERS.issuperset(types):
            return None
        if types == _NONE_ONLY:  # a reference feature the events lack: no per-value work
            return np.full(len(values), np.nan)
        return np.array(values, dtype=np.float64)  # None -> NaN
    if not (_PLAIN_OBJECTS if object_column else _PLAIN_STRINGS).issuperset(types):
        return None
    return _category_codes(spec, values, _PLAIN_STRINGS.issuperset(types))


def coded_blobs(spec: Spec, coded: np.ndarray, groups: np.ndarray, n_groups: int) -> list[bytes]:
    """`group_blobs` from `column_codes`' array."""
    g = np.asarray(groups, dtype=np.intp)
    if isinstance(spec, NumericSpec):
        return _numeric_blobs(spec, np.asarray(coded, dtype=np.float64), g, n_groups)
    idx = np.asarray(coded, dtype=np.intp)
    present = idx >= 0
    counts = np.bincount(g[present] * spec.n_bins + idx[present], minlength=n_groups * spec.n_bins)
    missing = np.bincount(g[~present], minlength=n_groups)
    return _blobs(spec.spec_id, 1, counts.reshape(n_groups, -1), missing, None)


def _category_codes(spec: CategoricalSpec, values: list, strings: bool) -> np.ndarray:
    """Each value's bin (-1: missing); `strings`: only str and None (looked up in C)."""
    position: dict[object, int] = {c: i for i, c in enumerate(spec.categories)}
    other = spec.n_bins - 1
    if strings:
        position[None] = -1
        return np.fromiter(
            map(position.get, values, repeat(other)), dtype=np.intp, count=len(values)
        )
    get = position.get
    return np.fromiter(
        (-1 if v is None else get(v if type(v) is str else str(v), other) for v in values),
        dtype=np.intp,
        count=len(values),
    )


def _numeric_blobs(spec: NumericSpec, x: np.ndarray, g: np.ndarray, n: int) -> list[bytes]:
    """As `_numeric` (same sums in the same order), serialised without Sketch objects."""
    finite = np.isfinite(x)
    nan = np.isnan(x)
    gf, xf = g[finite], x[finite]
    bins = search_bins(spec.edges, xf, cached_table(spec.spec_id, spec.edges))
    counts = np.bincount(gf * spec.n_bins + bins, minlength=n * spec.n_bins).reshape(n, -1)
    missing = np.bincount(g[nan], minlength=n)
    infinite = np.bincount(g[~finite & ~nan], minlength=n)
    centered = xf - spec.center
    sums = np.bincount(gf, weights=centered, minlength=n)
    sumsq = np.bincount(gf, weights=centered * centered, minlength=n)
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, gf, xf)
    np.maximum.at(hi, gf, xf)
    moments = [
        _MOMENTS.pack(*m)
        for m in zip(
            infinite.tolist(), sums.tolist(), sumsq.tolist(), lo.tolist(), hi.tolist(), strict=True
        )
    ]
    return _blobs(spec.spec_id, 0, counts, missing, moments)


SMALL_PAYLOAD = 2000  # bytes: fewer deflate symbols than both memory levels' block limit
_SMALL_MEM_LEVEL = 5


def pack_small(payload: bytes) -> bytes:
    """`pack_counts(payload)`, byte for byte, at a smaller zlib memory level for payloads
    of at most SMALL_PAYLOAD bytes (a delta row's: <= 1,005 bins of 1- or 2-byte counts).

    Why: each row is its own zlib stream, and setting one up at memory level 8 clears a
    128 KB hash table that run-length matching (`Z_RLE`) never reads. The memory level only
    sizes that table and the symbol buffer (a block ends when the buffer fills: 2,047
    symbols at level 5, 16,383 at 8); a payload of n bytes makes at most n symbols, so up
    to SMALL_PAYLOAD bytes both levels emit one block of the same symbols: the same bytes
    (pinned by tests/drift/test_sketch_bins.py). Larger payloads use `pack_counts`."""
    if len(payload) > SMALL_PAYLOAD or not _SMALL_SAME:
        return pack_counts(payload)
    return _pack_small(payload)


def _pack_small(payload: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 15, _SMALL_MEM_LEVEL, zlib.Z_RLE)
    return packer.compress(payload) + packer.flush()


def _probe_payloads() -> list[bytes]:
    """Payloads like a delta row's: sparse counts, runs, a full-size row, noise."""
    sparse = bytes((i * 7919) % 5 // 4 for i in range(SMALL_PAYLOAD))
    noise = bytes((i * 2654435761 >> 7) & 255 for i in range(SMALL_PAYLOAD))
    return [b"", bytes(1005), sparse[:1005], sparse, noise[:700], noise]


# The reasoning above is about zlib's own deflate; another implementation linked in (say
# zlib-ng) may split or match differently: then every payload goes through `pack_counts`.
_SMALL_SAME = all(_pack_small(p) == pack_counts(p) for p in _probe_payloads())


def _blobs(
    spec_id: bytes, kind: int, counts: np.ndarray, missing: np.ndarray, moments: list | None
) -> list[bytes]:
    """`to_bytes` of every row of a counts matrix: narrowest width per row, zlib when smaller."""
    n, bins = counts.shape
    top = counts.max(axis=1) if bins else np.zeros(n, dtype=np.int64)
    width = np.select([top < 1 << 8, top < 1 << 16, top < 1 << 32], [1, 2, 4], 8)
    payloads: list[bytes] = [b""] * n
    for w in np.unique(width).tolist():
        rows = np.flatnonzero(width == w)
        buf = counts[rows].astype(f"<u{w}").tobytes()
        size = bins * w
        for j, r in enumerate(rows.tolist()):
            payloads[r] = buf[j * size : (j + 1) * size]
    out: list[bytes] = []
    empty: bytes | None = None  # the packing of an all-zero row (a column the events lack)
    for i, (payload, w, miss, zero) in enumerate(
        zip(payloads, width.tolist(), missing.tolist(), (top == 0).tolist(), strict=True)
    ):
        flags = 0
        if zero:
            empty = packed = pack_small(payload) if empty is None else empty
        else:
            packed = pack_small(payload)
        if len(packed) < len(payload):
            payload, flags = packed, _ZLIB
        head = _HEADER.pack(_MAGIC, _VERSION, kind, w, flags, spec_id, miss, bins)
        out.append(head + moments[i] + payload if moments is not None else head + payload)
    return out
