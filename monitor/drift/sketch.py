"""Mergeable per-feature sketches: windows of any size from small stored counts.

A *spec* is derived once from the reference and shared by every window: for a numeric
feature the fine bin edges, for a categorical one the top-K categories. A *sketch* is the
counts of one batch (or time bucket) over that spec. Merging adds counts, so
merge(sketch(a), sketch(b)) == sketch(a + b): counts, missing, min and max exactly, the
two moment sums up to float rounding (they are sums of x - center, the reference mean, so
they stay small and well conditioned).

Numeric grid: bins are right-closed like `binning.bin_counts`. The fine edges are the union
of the reference's `fine_bins` quantiles, its `coarse_bins` quantiles (the exact engine's
deciles), the float just below its minimum and its maximum, and tail quantiles 10^-k, 1 - 10^-k
(k >= 4) that keep the widest outer bins narrow. So the fine grid refines the
engine's grid (coarsened counts are exactly the engine's counts: PSI etc. are identical),
bin 0 counts values below the reference minimum and the last bin values above its maximum.
Categorical: counts per top-K reference category plus one "other" bucket (last).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal, cast

import numpy as np
import pandas as pd

from monitor.drift.binning import quantile_edges
from monitor.errors import DriftError

__all__ = [
    "CategoricalSketch",
    "CategoricalSpec",
    "NumericSketch",
    "NumericSpec",
    "Sketch",
    "Spec",
    "categorical_spec",
    "fit_numeric",
    "from_bytes",
    "merge",
    "merge_all",
    "numeric_spec",
    "pack_counts",
    "sketch",
    "spec_from_dict",
    "to_bytes",
]

FINE_BINS = 1000
TOP_K = 100
_MAGIC = b"DWSK"
_VERSION = 1
# Byte format v1, little-endian: magic, version, kind (0 numeric, 1 categorical), count
# width in bytes, flags (1 = zlib), spec id, missing, number of bins; then for numerics
# infinite count, sum, sum of squares, min, max; then the counts (zlib-packed if flagged).
_HEADER = struct.Struct("<4sBBBB8sQI")
_MOMENTS = struct.Struct("<Q4d")
_KIND_CODE = {"numeric": 0, "categorical": 1}
_ZLIB = 1


def _fingerprint(payload: dict) -> bytes:
    return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode(), digest_size=8).digest()


@dataclass(frozen=True, eq=False)
class NumericSpec:
    """Fine right-closed interior edges; `coarse_starts` maps them onto the engine's bins."""

    edges: np.ndarray
    coarse_edges: np.ndarray
    coarse_bins: int  # the engine's `bins` option the coarse edges were derived with
    center: float
    reference_min: float
    reference_max: float

    kind: ClassVar[Literal["numeric"]] = "numeric"

    @cached_property
    def coarse_starts(self) -> np.ndarray:
        """First fine bin of each coarse bin (for np.add.reduceat)."""
        pos = np.searchsorted(self.edges, self.coarse_edges)
        return np.concatenate(([0], pos + 1)).astype(np.intp)

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def to_dict(self) -> dict:
        """JSON-ready; floats round-trip exactly through Python's repr."""
        return {
            "kind": self.kind,
            "edges": self.edges.tolist(),
            "coarse_edges": self.coarse_edges.tolist(),
            "coarse_bins": self.coarse_bins,
            "center": self.center,
            "reference_min": self.reference_min,
            "reference_max": self.reference_max,
        }

    @cached_property
    def spec_id(self) -> bytes:
        """8 bytes naming this spec's content; sketches carry it so specs never mix."""
        return _fingerprint(self.to_dict())


@dataclass(frozen=True, eq=False)
class CategoricalSpec:
    """Top-K reference categories (as strings); counts get one extra "other" bucket."""

    categories: tuple[str, ...]

    kind: ClassVar[Literal["categorical"]] = "categorical"

    @property
    def n_bins(self) -> int:
        return len(self.categories) + 1

    def to_dict(self) -> dict:
        return {"kind": self.kind, "categories": list(self.categories)}

    @cached_property
    def spec_id(self) -> bytes:
        return _fingerprint(self.to_dict())


Spec = NumericSpec | CategoricalSpec


@dataclass(frozen=True, eq=False)
class NumericSketch:
    """Counts of finite values over a NumericSpec's fine bins, plus moments.

    Like the exact engine, NaN and ±inf are not values: `missing` counts NaN/None,
    `infinite` counts ±inf (the engine's missing share is their sum over all rows).
    """

    spec_id: bytes
    counts: np.ndarray  # int64, spec.n_bins
    missing: int
    infinite: int
    sum: float  # of (x - center) over finite x
    sumsq: float  # of (x - center)**2 over finite x
    min: float  # of finite values; +inf when there are none
    max: float  # of finite values; -inf when there are none

    @property
    def count(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True, eq=False)
class CategoricalSketch:
    """Counts per spec category, then "other"; `count` excludes missing values."""

    spec_id: bytes
    counts: np.ndarray
    missing: int

    @property
    def count(self) -> int:
        return int(self.counts.sum())


Sketch = NumericSketch | CategoricalSketch


