"""Statistics from sketches: exact where binned, bounded where approximate, on raw data."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial import distance

from monitor.drift import engine
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sketch import categorical_spec, merge, numeric_spec, sketch
from monitor.drift.sketch_report import build_specs, compare_sketches, sketch_feature, sketch_frame
from monitor.drift.sketch_stats import (
    categorical_sketch_stats,
    ks_bounds,
    ks_pvalue,
    numeric_sketch_stats,
    wasserstein_bounds,
)

_pool = st.sampled_from([-2.0, 0.0, 0.0, 0.5, 1.0, 3.0, 40.0])
_element = st.one_of(_pool, st.floats(-100, 100, allow_nan=False))
_sample = hnp.arrays(np.float64, st.integers(1, 150), elements=_element)
ALL = frozenset({"ks", "wasserstein_normed", "psi", "jensenshannon", "hellinger", "kl"})


@settings(max_examples=200, deadline=None)
@given(_sample, _sample, st.integers(2, 30))
def test_exact_ks_and_wasserstein_lie_inside_the_sketch_bounds(ref, cur, fine):
    spec = numeric_spec(ref, fine_bins=fine)
    r, c = sketch(spec, ref), sketch(spec, cur)
    low, high = ks_bounds(spec, r, c)
    exact = stats.ks_2samp(ref, cur)
    assert low - 1e-12 <= exact.statistic <= high + 1e-12
    # a larger D gives a smaller p-value: the exact p lies between the two ends' p-values
    assert ks_pvalue(high, r.count, c.count) - 1e-9 <= exact.pvalue
    assert exact.pvalue <= ks_pvalue(low, r.count, c.count) + 1e-9
    w_low, w_est, w_high = wasserstein_bounds(spec, r, c)
    w = stats.wasserstein_distance(ref, cur)
    slack = 1e-9 * (1 + max(abs(ref).max(), abs(cur).max()))
    assert w_low - slack <= w <= w_high + slack
    assert w_low <= w_est <= w_high


@settings(max_examples=100, deadline=None)
@given(_sample, _sample, st.integers(2, 30))
def test_a_sketch_verdict_never_contradicts_the_exact_one_unless_marked_undecided(ref, cur, fine):
    spec = numeric_spec(ref, fine_bins=fine)
    for method in ("ks", "wasserstein_normed"):
        numeric = {"x": FeatureOptions(kind="numeric")}  # integral floats would be categorical
        options = DriftOptions(method=method, per_feature=numeric)
        got = sketch_feature("x", spec, sketch(spec, ref), sketch(spec, cur), options)
        exact = engine.compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), options)
        want = exact.feature("x")
        if got.drifted:  # decided on the least alarming end: drift is certain
            assert want.drifted
        elif not got.quality["sketch_undecided"]:
            assert not want.drifted


@pytest.mark.parametrize(("n", "m"), [(300, 200), (5_000, 5_000), (20_000, 15_000)])
def test_ks_pvalue_is_scipys_for_the_same_statistic(n, m):
    rng = np.random.default_rng(n)
    exact = stats.ks_2samp(rng.normal(size=n), rng.normal(0.05, size=m))
    assert ks_pvalue(exact.statistic, n, m) == pytest.approx(exact.pvalue, rel=1e-9)


def test_binned_numeric_statistics_equal_their_definition_on_raw_deciles():
    rng = np.random.default_rng(4)
    ref = rng.lognormal(size=20_000)
    cur = np.concatenate((rng.lognormal(0.1, size=15_000), [np.nan] * 10, [np.inf]))
    spec = numeric_spec(ref, fine_bins=500)
    got = numeric_sketch_stats(spec, sketch(spec, ref), sketch(spec, cur), ALL)
    finite = cur[np.isfinite(cur)]
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    rc = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10) / ref.size
    cc = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=10) / finite.size
    rp, cp = np.maximum(rc, 1e-4), np.maximum(cc, 1e-4)
    assert got["psi"] == pytest.approx(np.sum((cp - rp) * np.log(cp / rp)), rel=1e-12)
    assert got["jensenshannon"] == pytest.approx(distance.jensenshannon(rp, cp, base=2), rel=1e-12)
    assert got["kl"] == pytest.approx(stats.entropy(rp, cp), rel=1e-12)
    hell = np.sqrt(np.sum((np.sqrt(rc) - np.sqrt(cc)) ** 2) / 2)
    assert got["hellinger"] == pytest.approx(hell, rel=1e-12)
    assert got["mean"]["current"] == pytest.approx(finite.mean(), rel=1e-12)
    assert got["std"]["reference"] == pytest.approx(ref.std(), rel=1e-9)
    outside = np.mean((finite < ref.min()) | (finite > ref.max()))
    assert got["share_outside_reference_range"] == outside
    for q, block in got["quantiles"].items():
        lo, hi = block["current_interval"]
        assert lo <= np.quantile(finite, float(q)) <= hi
        assert lo <= block["current"] <= hi


def test_categorical_statistics_equal_scipy_on_the_raw_union_table():
    rng = np.random.default_rng(5)
    ref = rng.choice(["a", "b", "c", "ü"], p=[0.4, 0.3, 0.2, 0.1], size=4_000)
    cur = rng.choice(["a", "b", "ü", "new"], p=[0.5, 0.3, 0.15, 0.05], size=3_000)  # c vanishes
    spec = categorical_spec(ref)
    got = categorical_sketch_stats(
        spec, sketch(spec, ref), sketch(spec, cur), frozenset({"chisquare", "psi", "tvd"})
    )
    union = ["a", "b", "c", "ü", "new"]
    table = np.array([[np.sum(ref == k) for k in union], [np.sum(cur == k) for k in union]])
    want = stats.chi2_contingency(table, correction=False)
    assert got["chisquare"]["statistic"] == pytest.approx(want.statistic, rel=1e-12)
    assert got["chisquare"]["p_value"] == pytest.approx(want.pvalue, rel=1e-9)
    rp, cp = table[0] / table[0].sum(), table[1] / table[1].sum()
    assert got["tvd"] == pytest.approx(0.5 * np.abs(rp - cp).sum(), rel=1e-12)
    rf, cf = np.maximum(rp, 1e-4), np.maximum(cp, 1e-4)
    assert got["psi"] == pytest.approx(np.sum((cf - rf) * np.log(cf / rf)), rel=1e-12)
    assert got["vanished_categories"] == {"c": np.mean(ref == "c")}
    assert got["new_category_share"] == np.mean(cur == "new")


def _frames(n, seed):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "norm": rng.normal(size=n),
            "logn": rng.lognormal(size=n),
            "cat": rng.choice(list("abcde"), size=n),
            "flag": rng.choice([True, False], size=n),
        }
    )
    cur = pd.DataFrame(
        {
            "norm": rng.normal(0.3, size=n),
            "logn": np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(size=n)),
            "cat": rng.choice(list("abcdf"), size=n),
            "flag": rng.choice([True, False], p=[0.6, 0.4], size=n),
        }
    )
    return ref, cur


@pytest.mark.parametrize("n", [400, 30_000])
def test_report_from_sketches_matches_the_exact_engine(n):
    ref, cur = _frames(n, n)
    options = DriftOptions(per_feature={"flag": FeatureOptions(kind="categorical")})
    exact = engine.compare(ref, cur, options)
    specs = build_specs(ref, options)
    halves = [sketch_frame(specs, part) for part in (cur.iloc[: n // 3], cur.iloc[n // 3 :])]
    merged = {k: merge(halves[0][k], halves[1][k]) for k in specs}
    got = compare_sketches(specs, sketch_frame(specs, ref), merged, options)
    assert (got.reference_rows, got.current_rows) == (exact.reference_rows, exact.current_rows)
    assert got.dataset_drift == exact.dataset_drift
    for g, e in zip(got.features, exact.features, strict=True):
        assert (g.name, g.kind, g.method, g.threshold) == (e.name, e.kind, e.method, e.threshold)
        assert g.drifted == e.drifted
        assert g.missing_share_current == e.missing_share_current
        for name in ("psi", "jensenshannon", "hellinger", "kl"):
            assert g.stats[name] == pytest.approx(e.stats[name], rel=1e-12)


def test_forced_ks_on_large_unshifted_columns_flags_nothing_the_exact_test_does_not():
    """whylogs' trap: a sketch KS read as exact flags most unshifted columns at large n."""
    rng = np.random.default_rng(6)
    n = 200_000
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    cur = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    options = DriftOptions(method="ks")
    exact = engine.compare(ref, cur, options)
    specs = build_specs(ref, options)
    got = compare_sketches(specs, sketch_frame(specs, ref), sketch_frame(specs, cur), options)
    for g, e in zip(got.features, exact.features, strict=True):
        low, high = g.stats["ks"]["statistic"], g.stats["ks"]["statistic_upper"]
        assert low <= e.statistic <= high
        assert g.drifted <= e.drifted  # never a false alarm the exact test would not raise
        if not g.quality["sketch_undecided"]:
            assert g.drifted == e.drifted
    assert json.loads(json.dumps(got.to_dict()))["features"][0]["method"] == "ks"
