"""A moving baseline's own variability: each baseline window against the rest of it.

A trailing or seasonal baseline is the merge of several past windows (docs/drift.md,
"Baselines"). How far a new window's statistic may stray before it means something is
best judged against how far the baseline's own windows stray from each other: for every
window w of the baseline, the statistic of w against the merge of the other windows
(leave-one-out). Those values are a sample of the statistic under "traffic as it moved
lately", with the between-window variability (autocorrelation, daily mood, batch effects)
that a p-value computed as if rows were independent leaves out. Null calibration (auto
thresholds, sequential statistics) can take quantiles or a mean and spread of them.

Pure: sketches in, numbers out (the scheduler loads the windows' sketches).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.drift.options import DriftOptions
from monitor.drift.result import FeatureResult
from monitor.drift.sketch import CategoricalSketch, NumericSketch, Sketch, Spec, merge_all
from monitor.drift.sketch_report import sketch_feature

__all__ = [
    "FeatureSpread",
    "adjusted",
    "against_own",
    "leave_one_out",
    "leave_out",
    "rest_of",
    "score_statistic",
    "without",
]


@dataclass(frozen=True)
class FeatureSpread:
    """One feature's leave-one-out values, in the order of the windows given.

    `statistics[i]` is the feature's statistic (the method the monitor uses for it) of
    window i against the merge of the others; `p_values[i]` its p-value for a test (NaN for
    distances). NaN where a side has no values.
    """

    feature: str
    method: str
    statistics: np.ndarray
    p_values: np.ndarray

    def summary(self) -> dict[str, float]:
        """Mean, standard deviation and the largest value of the finite statistics."""
        finite = self.statistics[np.isfinite(self.statistics)]
        if not len(finite):
            return {"n": 0, "mean": math.nan, "std": math.nan, "max": math.nan}
        std = float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
        return {
            "n": len(finite),
            "mean": float(finite.mean()),
            "std": std,
            "max": float(finite.max()),
        }


def rest_of(windows: Sequence[Sketch]) -> list[Sketch | None]:
    """For each i, the merge of every window but i (None when there is no other window);
    prefix and suffix merges, so O(n) merges for n windows."""
    n = len(windows)
    prefix: list[Sketch | None] = [None] * (n + 1)
    suffix: list[Sketch | None] = [None] * (n + 1)
    for i, w in enumerate(windows):
        before = prefix[i]
        prefix[i + 1] = w if before is None else merge_all((before, w))
    for i in range(n - 1, -1, -1):
        after = suffix[i + 1]
        suffix[i] = windows[i] if after is None else merge_all((windows[i], after))
    out: list[Sketch | None] = []
    for i in range(n):
        parts = [s for s in (prefix[i], suffix[i + 1]) if s is not None]
        out.append(merge_all(parts) if parts else None)
    return out


def leave_one_out(
    specs: Mapping[str, Spec],
    windows: Sequence[Mapping[str, Sketch]],
    options: DriftOptions | None = None,
) -> dict[str, FeatureSpread]:
    """Per feature: the statistic of each window against the merge of the other windows.

    `windows` are the baseline's windows, each a feature -> sketch mapping over `specs` (the
    reference's specs, as stored bucket sketches are); features the options ignore, or
    missing from a window, are left out. Fewer than two windows give no values.
    """
    options = options or DriftOptions()
    out: dict[str, FeatureSpread] = {}
    if len(windows) < 2:
        return out
    for name, spec in specs.items():
        if name in options.ignore or any(name not in w for w in windows):
            continue
        parts = [w[name] for w in windows]
        stats, ps, method = [], [], ""
        for part, rest in zip(parts, rest_of(parts), strict=True):
            assert rest is not None  # two windows or more
            result = sketch_feature(name, spec, rest, part, options)
            method = result.method
            stats.append(_num(result.statistic))
            ps.append(_num(result.p_value))
        out[name] = FeatureSpread(name, method, np.asarray(stats), np.asarray(ps))
    return out


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def score_statistic(result: FeatureResult) -> float:
    """The value a null scores: a sketch interval's point estimate (`<method>_estimate`)
    when there is one, else the statistic (as `auto_verdict` reads a window)."""
    estimate = result.stats.get(f"{result.method}_estimate")
    if isinstance(estimate, int | float) and not isinstance(estimate, bool):
        return float(estimate)
    return _num(result.statistic)


def without(total: Sketch, part: Sketch, others: Sequence[Sketch]) -> Sketch:
    """`total` (the merge of `part` and `others`) minus `part`: counts and moments by
    subtraction, min/max from `others` (the same as merging `others`, in O(bins) once the
    total exists instead of O(bins x windows))."""
    if isinstance(total, CategoricalSketch):
        return CategoricalSketch(
            total.spec_id, total.counts - part.counts, total.missing - part.missing
        )
    assert isinstance(part, NumericSketch)
    return NumericSketch(
        total.spec_id,
        total.counts - part.counts,
        total.missing - part.missing,
        total.infinite - part.infinite,
        total.sum - part.sum,
        total.sumsq - part.sumsq,
        *_range(others),
    )


def leave_out(
    name: str,
    spec: Spec,
    total: Sketch,
    parts: Sequence[Sketch],
    indices: Sequence[int],
    options: DriftOptions,
) -> dict[int, float]:
    """For each index i: the statistic (`score_statistic`) of `parts[i]` against the rest of
    the baseline (`without(total, parts[i], others)`); the values a cache lacks, one
    comparison each."""
    out: dict[int, float] = {}
    for i in indices:
        others = [p for j, p in enumerate(parts) if j != i]
        if not others:
            continue
        rest = without(total, parts[i], others)
        out[i] = score_statistic(sketch_feature(name, spec, rest, parts[i], options))
    return out


def against_own(
    name: str,
    spec: Spec,
    part: Sketch,
    own: Sequence[Sketch],
    options: DriftOptions,
    rest: Sketch | None = None,
) -> float:
    """The statistic (`score_statistic`) of a baseline window against its *own* baseline
    (the windows it was, or would have been, compared with when it was the live window):
    the same rest size and the same position in time as the live window's comparison.

    Why not the rest of today's baseline (`leave_out`): that rest holds windows on both
    sides of the window in time (interpolation), while the live window only has older ones
    (extrapolation); when consecutive windows share rows, or traffic trends, the live
    statistic is then systematically larger and the null too narrow (bench/RESULTS.md,
    s22-seasonal). `rest`: the merge of `own` when the caller has it (`adjusted`). NaN
    when `own` is empty or a side has no values."""
    if not own:
        return math.nan
    rest = merge_all(own) if rest is None else rest
    return score_statistic(sketch_feature(name, spec, rest, part, options))


def adjusted(
    total: Sketch, minus: Sequence[Sketch], plus: Sequence[Sketch], members: Sequence[Sketch]
) -> Sketch:
    """`total` - `minus` + `plus` (counts and moments; min/max from `members`, the windows
    the result is the merge of): a window's own baseline from the current baseline's merge
    when the two share most windows, in O(bins x changes) instead of O(bins x windows)."""
    result = without(total, merge_all(minus), members) if minus else total
    return _bounded(merge_all([result, *plus]) if plus else result, members)


def _bounded(s: Sketch, members: Sequence[Sketch]) -> Sketch:
    if not isinstance(s, NumericSketch):
        return s
    return NumericSketch(
        s.spec_id, s.counts, s.missing, s.infinite, s.sum, s.sumsq, *_range(members)
    )


def _range(sketches: Sequence[Sketch]) -> tuple[float, float]:
    """(min, max) over the numeric sketches: what their merge's min/max is."""
    numeric = [s for s in sketches if isinstance(s, NumericSketch)]
    low = min((s.min for s in numeric), default=math.inf)
    return low, max((s.max for s in numeric), default=-math.inf)