def numeric_spec(reference, fine_bins: int = FINE_BINS, coarse_bins: int = 10) -> NumericSpec:
    """Derive the fine grid from the reference's finite values (see module docstring)."""
    return fit_numeric(reference, fine_bins, coarse_bins)[0]


def fit_numeric(
    reference, fine_bins: int = FINE_BINS, coarse_bins: int = 10
) -> tuple[NumericSpec, NumericSketch]:
    """The spec and the reference's own sketch in one pass (the reference is sorted once)."""
    raw = as_float(reference)
    values = np.sort(_finite_values(raw))
    if values.size == 0:
        raise DriftError("cannot derive a numeric sketch spec from a reference with no values")
    coarse = quantile_edges(values, coarse_bins)
    lo, hi = float(values[0]), float(values[-1])
    bounds = np.array([np.nextafter(lo, -np.inf), hi])
    edges = np.concatenate((coarse, quantile_edges(values, fine_bins), _tails(values), bounds))
    spec = NumericSpec(np.unique(edges), coarse, coarse_bins, float(np.mean(values)), lo, hi)
    return spec, _numeric_sketch(spec, raw, sorted_finite=values)


def _tails(sorted_values: np.ndarray) -> np.ndarray:
    """Quantiles 10^-k and 1 - 10^-k (k >= 4, while the reference resolves them).

    The outer fine bins are the widest (a lognormal's top 0.1% spans most of its range);
    splitting them keeps the Wasserstein bound tight at little cost (2 edges per decade).
    """
    n = sorted_values.size
    qs = [10.0**-k for k in range(4, 16) if 10.0**-k * n >= 1]
    if not qs:
        return np.empty(0)
    return np.quantile(sorted_values, np.concatenate((qs, [1.0 - q for q in qs])))


def categorical_spec(reference, top_k: int = TOP_K) -> CategoricalSpec:
    """The reference's `top_k` most frequent categories (ties broken by name)."""
    if top_k < 1:
        raise DriftError(f"top_k must be at least 1, got {top_k}")
    names, counts = category_counts(reference)
    if not names:
        raise DriftError("cannot derive a categorical sketch spec from a reference with no values")
    ranked = sorted(zip(names, counts, strict=True), key=lambda nc: (-nc[1], nc[0]))
    return CategoricalSpec(tuple(name for name, _ in ranked[:top_k]))


