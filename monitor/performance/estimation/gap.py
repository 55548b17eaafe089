"""The estimate's error once the labels arrive: realised − estimate per window, and whether
the band covered the realised value; the `estimation_gap` rule's arithmetic.

Pure: stored window-estimate documents (`WindowEstimate.to_dict()`, with `realised` filled in
once labels arrived and `labelled` = the rows with a label among those estimated) in, numbers
out. `gap = realised − estimate` (signed: negative when the model did worse than estimated
for a higher-is-better metric).

The stored band is for all `rows` of the window. When only m < n of them are labelled, the
realised value is computed on m rows and carries more label noise than the band allows for:
the band's label part (σ² − reference_error²) is widened by n/m (to first order the label
part of the variance scales as 1/rows), the reference part is kept, and the realised value is
judged against estimate ± z·σ' (z as stored, 3 by default) clipped like the stored band.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.performance.estimation.result import DEFAULT_Z

DEFAULT_WINDOWS = 5  # N: the last N evaluable windows are judged
DEFAULT_OUTSIDE = 3  # M: fire when the realised value is outside the band on >= M of them
DEFAULT_MIN_LABELLED = 50  # a window counts once this many of its rows carry a label


def _num(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(float(value)) else None


@dataclass(frozen=True)
class MetricGap:
    """One window's estimate of one metric beside its realised value."""

    metric: str
    estimate: float
    realised: float
    lower: float | None  # the band the realised value is judged against
    upper: float | None
    rows: int  # rows estimated
    labelled: int | None  # rows with a label among them (None: not recorded: all)
    window_start: Any = None  # as the document gives them (the scheduler adds them)
    window_end: Any = None

    @property
    def gap(self) -> float:
        return self.realised - self.estimate

    @property
    def covered(self) -> bool | None:
        """Did the band hold the realised value? None: the estimate has no band."""
        if self.lower is None or self.upper is None:
            return None
        return self.lower <= self.realised <= self.upper

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start,
            "window_end": self.window_end,
            "metric": self.metric,
            "estimate": self.estimate,
            "realised": self.realised,
            "gap": self.gap,
            "abs_gap": abs(self.gap),
            "lower": self.lower,
            "upper": self.upper,
            "covered": self.covered,
            "rows": self.rows,
            "labelled": self.labelled,
        }


def _band(entry: Mapping[str, Any], task: Any, rows: int, labelled: int | None) -> tuple:
    """The band for the labelled rows (module doc): the stored one when all rows are labelled."""
    lower, upper = _num(entry.get("lower")), _num(entry.get("upper"))
    if labelled is None or labelled >= rows or labelled <= 0:
        return lower, upper
    value, sd = _num(entry.get("value")), _num(entry.get("sampling_error"))
    if value is None or sd is None:
        return lower, upper
    ref = _num(entry.get("reference_error")) or 0.0
    label_var = max(sd * sd - ref * ref, 0.0)
    wide = math.sqrt(ref * ref + label_var * rows / labelled)
    z = DEFAULT_Z
    if lower is not None and upper is not None and sd > 0 and upper - lower > 0:
        z = max((upper - value) / sd, (value - lower) / sd)  # the stored z (one end may clip)
    lo = max(0.0, value - z * wide)
    hi = value + z * wide
    if task == "classification":
        hi = min(1.0, hi)
    return lo, hi


def metric_gap(doc: Mapping[str, Any] | None, metric: str) -> MetricGap | None:
    """The gap of `metric` in one stored window estimate; None while it is not evaluable
    (no realised value yet, or an undefined estimate)."""
    doc = doc or {}
    entry = (doc.get("metrics") or {}).get(metric)
    if not isinstance(entry, Mapping):
        return None
    value, realised = _num(entry.get("value")), _num(entry.get("realised"))
    if value is None or realised is None:
        return None
    rows = int(_num(doc.get("rows")) or 0)
    lab = _num(doc.get("labelled"))
    labelled = None if lab is None else int(lab)
    lower, upper = _band(entry, doc.get("task"), rows, labelled)
    return MetricGap(
        metric, value, realised, lower, upper, rows, labelled,
        doc.get("window_start"), doc.get("window_end"),
    )  # fmt: skip


@dataclass(frozen=True)
class GapVerdict:
    """The `estimation_gap` decision over the last `windows` evaluable windows."""

    metric: str
    gaps: tuple[MetricGap, ...]  # oldest first, the judged windows
    outside: int  # windows whose realised value fell outside the band
    needed: int  # M
    windows: int  # N

    @property
    def fires(self) -> bool:
        return self.outside >= self.needed

    @property
    def mean_abs_gap(self) -> float:
        return sum(abs(g.gap) for g in self.gaps) / len(self.gaps)


def gap_verdict(
    docs: Sequence[Mapping[str, Any]],
    metric: str,
    *,
    windows: int = DEFAULT_WINDOWS,
    outside: int = DEFAULT_OUTSIDE,
    min_labelled: int = DEFAULT_MIN_LABELLED,
) -> GapVerdict | None:
    """Judge the newest `windows` evaluable windows of `docs` (oldest first): evaluable = a
    defined estimate with a band, a realised value, and at least `min_labelled` labelled rows
    (or no count recorded). None: fewer than `windows` evaluable windows (no verdict yet)."""
    found: list[MetricGap] = []
    for doc in docs:
        g = metric_gap(doc, metric)
        if g is None or g.covered is None:
            continue
        if g.labelled is not None and g.labelled < min_labelled:
            continue
        found.append(g)
    if len(found) < windows:
        return None
    judged = tuple(found[-windows:])
    missed = sum(1 for g in judged if g.covered is False)
    return GapVerdict(metric, judged, missed, outside, windows)


__all__ = [
    "DEFAULT_MIN_LABELLED",
    "DEFAULT_OUTSIDE",
    "DEFAULT_WINDOWS",
    "GapVerdict",
    "MetricGap",
    "gap_verdict",
    "metric_gap",
]
