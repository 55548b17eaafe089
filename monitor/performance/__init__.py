"""Model performance monitoring: metrics of labelled windows, stored as revisioned runs.

`metrics` (pure numpy, pinned to scikit-learn), `labelled` (the predictions LEFT JOIN labels
window query, coverage, label delay), `runner` (evaluate overall / per version / per segment,
store with revision history, reference performance).
"""

from monitor.performance.classification import ClassificationMetrics
from monitor.performance.labelled import (
    Coverage,
    LabelDelay,
    LabelledWindow,
    label_coverage,
    label_delay,
    load_window,
)
from monitor.performance.metrics import (
    Metrics,
    TaskKind,
    classification_metrics,
    compute_metrics,
    infer_task,
    regression_metrics,
)
from monitor.performance.regression import RegressionMetrics
from monitor.performance.runner import (
    DEFAULT_MIN_ROWS,
    GroupResult,
    PerformanceResult,
    SliceResult,
    StoredRun,
    compute_window,
    evaluate_window,
    latest_runs,
    reference_performance,
    run_history,
    store_window,
)

__all__ = [
    "DEFAULT_MIN_ROWS",
    "ClassificationMetrics",
    "Coverage",
    "GroupResult",
    "LabelDelay",
    "LabelledWindow",
    "Metrics",
    "PerformanceResult",
    "RegressionMetrics",
    "SliceResult",
    "StoredRun",
    "TaskKind",
    "classification_metrics",
    "compute_metrics",
    "compute_window",
    "evaluate_window",
    "infer_task",
    "label_coverage",
    "label_delay",
    "latest_runs",
    "load_window",
    "reference_performance",
    "regression_metrics",
    "run_history",
    "store_window",
]
