"""Frames -> specs -> sketches -> a DriftReport with the exact engine's shape and verdicts.

The scheduler derives the specs once from the reference, stores one sketch per feature and
time bucket, merges the buckets of a window and calls `compare_sketches`. Method choice,
thresholds and the verdict go through the exact engine's own functions, so a feature gets
the same method and decision rule whichever path computed its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import pandas as pd

from monitor.drift import engine
from monitor.drift.frames import infer_kind
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import (
    METHODS,
    Kind,
    approximate,
    decide,
    get_method,
    table,
)
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import (
    FINE_BINS,
    TOP_K,
    CategoricalSketch,
    NumericSketch,
    NumericSpec,
    Sketch,
    Spec,
    categorical_spec,
    fit_numeric,
    sketch,
)
from monitor.drift.sketch_stats import categorical_sketch_stats, numeric_sketch_stats
from monitor.errors import DriftError

__all__ = [
    "APPROXIMATE",
    "build_specs",
    "compare_sketches",
    "fit_reference",
    "sketch_feature",
    "sketch_frame",
]

# From sketches these are intervals; the verdict uses their least alarming end.
APPROXIMATE = approximate(METHODS)


def build_specs(
    reference: pd.DataFrame,
    options: DriftOptions | None = None,
    fine_bins: int = FINE_BINS,
    top_k: int = TOP_K,
) -> dict[str, Spec]:
    """One spec per compared column of the reference (kinds as the exact engine infers them)."""
    return fit_reference(reference, options, fine_bins, top_k)[0]


def fit_reference(
    reference: pd.DataFrame,
    options: DriftOptions | None = None,
    fine_bins: int = FINE_BINS,
    top_k: int = TOP_K,
) -> tuple[dict[str, Spec], dict[str, Sketch]]:
    """Specs and the reference's sketches together (each numeric column is sorted once)."""
    options = options or DriftOptions()
    specs: dict[str, Spec] = {}
    sketches: dict[str, Sketch] = {}
    for name in engine.select_columns(reference, reference, None, options.ignore):
        column = reference[name]
        kind = options.per_feature.get(name, FeatureOptions()).kind
        kind = kind or infer_kind(name, column, column)
        if kind == "numeric":
            specs[name], sketches[name] = fit_numeric(column, fine_bins, options.bins)
        else:
            specs[name] = categorical_spec(column, top_k)
            sketches[name] = sketch(specs[name], column)
    return specs, sketches


def sketch_frame(specs: Mapping[str, Spec], frame: pd.DataFrame) -> dict[str, Sketch]:
    """Sketch every spec'd column of one batch."""
    absent = [name for name in specs if name not in frame.columns]
    if absent:
        raise DriftError(f"batch lacks sketched column(s): {', '.join(map(repr, absent))}")
    out: dict[str, Sketch] = {}
    for name, spec in specs.items():
        try:
            out[name] = sketch(spec, frame[name])
        except DriftError as exc:
            raise DriftError(f"column {name!r}: {exc}") from None
    return out


def compare_sketches(
    specs: Mapping[str, Spec],
    reference: Mapping[str, Sketch],
    current: Mapping[str, Sketch],
    options: DriftOptions | None = None,
) -> DriftReport:
    """The DriftReport of two windows given as sketches (one per feature, same specs)."""
    options = options or DriftOptions()
    names = [n for n in specs if n not in set(options.ignore)]
    absent = [n for n in names if n not in reference or n not in current]
    if absent:
        raise DriftError(f"no sketch for feature(s): {', '.join(map(repr, absent))}")
    features = tuple(sketch_feature(n, specs[n], reference[n], current[n], options) for n in names)
    rows_ref = _rows(reference[names[0]]) if names else 0
    rows_cur = _rows(current[names[0]]) if names else 0
    return engine.summarize(features, rows_ref, rows_cur, options.drift_share)


