"""The baseline null: a predictive Student t on sqrt(leave-one-out statistic), pinned to
scipy.stats.t, on real data (Seattle's daily weather 2012-2015, vega_datasets, bundled:
one baseline window per quarter); the subtraction-based leave-one-out (`leave_out`) pinned
to scipy's jensenshannon / ks_2samp on the rest rows, as the spread (`leave_one_out`) is."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
from vega_datasets import local_data

from monitor.drift.auto_verdict import AutoPlan, apply_auto
from monitor.drift.baseline_null import BaselineNull, predictive_t
from monitor.drift.baseline_spread import leave_one_out, leave_out, rest_of, score_statistic
from monitor.drift.options import DriftOptions
from monitor.drift.sketch import merge_all
from monitor.drift.sketch_report import (
    compare_sketches,
    fit_reference,
    sketch_feature,
    sketch_frame,
)

COLUMNS = ["temp_max", "weather"]


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    frame = local_data.seattle_weather()
    frame["quarter"] = frame["date"].dt.to_period("Q")
    return frame


def _quarters(weather: pd.DataFrame) -> list[pd.DataFrame]:
    return [g[COLUMNS] for _, g in weather.groupby("quarter")]


def _floored(counts: np.ndarray) -> np.ndarray:
    return np.maximum(counts / counts.sum(), 1e-4)


def test_leave_out_by_subtraction_is_scipy_on_the_rest_rows(weather) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    parts = _quarters(weather)
    sketches = [sketch_frame(specs, p) for p in parts]
    total = {n: merge_all(s[n] for s in sketches) for n in COLUMNS}
    cats = sorted(weather["weather"].unique())

    js = leave_out(
        "weather", specs["weather"], total["weather"], [s["weather"] for s in sketches],
        range(len(parts)), DriftOptions(method="jensenshannon"),
    )  # fmt: skip
    ks = leave_out(
        "temp_max", specs["temp_max"], total["temp_max"], [s["temp_max"] for s in sketches],
        range(len(parts)), DriftOptions(method="ks"),
    )  # fmt: skip

    for i, part in enumerate(parts):
        rest = pd.concat(parts[:i] + parts[i + 1 :])
        r = rest["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        c = part["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        assert js[i] == pytest.approx(jensenshannon(_floored(r), _floored(c), base=2), rel=1e-12)
        # temp_max has one decimal: its values are the sketch's bins, KS from them is exact
        want = ks_2samp(rest["temp_max"], part["temp_max"]).statistic
        assert ks[i] == pytest.approx(want, abs=1e-12)


def test_leave_out_by_subtraction_equals_merging_the_rest(weather) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    sketches = [sketch_frame(specs, p) for p in _quarters(weather)]
    options = DriftOptions(method="wasserstein_normed")
    parts = [s["temp_max"] for s in sketches]
    total = merge_all(parts)
    by_subtraction = leave_out("temp_max", specs["temp_max"], total, parts, range(16), options)
    assert len(parts) == 16
    for i, (part, rest) in enumerate(zip(parts, rest_of(parts), strict=True)):
        assert rest is not None
        merged = sketch_feature("temp_max", specs["temp_max"], rest, part, options)
        assert by_subtraction[i] == pytest.approx(score_statistic(merged), rel=1e-9)
        # the point estimate, inside the interval whose lower end is the spread's statistic
        assert merged.statistic <= by_subtraction[i] + 1e-12


def test_predictive_t_is_scipy_t_on_the_square_roots(weather) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    sketches = [sketch_frame(specs, p) for p in _quarters(weather)]
    spread = leave_one_out(specs, sketches, DriftOptions(method="jensenshannon"))["weather"]
    roots = np.sqrt(spread.statistics)
    n = len(roots)
    loc, scale = roots.mean(), roots.std(ddof=1) * math.sqrt(1 + 1 / n)
    want = stats.t(df=n - 1, loc=loc, scale=scale)

    assert predictive_t(roots) == pytest.approx((loc, scale, n - 1), rel=1e-12)
    null = BaselineNull.from_sample(
        "weather", "categorical", "jensenshannon", spread.statistics, 1461
    )
    assert null is not None and null.windows == n and null.reference_rows == 1461
    for s in (0.0, spread.statistics.min(), np.median(spread.statistics), 0.2, 0.5):
        assert null.p_value(s) == pytest.approx(want.sf(math.sqrt(s)), rel=1e-9)
        assert null.z_score(s, 100) == pytest.approx(
            stats.norm.isf(want.sf(math.sqrt(s))), rel=1e-9
        )
    for level in (0.5, 0.9, 0.999, 1 - 1e-6):
        assert null.threshold(100, level) == pytest.approx(want.ppf(level) ** 2, rel=1e-9)
    assert np.isnan(null.z_score(math.nan))


def test_too_few_or_constant_values_give_no_null() -> None:
    assert BaselineNull.from_sample("x", "numeric", "ks", [0.1, math.nan, 0.2], 100) is None
    assert BaselineNull.from_sample("x", "numeric", "ks", [0.1, 0.1, 0.1], 100) is None
    assert BaselineNull.from_sample("x", "numeric", "ks", [0.1, 0.2, 0.15], 100) is not None


def test_apply_auto_judges_by_the_baseline_null(weather) -> None:
    """A healthy quarter stays quiet; the same quarter 25 °F warmer (summer heat in winter) drifts; the threshold
    apply_auto reports is the predictive t's quantile at its level."""
    specs, _ = fit_reference(weather[COLUMNS])
    quarters = _quarters(weather)
    sketches = [sketch_frame(specs, p) for p in quarters[:-1]]
    options = DriftOptions(method="wasserstein_normed")
    total = {n: merge_all(s[n] for s in sketches) for n in COLUMNS}
    parts = [s["temp_max"] for s in sketches]
    sample = leave_out("temp_max", specs["temp_max"], total["temp_max"], parts, range(15), options)
    null = BaselineNull.from_sample(
        "temp_max", "numeric", "wasserstein_normed", list(sample.values()), total["temp_max"].count
    )
    assert null is not None
    plan = AutoPlan({"temp_max": "wasserstein_normed"}, {"temp_max": null}, budget_runs=100)
    verdicts = []
    for shift in (0.0, 25.0):
        last = quarters[-1].assign(temp_max=quarters[-1]["temp_max"] + shift)
        current = sketch_frame(specs, last)
        report = compare_sketches({"temp_max": specs["temp_max"]}, total, current, options)
        judged, _, decision = apply_auto(
            report, None, {"temp_max": current["temp_max"].count}, plan
        )
        (f,) = judged.features
        decided = f.quality["decided_by"]
        assert decided["threshold"] == pytest.approx(null.threshold(0, decided["level"]))
        assert decided["z"] == pytest.approx(null.z_score(score_statistic(report.features[0])))
        verdicts.append((f.drifted, judged.dataset_drift, decision is not None))
    assert verdicts == [(False, False, True), (True, True, True)]
