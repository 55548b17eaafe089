"""A baseline window's null value against its own baseline (`against_own`), pinned to
scipy's jensenshannon / ks_2samp on the rows of the windows before it (Seattle's daily
weather 2012-2015, vega_datasets: one window per quarter); and the null built from such
values (`baseline_nulls` with kept live values) against the leave-one-out one on windows
that share rows with their neighbours (Seattle's hourly temperatures 2010, the bench's
`block` windows: one hour of day over 28 consecutive days)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
from vega_datasets import local_data

from monitor.drift.baseline_spread import adjusted, against_own, score_statistic
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sketch import merge_all
from monitor.drift.sketch_report import (
    build_specs,
    compare_sketches,
    fit_reference,
    sketch_frame,
)
from monitor.scheduler.baseline_verdict import (
    LAGGED_MOST,
    LAGGED_SHARE,
    baseline_nulls,
    gap_share,
    lagged_nulls,
    remember,
)

COLUMNS = ["temp_max", "weather"]
OWN = 4  # windows in a window's own baseline


def _floored(counts: np.ndarray) -> np.ndarray:
    return np.maximum(counts / counts.sum(), 1e-4)


def test_against_own_is_scipy_on_the_older_windows_rows() -> None:
    weather = local_data.seattle_weather()
    parts = [g[COLUMNS] for _, g in weather.groupby(weather["date"].dt.to_period("Q"))]
    specs, _ = fit_reference(weather[COLUMNS])
    sketches = [sketch_frame(specs, p) for p in parts]
    cats = sorted(weather["weather"].unique())
    for i in range(OWN, len(parts)):
        own = sketches[i - OWN : i]
        rest = pd.concat(parts[i - OWN : i])
        js = against_own(
            "weather", specs["weather"], sketches[i]["weather"], [s["weather"] for s in own],
            DriftOptions(method="jensenshannon"),
        )  # fmt: skip
        r = rest["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        c = parts[i]["weather"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        seen = (r + c) > 0  # categories absent from both sides are not compared
        want_js = jensenshannon(_floored(r[seen]), _floored(c[seen]), base=2)
        assert js == pytest.approx(want_js, rel=1e-12)
        ks = against_own(
            "temp_max", specs["temp_max"], sketches[i]["temp_max"],
            [s["temp_max"] for s in own], DriftOptions(method="ks"),
        )  # fmt: skip
        want = ks_2samp(rest["temp_max"], parts[i]["temp_max"]).statistic
        assert ks == pytest.approx(want, abs=1e-12)  # one-decimal values: exact from bins
    assert np.isnan(
        against_own("x", specs["temp_max"], sketches[0]["temp_max"], [], DriftOptions())
    )


def _block_windows(hour: int, days: int) -> tuple[dict, list[dict]]:
    series = local_data.seattle_temps()
    frame = series.assign(h=series["date"].dt.hour, d=series["date"].dt.dayofyear - 1)
    table = frame.pivot_table(index="d", columns="h", values="temp", aggfunc="first")
    column = table[hour].interpolate(limit_direction="both").to_numpy(float)
    specs = build_specs(series[["temp"]])
    windows = [column[d : d + 28] for d in range(days)]  # day d shares 27 rows with d - 1
    return specs, [sketch_frame(specs, pd.DataFrame({"temp": w})) for w in windows]


@pytest.mark.parametrize("own_values", [True, False])
def test_own_values_keep_windows_that_share_rows_within_the_null(own_values: bool) -> None:
    """Each day's window against the 7 days before it (a 7-day seasonal baseline), p-value
    from the baseline null. With each baseline window's value its own live statistic, the
    healthy windows' p-values are spread over (0, 1) (few below 0.01); with leave-one-out
    values kept at first use (the former construction: each window against the 6 windows
    older than it in the baseline that first held it) most fall below 0.01: the null is
    too narrow for the live window (the s21 bench's 168-261 false alarms per 30 days)."""
    specs, sketches = _block_windows(hour=14, days=120)
    methods = {"temp": "wasserstein_normed"}
    options = DriftOptions(per_feature={"temp": FeatureOptions("wasserstein_normed", None, None)})
    cache: OrderedDict = OrderedDict()
    p_values = []
    for t in range(7, len(sketches)):
        parts = [(s, sketches[s]) for s in range(t - 1, t - 8, -1)]
        total = {"temp": merge_all(p["temp"] for _, p in parts)}
        report = compare_sketches(specs, total, sketches[t], options)

        def own(keys: list, t: int = t) -> dict:
            return {k: [(s, sketches[s]) for s in range(k - 1, k - 8, -1)] for k in keys if k >= 7}

        nulls = baseline_nulls(
            specs, total, parts, methods, options, cache, own if own_values else None
        )
        if own_values:
            remember(cache, t, report.features, methods)
        if t >= 21:  # every baseline window was itself judged against a full baseline
            p_values.append(nulls["temp"].p_value(score_statistic(report.features[0])))
    below = float(np.mean(np.asarray(p_values) <= 0.01))
    if own_values:
        assert below <= 0.08
        assert 0.2 <= float(np.median(p_values)) <= 0.8
    else:
        assert below >= 0.3


def test_adjusted_merge_equals_merging_the_own_baseline() -> None:
    """A trailing baseline's newest window's own baseline (the other windows plus one older
    one) by subtraction and addition is the merge of its windows."""
    weather = local_data.seattle_weather()
    parts = [g[COLUMNS] for _, g in weather.groupby(weather["date"].dt.to_period("Q"))]
    specs, _ = fit_reference(weather[COLUMNS])
    sketches = [sketch_frame(specs, p) for p in parts]
    for name in COLUMNS:
        current = [s[name] for s in sketches[1:9]]  # the baseline: quarters 1..8
        own = [s[name] for s in sketches[2:10]]  # quarter 1's own: 2..9
        got = adjusted(merge_all(current), [current[0]], [own[-1]], own)
        want = merge_all(own)
        np.testing.assert_array_equal(got.counts, want.counts)
        assert got.missing == want.missing
        for field in ("sum", "sumsq", "min", "max", "infinite"):
            if hasattr(want, field):
                assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-12)
        options = DriftOptions(method="jensenshannon" if name == "weather" else "ks")
        with_rest = against_own(name, specs[name], current[0], own, options, got)
        assert with_rest == pytest.approx(against_own(name, specs[name], current[0], own, options))


