"""Leave-one-out spread of a baseline (each window against the rest), on real data: Seattle's
daily weather 2012-2015 (vega_datasets, bundled), one baseline window per year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
from vega_datasets import local_data

from monitor.drift.baseline_spread import leave_one_out, rest_of
from monitor.drift.options import DriftOptions
from monitor.drift.sketch import merge_all, sketch
from monitor.drift.sketch_report import fit_reference, sketch_feature, sketch_frame

COLUMNS = ["temp_max", "weather"]


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    frame = local_data.seattle_weather()
    frame["year"] = frame["date"].dt.year
    return frame


def _floored(counts: np.ndarray) -> np.ndarray:
    """Shares floored at 1e-4, as the engine's distances do (docs/drift.md)."""
    return np.maximum(counts / counts.sum(), 1e-4)


def _years(weather: pd.DataFrame) -> list[pd.DataFrame]:
    return [g[COLUMNS] for _, g in weather.groupby("year")]


def test_categorical_spread_is_scipy_jensenshannon_of_each_year_against_the_rest(
    weather,
) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    years = _years(weather)
    options = DriftOptions(method="jensenshannon")

    spread = leave_one_out(specs, [sketch_frame(specs, y) for y in years], options)

    cats = sorted(weather["weather"].unique())  # 2014 has no drizzle nor snow: floored
    for i, year in enumerate(years):
        rest = pd.concat(years[:i] + years[i + 1 :])
        r = rest["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        c = year["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        want = jensenshannon(_floored(r), _floored(c), base=2)
        assert spread["weather"].statistics[i] == pytest.approx(want, rel=1e-12)
    assert spread["weather"].method == "jensenshannon"
    assert np.isnan(spread["weather"].p_values).all()  # a distance has no p-value


def test_numeric_spread_is_the_rest_rows_sketched_together(weather) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    years = _years(weather)
    options = DriftOptions(method="ks")

    spread = leave_one_out(specs, [sketch_frame(specs, y) for y in years], options)

    spec = specs["temp_max"]
    for i, year in enumerate(years):
        rest = pd.concat(years[:i] + years[i + 1 :])["temp_max"]
        want = sketch_feature(
            "temp_max", spec, sketch(spec, rest), sketch(spec, year["temp_max"]), options
        )
        got = spread["temp_max"].statistics[i]
        assert got == want.statistic and spread["temp_max"].p_values[i] == want.p_value
        # and it brackets scipy's exact two-sample KS statistic of the same rows
        exact = ks_2samp(rest, year["temp_max"]).statistic
        ks = want.stats["ks"]
        assert ks["statistic"] - 1e-12 <= exact <= ks["statistic_upper"] + 1e-12
    summary = spread["temp_max"].summary()
    finite = spread["temp_max"].statistics
    assert summary["n"] == 4 and summary["mean"] == pytest.approx(finite.mean())
    assert summary["std"] == pytest.approx(np.std(finite, ddof=1))


def test_rest_of_merges_every_other_window(weather) -> None:
    specs, _ = fit_reference(weather[COLUMNS])
    parts = [sketch_frame(specs, y)["weather"] for y in _years(weather)]

    rests = rest_of(parts)

    for i, rest in enumerate(rests):
        want = merge_all(parts[:i] + parts[i + 1 :])
        assert rest is not None and np.array_equal(rest.counts, want.counts)
    assert rest_of(parts[:1]) == [None]
    assert leave_one_out(specs, [sketch_frame(specs, _years(weather)[0])]) == {}
