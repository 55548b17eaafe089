"""Drift engine: pure numpy/scipy/pandas, no Kafka, no database.

`compare(reference, current, options)` computes exact statistics on raw frames; the
method table (`registry.METHODS`: each row holds its code), the statistics on counts
(`count_stats`) and `decide` are shared with the sketch path. See docs/drift.md for the
exact definitions, the default-method rule and thresholds, and docs/architecture.md for
adding a statistic.

Names are imported on first use (PEP 562), so `from monitor.drift.result import ...` or
the CLI's start-up does not pay for scipy.stats and pandas until a statistic needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "chi2": "count_stats",
    "hellinger": "count_stats",
    "jensenshannon": "count_stats",
    "kl": "count_stats",
    "proportions": "count_stats",
    "psi": "count_stats",
    "tvd": "count_stats",
    "z_two_proportion": "count_stats",
    "bin_counts": "binning",
    "quantile_edges": "binning",
    "default_method": "defaults",
    "compare": "engine",
    "compare_feature": "engine",
    "infer_kind": "frames",
    "read_frame": "frames",
    "DriftOptions": "options",
    "FeatureOptions": "options",
    "METHODS": "registry",
    "Method": "registry",
    "decide": "registry",
    "get_method": "registry",
    "DriftReport": "result",
    "FeatureResult": "result",
}

__all__ = [
    "METHODS",
    "DriftOptions",
    "DriftReport",
    "FeatureOptions",
    "FeatureResult",
    "Method",
    "bin_counts",
    "chi2",
    "compare",
    "compare_feature",
    "decide",
    "default_method",
    "get_method",
    "hellinger",
    "infer_kind",
    "jensenshannon",
    "kl",
    "proportions",
    "psi",
    "quantile_edges",
    "read_frame",
    "tvd",
    "z_two_proportion",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.drift' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"monitor.drift.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static tools see the eager imports
    from monitor.drift.binning import bin_counts, quantile_edges
    from monitor.drift.count_stats import (
        chi2,
        hellinger,
        jensenshannon,
        kl,
        proportions,
        psi,
        tvd,
        z_two_proportion,
    )
    from monitor.drift.defaults import default_method
    from monitor.drift.engine import compare, compare_feature
    from monitor.drift.frames import infer_kind, read_frame
    from monitor.drift.options import DriftOptions, FeatureOptions
    from monitor.drift.registry import METHODS, Method, decide, get_method
    from monitor.drift.result import DriftReport, FeatureResult
