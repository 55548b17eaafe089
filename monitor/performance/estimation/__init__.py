"""Performance estimation without labels: CBPE, AC, ATC (classification) and DLE (regression).

Pure: numpy/scipy/scikit-learn only, no storage, no Kafka. `registry.ESTIMATORS` maps a name
to its fit and estimate functions; a fitted state is JSON (numbers and lists).
"""

from monitor.performance.estimation.data import ClassificationData, classification_data
from monitor.performance.estimation.dle import RegressionData, regression_data
from monitor.performance.estimation.registry import ESTIMATORS, Estimator, get_estimator
from monitor.performance.estimation.result import MetricEstimate, WindowEstimate

__all__ = [
    "ESTIMATORS",
    "ClassificationData",
    "Estimator",
    "MetricEstimate",
    "RegressionData",
    "WindowEstimate",
    "classification_data",
    "get_estimator",
    "regression_data",
]