def spec_from_dict(data: dict) -> Spec:
    """Inverse of `spec.to_dict()`; DriftError on anything else."""
    try:
        if data["kind"] == "numeric":
            return NumericSpec(
                np.asarray(data["edges"], dtype=np.float64),
                np.asarray(data["coarse_edges"], dtype=np.float64),
                int(data["coarse_bins"]),
                float(data["center"]),
                float(data["reference_min"]),
                float(data["reference_max"]),
            )
        if data["kind"] == "categorical":
            return CategoricalSpec(tuple(str(c) for c in data["categories"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DriftError(f"invalid sketch spec: {exc}") from exc
    raise DriftError(f"invalid sketch spec kind: {data.get('kind')!r}")


def sketch(spec: Spec, values) -> Sketch:
    """Sketch one batch of values (array-like; NaN/None are missing) over `spec`."""
    if isinstance(spec, NumericSpec):
        return _numeric_sketch(spec, as_float(values))
    return _categorical_sketch(spec, values)


def _numeric_sketch(
    spec: NumericSpec, values: np.ndarray, sorted_finite: np.ndarray | None = None
) -> NumericSketch:
    finite = _finite_values(values) if sorted_finite is None else sorted_finite
    n_nan = int(np.count_nonzero(np.isnan(values))) if finite.size < values.size else 0
    if sorted_finite is None:
        counts = np.bincount(np.searchsorted(spec.edges, finite, "left"), minlength=spec.n_bins)
    else:  # right-closed bins: values <= edge, found by bisecting the sorted values instead
        upto = np.searchsorted(finite, spec.edges, side="right")
        counts = np.diff(np.concatenate(([0], upto, [finite.size])))
    centered = finite - spec.center
    return NumericSketch(
        spec.spec_id,
        counts.astype(np.int64, copy=False),
        n_nan,
        values.size - finite.size - n_nan,
        float(centered.sum()),
        float(np.dot(centered, centered)),
        float(finite.min()) if finite.size else np.inf,
        float(finite.max()) if finite.size else -np.inf,
    )


def _categorical_sketch(spec: CategoricalSpec, values) -> CategoricalSketch:
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    names, counts = category_counts(series)
    position = {c: i for i, c in enumerate(spec.categories)}
    out = np.zeros(spec.n_bins, dtype=np.int64)
    for name, count in zip(names, counts, strict=True):
        out[position.get(name, spec.n_bins - 1)] += count
    return CategoricalSketch(spec.spec_id, out, len(series) - int(sum(counts)))


def merge(a: Sketch, b: Sketch) -> Sketch:
    """The sketch of both batches together."""
    return merge_all((a, b))


def merge_all(sketches: Iterable[Sketch]) -> Sketch:
    """Merge any number of sketches of one spec (one vectorised sum)."""
    items = list(sketches)
    if not items:
        raise DriftError("cannot merge an empty list of sketches")
    first = items[0]
    for s in items[1:]:
        if type(s) is not type(first) or s.spec_id != first.spec_id:
            raise DriftError("cannot merge sketches built over different specs")
        if len(s.counts) != len(first.counts):
            raise DriftError("cannot merge sketches with different bin counts")
    counts = np.asarray(np.sum([s.counts for s in items], axis=0, dtype=np.int64))
    missing = sum(s.missing for s in items)
    if isinstance(first, CategoricalSketch):
        return CategoricalSketch(first.spec_id, counts, missing)
    numeric = cast("list[NumericSketch]", items)  # all of the first's type (checked above)
    return NumericSketch(
        first.spec_id,
        counts,
        missing,
        sum(s.infinite for s in numeric),
        float(np.sum([s.sum for s in numeric])),
        float(np.sum([s.sumsq for s in numeric])),
        float(min(s.min for s in numeric)),
        float(max(s.max for s in numeric)),
    )


def pack_counts(payload: bytes) -> bytes:
    """The zlib stream of a counts payload, with run-length matches only (`Z_RLE`).

    Why not zlib's default strategy: counts are runs of zeros and small numbers, which
    the default's hash-chain search (level 6) walks for ~55 us per 1,000-bin delta of
    ingestion; run-length matching packs them as small (134 vs 134 bytes on average over a
    batch's deltas) in a third of the time (bench/RESULTS.md). Any zlib stream decodes
    (`from_bytes`), so blobs written with the default strategy still read."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    return packer.compress(payload) + packer.flush()


def to_bytes(s: Sketch, compress: bool = True) -> bytes:
    """Little-endian header, moments (numeric), counts in the narrowest unsigned width.

    Counts are zlib-compressed (`pack_counts`) when that is smaller (sparse minute buckets
    shrink a lot).
    """
    top = int(s.counts.max()) if s.counts.size else 0
    width = next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w))
    payload = s.counts.astype(f"<u{width}").tobytes()
    flags = 0
    if compress:
        packed = pack_counts(payload)
        if len(packed) < len(payload):
            payload, flags = packed, _ZLIB
    kind = _KIND_CODE["numeric" if isinstance(s, NumericSketch) else "categorical"]
    header = _HEADER.pack(_MAGIC, _VERSION, kind, width, flags, s.spec_id, s.missing, len(s.counts))
    if isinstance(s, NumericSketch):
        header += _MOMENTS.pack(s.infinite, s.sum, s.sumsq, s.min, s.max)
    return header + payload


def from_bytes(data: bytes) -> Sketch:
    """Inverse of `to_bytes`; DriftError on a foreign or truncated blob."""
    try:
        magic, version, kind, width, flags, spec_id, missing, bins = _HEADER.unpack_from(data)
    except struct.error as exc:
        raise DriftError(f"not a sketch: {exc}") from exc
    if magic != _MAGIC or version != _VERSION or width not in (1, 2, 4, 8):
        raise DriftError(f"not a sketch of version {_VERSION} (magic {magic!r}, v{version})")
    offset = _HEADER.size
    moments = None
    if kind == _KIND_CODE["numeric"]:
        moments = _MOMENTS.unpack_from(data, offset)
        offset += _MOMENTS.size
    payload = data[offset:]
    try:
        if flags & _ZLIB:
            payload = zlib.decompress(payload)
        counts = np.frombuffer(payload, dtype=f"<u{width}").astype(np.int64)
    except (zlib.error, ValueError) as exc:
        raise DriftError(f"corrupt sketch payload: {exc}") from exc
    if counts.size != bins:
        raise DriftError(f"corrupt sketch: expected {bins} counts, found {counts.size}")
    if moments is None:
        return CategoricalSketch(spec_id, counts, missing)
    return NumericSketch(spec_id, counts, missing, *moments)


def as_float(values) -> np.ndarray:
    """Float64 values with every missing marker (None, NaN, pd.NA) as NaN."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    try:
        if series.dtype == object:
            series = pd.to_numeric(series, errors="raise")
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DriftError(f"a numeric sketch got non-numeric values ({exc})") from None


def _finite_values(values: np.ndarray) -> np.ndarray:
    """The finite values of a float array (the array itself when all are finite)."""
    mask = np.isfinite(values)
    return values if mask.all() else values[mask]


def category_counts(values) -> tuple[list[str], list[int]]:
    """Counts of non-missing values by name (str: the stored, JSON-safe category name).

    Missing as in the exact engine: None, NaN, pandas NA/NaT and, in float columns, ±inf.
    Counted by value first (hashing, fast), then merged by name: 1 and "1" are one category.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if series.dtype.kind == "f":
        series = series.where(np.isfinite(series))
    by_value = series.value_counts(dropna=True, sort=False)
    by_name: dict[str, int] = {}
    for value, count in zip(by_value.index.tolist(), by_value.tolist(), strict=True):
        key = str(value)
        by_name[key] = by_name.get(key, 0) + int(count)
    return list(by_name), list(by_name.values())
