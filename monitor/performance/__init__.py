"""Model performance monitoring: metrics of labelled windows (pure, like `drift/`).

`compute` (task inference and the one metrics entry point, pinned to scikit-learn through
`classification` and `regression`), `labelled` (the labelled window, coverage, label delay),
`evaluate` (a window overall / per version / per segment; reference performance), `result`
(what an evaluation produces and what is stored of it). Loading windows and storing runs:
`monitor.storage.labelled`, `monitor.storage.performance_runs`; the tick that ties them
together: `monitor.scheduler.performance`.
"""

from monitor.performance.classification import ClassificationMetrics, classification_metrics
from monitor.performance.compute import Metrics, TaskKind, compute_metrics, infer_task
from monitor.performance.evaluate import evaluate_window, reference_performance
from monitor.performance.labelled import (
    Coverage,
    LabelDelay,
    LabelledWindow,
    label_coverage,
    label_delay,
)
from monitor.performance.regression import RegressionMetrics, regression_metrics
from monitor.performance.result import (
    DEFAULT_MIN_ROWS,
    MAX_SEGMENT_VALUES,
    GroupResult,
    PerformanceResult,
    SliceResult,
    StoredRun,
)

__all__ = [
    "DEFAULT_MIN_ROWS",
    "MAX_SEGMENT_VALUES",
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
    "evaluate_window",
    "infer_task",
    "label_coverage",
    "label_delay",
    "reference_performance",
    "regression_metrics",
]