def sketch_feature(
    name: str, spec: Spec, ref: Sketch, cur: Sketch, options: DriftOptions | None = None
) -> FeatureResult:
    """One feature's statistics and verdict from two sketches (engine's method/threshold rule)."""
    options = options or DriftOptions()
    fo = options.per_feature.get(name, FeatureOptions())
    kind: Kind = spec.kind
    if isinstance(spec, NumericSpec) and spec.coarse_bins != options.bins:
        raise DriftError(
            f"feature {name!r}: spec bins ({spec.coarse_bins}) differ from options ({options.bins})"
        )
    quality: dict[str, Any] = {}
    if kind == "numeric":
        quality["approximate_from_sketch"] = sorted(approximate(options.methods))
    n_categories = int(((ref.counts + cur.counts) > 0).sum()) if kind == "categorical" else 0
    method = engine.choose_method(kind, fo, options, ref.count, cur.count, n_categories)
    threshold = engine.choose_threshold(method, fo, options)
    stats: dict[str, Any] = {}
    if ref.count and cur.count:
        stats = _stats(spec, ref, cur, _wanted(kind, options, fo), method, options)
        pooled = stats.pop("approximate", None)  # categorical: "other" pools categories
        if pooled is not None:
            quality["approximate_from_sketch"] = pooled["methods"]
            quality["approximate_reason"] = pooled["reason"]
    else:
        quality["error"] = engine.empty_side(ref.count, cur.count)
    statistic, p_value = engine.pick_statistic(stats, method, quality)
    m = get_method(method, kind, options.methods)
    drifted = decide(m, statistic, p_value, threshold)
    if m.sketch_end is not None and stats:
        quality["sketch_undecided"] = decide(m, *m.sketch_end(stats), threshold) != drifted
    entry = stats.get(method)
    upper = entry.get("p_value_upper") if isinstance(entry, dict) else None
    if upper is not None:  # pooled new categories: could the exact p-value flip the verdict?
        quality["sketch_undecided"] = decide(m, statistic, upper, threshold) != drifted
    return FeatureResult(
        name=name,
        kind=kind,
        method=method,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted,
        missing_share_reference=_missing_share(ref),
        missing_share_current=_missing_share(cur),
        stats=stats,
        quality=quality,
    )


def _wanted(kind: Kind, options: DriftOptions, fo: FeatureOptions) -> frozenset[str]:
    """The engine's methods for the feature, plus every interval the sketches give (cheap
    from sketches, e.g. the KS bounds, which the exact engine computes only on demand)."""
    methods = options.methods
    chosen = {
        n for n in (fo.method, options.method) if n and kind in get_method(n, None, methods).kinds
    }
    unsupported = sorted(n for n in chosen if not methods[n].from_sketches(kind))
    if unsupported:
        raise DriftError(f"{', '.join(unsupported)} cannot be computed from sketches")
    return table(methods).from_sketches_always[kind] | chosen


def _stats(
    spec: Spec, ref: Sketch, cur: Sketch, wanted: frozenset[str], method: str, options: DriftOptions
) -> dict[str, Any]:
    # a sketch is of its spec's kind (`_check` compares their spec ids)
    if isinstance(spec, NumericSpec):
        num_ref, num_cur = cast(NumericSketch, ref), cast(NumericSketch, cur)
        return numeric_sketch_stats(spec, num_ref, num_cur, wanted, {method}, options.methods)
    cat_ref, cat_cur = cast(CategoricalSketch, ref), cast(CategoricalSketch, cur)
    return categorical_sketch_stats(spec, cat_ref, cat_cur, wanted, methods=options.methods)


def _rows(s: Sketch) -> int:
    extra = s.infinite if isinstance(s, NumericSketch) else 0
    return s.count + s.missing + extra


def _missing_share(s: Sketch) -> float:
    rows = _rows(s)
    extra = s.infinite if isinstance(s, NumericSketch) else 0
    return (s.missing + extra) / rows if rows else math.nan
