"""Real new-category counts and names for a scheduled run's categorical features.

Sketches know only the share of values outside the reference's categories (one "other"
bucket); the count and names come from the stored events (`storage.categories`) or, for a
count window, from its rows. At most `MAX_LISTED` names are kept (largest share first); the
cap is stated in the result as `new_categories_listed_max`. When the reference itself has
more categories than the spec keeps (its "other" bucket is not empty), new values cannot be
told from the reference's rare ones: the run keeps `new_category_share` 0 and stores no count.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd

from monitor.drift.categorical import MAX_LISTED
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import CategoricalSpec, Sketch
from monitor.storage.categories import unseen_categories
from monitor.storage.db import Engine
from monitor.storage.event_frames import EventFilter


def _with(f: FeatureResult, count: int, counts: dict[str, int], total: int) -> FeatureResult:
    listed = {name: n / total for name, n in counts.items()} if total else {}
    stats = {
        **f.stats,
        "new_category_count": count,
        "new_categories": listed,
        "new_categories_listed_max": MAX_LISTED,
    }
    return replace(f, stats=stats)


def _needs_count(f: FeatureResult) -> bool:
    return f.kind == "categorical" and bool(f.stats) and "new_category_share" in f.stats


def _complete_reference(f: FeatureResult) -> bool:
    """Every reference category is in the spec (nothing of the reference fell into "other")."""
    return (f.stats.get("other_share") or {}).get("reference", 0) == 0


def from_events(
    engine: Engine,
    flt: EventFilter,
    start: datetime,
    end: datetime,
    features: tuple[FeatureResult, ...],
    specs: dict[str, Any],
    current: dict[str, Sketch],
) -> tuple[FeatureResult, ...]:
    """`features` with count and names of new categories, from the window's stored events."""
    out = []
    for f in features:
        spec = specs.get(f.name)
        if _needs_count(f) and isinstance(spec, CategoricalSpec):
            if f.stats["new_category_share"] > 0:
                count, counts = unseen_categories(
                    engine, flt, start, end, f.name, spec.categories, MAX_LISTED
                )
                f = _with(f, count, counts, current[f.name].count)
            elif _complete_reference(f):
                f = _with(f, 0, {}, 0)
        out.append(f)
    return tuple(out)


def from_frame(
    frame: pd.DataFrame, features: tuple[FeatureResult, ...], specs: dict[str, Any]
) -> tuple[FeatureResult, ...]:
    """The same from a count window's rows (already in memory)."""
    from monitor.drift.sketch import category_counts

    out = []
    for f in features:
        spec = specs.get(f.name)
        if (
            isinstance(spec, CategoricalSpec)
            and f.name in frame
            and _needs_count(f)
            and _complete_reference(f)
        ):
            names, counts = category_counts(frame[f.name])
            known = set(spec.categories)
            new = {n: c for n, c in zip(names, counts, strict=True) if n not in known}
            top = sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_LISTED]
            f = _with(f, len(new), dict(top), int(sum(counts)))
        out.append(f)
    return tuple(out)


def counted(report: DriftReport, features: tuple[FeatureResult, ...]) -> DriftReport:
    """The report with its input features replaced by `features` (same order)."""
    return replace(report, features=features)
