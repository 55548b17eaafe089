"""Frames -> specs -> sketches -> a DriftReport with the exact engine's shape and verdicts.

The scheduler derives the specs once from the reference, stores one sketch per feature and
time bucket, merges the buckets of a window and calls `compare_sketches`. Method choice,
thresholds and the verdict go through the exact engine's own functions, so a feature gets
the same method and decision rule whichever path computed its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from monitor.drift import engine
from monitor.drift.frames import infer_kind
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import decide, get_method
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import (
    FINE_BINS,
    TOP_K,
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
APPROXIMATE = frozenset({"ks", "wasserstein_normed"})


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
    kind = spec.kind
    if isinstance(spec, NumericSpec) and spec.coarse_bins != options.bins:
        raise DriftError(
            f"feature {name!r}: spec bins ({spec.coarse_bins}) differ from options ({options.bins})"
        )
    quality: dict = {"approximate_from_sketch": sorted(APPROXIMATE)} if kind == "numeric" else {}
    n_categories = int(((ref.counts + cur.counts) > 0).sum()) if kind == "categorical" else 0
    method = engine.choose_method(kind, fo, options, ref.count, cur.count, n_categories)
    threshold = engine.choose_threshold(method, fo, options)
    stats: dict = {}
    if ref.count and cur.count:
        stats = _stats(spec, ref, cur, _wanted(kind, options, fo), method)
        pooled = stats.pop("approximate", None)  # categorical: "other" pools categories
        if pooled is not None:
            quality["approximate_from_sketch"] = pooled["methods"]
            quality["approximate_reason"] = pooled["reason"]
    else:
        quality["error"] = engine.empty_side(ref.count, cur.count)
    statistic, p_value = engine.pick_statistic(stats, method, quality)
    drifted = decide(method, statistic, p_value, threshold)
    if method in APPROXIMATE and stats:
        other = _other_end(stats, method)
        quality["sketch_undecided"] = decide(method, *other, threshold) != drifted
    upper = (stats.get(method) or {}).get("p_value_upper") if method == "chisquare" else None
    if upper is not None:  # pooled new categories: could the exact p-value flip the verdict?
        quality["sketch_undecided"] = decide(method, statistic, upper, threshold) != drifted
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


# KS bounds come cheap from sketches, so the sketch path keeps them for every numeric
# feature (the exact engine computes KS only when it decides the verdict or is asked for).
SKETCH_ALSO: dict[str, frozenset[str]] = {"numeric": frozenset({"ks"})}


def _wanted(kind: str, options: DriftOptions, fo: FeatureOptions) -> frozenset[str]:
    chosen = {m for m in (fo.method, options.method) if m and kind in get_method(m).kinds}
    unsupported = {"anderson", "cramer_von_mises"} & chosen
    if unsupported:
        raise DriftError(f"{', '.join(sorted(unsupported))} cannot be computed from sketches")
    return engine.ALWAYS[kind] | SKETCH_ALSO.get(kind, frozenset()) | chosen


def _stats(spec: Spec, ref: Sketch, cur: Sketch, wanted: frozenset[str], method: str) -> dict:
    if isinstance(spec, NumericSpec):
        return numeric_sketch_stats(spec, ref, cur, wanted, ks_p_values=method == "ks")
    return categorical_sketch_stats(spec, ref, cur, wanted)


def _other_end(stats: dict, method: str) -> tuple[float, float | None]:
    """(statistic, p_value) at the alarming end of the interval of an approximate method."""
    if method == "ks":
        return stats["ks"]["statistic_upper"], stats["ks"]["p_value_lower"]
    return stats["wasserstein_normed_upper"], None


def _rows(s: Sketch) -> int:
    extra = s.infinite if isinstance(s, NumericSketch) else 0
    return s.count + s.missing + extra


def _missing_share(s: Sketch) -> float:
    rows = _rows(s)
    extra = s.infinite if isinstance(s, NumericSketch) else 0
    return (s.missing + extra) / rows if rows else math.nan
