"""Drift engine: pure numpy/scipy/pandas, no Kafka, no database.

`compare(reference, current, options)` computes exact statistics on raw frames; the
binned functions and `decide` are shared with the sketch path. See docs/drift.md for the
exact definitions, the default-method rule and thresholds.
"""

from monitor.drift.binned import (
    chi2,
    hellinger,
    jensenshannon,
    kl,
    proportions,
    psi,
    tvd,
    z_two_proportion,
)
from monitor.drift.binning import bin_counts, quantile_edges
from monitor.drift.defaults import default_method
from monitor.drift.engine import compare, compare_feature
from monitor.drift.frames import infer_kind, read_frame
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import METHODS, Method, decide, get_method
from monitor.drift.result import DriftReport, FeatureResult

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
