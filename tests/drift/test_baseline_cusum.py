"""Why a trailing baseline cannot feed the sequential rule (refused at load,
`settings.baseline.check_rules`): on real hourly data with a daily cycle (Seattle's hourly
temperatures of 2010, vega_datasets) the scores a trailing baseline's null gives follow the
cycle, so a CUSUM sized for independent scores alarms many times per budget period."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy.stats import f_oneway
from vega_datasets import local_data

from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sequential import CusumConfig, CusumState, update
from monitor.drift.sketch import merge_all
from monitor.drift.sketch_report import build_specs, compare_sketches, sketch_frame
from monitor.scheduler.baseline_verdict import baseline_nulls, remember

TRAILING = 24  # the previous day's windows
DAYS = 45


def _hourly_windows() -> tuple[dict, list[dict]]:
    """Window t = 24 d + h: the readings at hour h over real days d..d+27."""
    series = local_data.seattle_temps()
    frame = series.assign(h=series["date"].dt.hour, d=series["date"].dt.dayofyear - 1)
    table = frame.pivot_table(index="d", columns="h", values="temp", aggfunc="first")
    table = table.interpolate(limit_direction="both").to_numpy(float)
    specs = build_specs(series[["temp"]])
    windows = [table[d : d + 28, h] for d in range(DAYS) for h in range(24)]
    return specs, [sketch_frame(specs, pd.DataFrame({"temp": w})) for w in windows]


def _trailing_z(specs: dict, sketches: list[dict]) -> list[float]:
    options = DriftOptions(per_feature={"temp": FeatureOptions("wasserstein_normed", None, None)})
    methods = {"temp": "wasserstein_normed"}
    cache: OrderedDict = OrderedDict()

    def own(keys):  # each window's own trailing baseline
        return {k: [(k - i, sketches[k - i]) for i in range(1, TRAILING + 1)] for k in keys}

    z = []
    for t in range(2 * TRAILING, len(sketches)):
        parts = [(t - i, sketches[t - i]) for i in range(1, TRAILING + 1)]
        total = {"temp": merge_all(p["temp"] for _, p in parts)}
        null = baseline_nulls(specs, total, parts, methods, options, cache, own)["temp"]
        report = compare_sketches(specs, total, sketches[t], options)
        remember(cache, t, report.features, methods)
        z.append(null.z_score(float(cache[(t, "temp", "wasserstein_normed")])))
    return z


def test_trailing_baseline_scores_follow_the_daily_cycle_and_break_the_cusum_budget() -> None:
    specs, sketches = _hourly_windows()
    z = np.asarray(_trailing_z(specs, sketches))
    assert np.isfinite(z).all()
    hours = (np.arange(len(z)) + 2 * TRAILING) % 24
    # the hour of day explains the scores (one-way ANOVA, scipy's definition)
    assert f_oneway(*[z[hours == h] for h in range(24)]).pvalue < 1e-10
    assert np.corrcoef(z[:-1], z[1:])[0, 1] > 0.5  # consecutive hours' scores move together
    # the sequential rule's CUSUM, settings given explicitly (ARL0 720 windows = a 30-day
    # budget hourly; k, warm-up, delta, cap, learning as alarm.sequential's defaults at s23):
    # measured 30 alarms per 30 days, budget 1
    config = CusumConfig(720, 1, k=1.0, warmup=96, delta=0.2, cap=3.0, learn=True)
    state, alarms = CusumState(reference_id="r"), 0
    for value in z:
        state, alarmed = update(state, {"temp": float(value)}, config, "r")
        if alarmed:
            alarms += 1
            state = state.reset(("temp",))
    windows = len(z) - config.warmup
    assert alarms / (windows / 720) > 5, alarms
    assert not math.isnan(z.mean())
