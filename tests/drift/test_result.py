"""The JSON shape of a report: exactly the issue's keys, JSON-safe numbers."""

import json
import math

import numpy as np

from monitor.drift.result import DriftReport, FeatureResult, json_safe

FEATURE_KEYS = {
    "name",
    "kind",
    "method",
    "statistic",
    "p_value",
    "threshold",
    "drifted",
    "missing_share_reference",
    "missing_share_current",
    "stats",
    "quality",
}
REPORT_KEYS = {
    "reference_rows",
    "current_rows",
    "dataset_drift",
    "drift_share",
    "drift_share_threshold",
    "multivariate",
    "features",
}


def feature(**kw):
    base = dict(
        name="x",
        kind="numeric",
        method="ks",
        statistic=0.5,
        p_value=0.01,
        threshold=0.05,
        drifted=True,
        missing_share_reference=0.0,
        missing_share_current=0.25,
        stats={"ks": {"statistic": 0.5, "p_value": 0.01}},
    )
    return FeatureResult(**(base | kw))


def test_shape_and_types():
    rep = DriftReport(10, 8, True, 1.0, 0.5, (feature(),))
    d = rep.to_dict()
    assert set(d) == REPORT_KEYS and d["multivariate"] is None
    assert set(d["features"][0]) == FEATURE_KEYS
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_non_finite_numbers_become_null_everywhere():
    f = feature(
        statistic=math.inf,
        p_value=math.nan,
        stats={"wasserstein_normed": math.inf, "ks": {"p_value": np.float64("nan")}},
    )
    d = f.to_dict()
    assert d["statistic"] is None and d["p_value"] is None
    assert d["stats"] == {"wasserstein_normed": None, "ks": {"p_value": None}}
    json.dumps(d, allow_nan=False)


def test_numpy_scalars_become_python_numbers():
    out = json_safe({"a": np.int64(3), "b": np.float32(0.5), "c": np.bool_(True), 1: [np.int8(2)]})
    assert out == {"a": 3, "b": 0.5, "c": True, "1": [2]}
    assert type(out["a"]) is int and type(out["c"]) is bool