def test_after_a_gap_the_values_are_taken_at_the_live_windows_lags() -> None:
    """Live window t judged against days t-2..t-8 (day t-1 alarmed, left out): with each
    baseline window's own value (days 1..7 before it) the healthy windows' p-values are too
    small (the live comparison spans a larger gap: fewer shared rows on `block` windows);
    with `lagged_nulls` (each baseline window against days 2..8 before it) they are not.
    Each lagged value is `against_own` over exactly those windows."""
    specs, sketches = _block_windows(hour=14, days=120)
    methods = {"temp": "wasserstein_normed"}
    options = DriftOptions(per_feature={"temp": FeatureOptions("wasserstein_normed", None, None)})
    lags = range(2, 9)
    own_p, lagged_p = [], []
    for t in range(20, len(sketches)):
        parts = [(t - g, sketches[t - g]) for g in lags]
        total = {"temp": merge_all(p["temp"] for _, p in parts)}
        score = score_statistic(compare_sketches(specs, total, sketches[t], options).features[0])
        own = {b: [(b - g, sketches[b - g]) for g in range(1, 8)] for b, _ in parts}
        plain = baseline_nulls(specs, total, parts, methods, options, None, lambda k, o=own: o)
        lagged = {b: [(b - g, sketches[b - g]) for g in lags] for b, _ in parts}
        gap = lagged_nulls(specs, parts, lagged, methods, options, needed=4)
        own_p.append(plain["temp"].p_value(score))
        lagged_p.append(gap["temp"].p_value(score))
        if t == 20:
            values = [
                against_own("temp", specs["temp"], sketches[b]["temp"],
                            [sketches[b - g]["temp"] for g in lags], options)
                for b, _ in parts
            ]  # fmt: skip
            assert gap["temp"].windows == 7
            assert gap["temp"].location == pytest.approx(float(np.mean(np.sqrt(values))))
    assert float(np.mean(np.asarray(own_p) <= 0.01)) >= 0.5  # measured 0.94
    assert float(np.mean(np.asarray(lagged_p) <= 0.01)) <= 0.2  # measured 0.11
    assert float(np.median(lagged_p)) >= 0.2


def test_lagged_values_of_a_long_baseline_are_spread_and_merged_by_adjustment() -> None:
    """A 40-window baseline after a gap (lags 2..41): the lagged null takes the newest
    LAGGED_MOST windows, each value `against_own` over exactly its windows at the live lags
    (the adjusted rolling merge equals merging them)."""
    specs, sketches = _block_windows(hour=14, days=120)
    methods = {"temp": "wasserstein_normed"}
    options = DriftOptions(per_feature={"temp": FeatureOptions("wasserstein_normed", None, None)})
    t, lags = 119, range(2, 42)
    parts = [(t - g, sketches[t - g]) for g in lags]
    lagged = {b: [(b - g, sketches[b - g]) for g in lags if b - g >= 0] for b, _ in parts}
    gap = lagged_nulls(specs, parts, lagged, methods, options, needed=20)["temp"]
    picked = range(LAGGED_MOST)
    values = [
        against_own("temp", specs["temp"], parts[i][1]["temp"],
                    [w["temp"] for _, w in lagged[parts[i][0]]], options)
        for i in picked
    ]  # fmt: skip
    assert gap.windows == LAGGED_MOST
    assert gap.location == pytest.approx(float(np.mean(np.sqrt(values))), rel=1e-9)
    assert gap.scale == pytest.approx(
        float(np.std(np.sqrt(values), ddof=1) * np.sqrt(1 + 1 / LAGGED_MOST)), rel=1e-6
    )


def test_gap_share_counts_the_lags_that_are_not_the_first_candidates() -> None:
    assert gap_share([1, 2, 3], [1, 2, 3]) == 0.0
    assert gap_share(list(range(2, 170)), list(range(1, 169))) == pytest.approx(1 / 168)
    assert gap_share([2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7]) == pytest.approx(1 / 7)
    assert 1 / 168 < LAGGED_SHARE <= 1 / 12  # trailing 168 after one alarm: kept values
