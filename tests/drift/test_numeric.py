"""Numeric statistics from sorted arrays equal scipy's on the same raw data."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from monitor.drift import numeric
from monitor.drift.numeric import NumericReference, finite_sorted, ks_wasserstein


def check_against_scipy(a, b):
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    d, p, w = ks_wasserstein(a, b)
    ks = sps.ks_2samp(a, b)
    assert d == ks.statistic
    assert p == pytest.approx(ks.pvalue, rel=1e-12, abs=0)
    assert w == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-9, abs=1e-300)


rng = np.random.default_rng(7)
BINNED = ("psi", "jensenshannon", "hellinger", "kl")  # the numeric methods from bin counts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (rng.normal(size=50), rng.normal(0.3, 1, size=80)),  # exact branch
        (rng.integers(0, 5, 200), rng.integers(0, 6, 300)),  # heavy ties
        ([1.0], [2.0]),  # single-row windows
        ([1.0], [1.0]),
        ([3.0, 3.0, 3.0], [3.0, 4.0]),  # constant reference
        (np.arange(10.0), np.arange(100.0, 110.0)),  # disjoint supports
        (rng.normal(size=20_000), rng.normal(0.01, 1, size=15_001)),  # asymptotic branch
        (np.round(rng.normal(size=12_000), 1), np.round(rng.normal(size=30_000), 1)),  # ties
        (np.arange(20_000.0), np.arange(20_000.0) + 1e6),  # disjoint, asymptotic: p is 0
        (rng.normal(size=10_001), rng.normal(size=7)),  # tiny current, asymptotic
    ],
)
def test_ks_and_wasserstein_match_scipy(a, b):
    check_against_scipy(a, b)


def test_ks_branch_follows_scipys_auto_rule():
    # 10,000 per side is exact in scipy ('auto'), 10,001 asymptotic; both must agree with it
    for n in (10_000, 10_001):
        check_against_scipy(rng.normal(size=n), rng.normal(0.02, 1, size=n))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
)
def test_ks_and_wasserstein_match_scipy_on_tied_integers(a, b):
    check_against_scipy(a, b)


def test_finite_sorted_counts_nan_and_inf_separately():
    values = np.array([3.0, np.nan, -np.inf, 1.0, np.inf, np.inf, 2.0])
    out, n_nan, n_inf = finite_sorted(values)
    assert out.tolist() == [1.0, 2.0, 3.0]
    assert (n_nan, n_inf) == (1, 3)


def test_finite_sorted_does_not_modify_its_input():
    values = np.array([3.0, 1.0, 2.0])
    finite_sorted(values)
    assert values.tolist() == [3.0, 1.0, 2.0]


def test_normed_divides_by_scale_and_handles_a_constant_reference():
    assert numeric.normed(0.3, 1.5) == pytest.approx(0.2)
    assert numeric.normed(0.0, 0.0) == 0.0
    assert numeric.normed(0.1, 0.0) == math.inf


def test_wasserstein_normed_uses_the_population_std_of_the_reference():
    a, b = np.sort(rng.lognormal(size=500)), np.sort(rng.lognormal(0.1, 1, size=700))
    ref = NumericReference.fit(a, 10)
    out = numeric.numeric_stats(ref, b, frozenset({"wasserstein_normed"}))
    expected = sps.wasserstein_distance(a, b) / np.std(a, ddof=0)
    assert out["wasserstein_normed"] == pytest.approx(expected, rel=1e-9)


def test_binned_statistics_use_reference_decile_bins():
    from monitor.drift import count_stats

    a, b = np.sort(rng.normal(size=1000)), np.sort(rng.normal(0.2, 1.2, size=800))
    ref = NumericReference.fit(a, 10)
    out = numeric.numeric_stats(ref, b, frozenset(BINNED))
    edges = np.unique(np.quantile(a, np.arange(1, 10) / 10))
    bounds = [-np.inf, *edges, np.inf]
    r = np.array([np.sum((a > lo) & (a <= hi)) for lo, hi in itertools.pairwise(bounds)])
    c = np.array([np.sum((b > lo) & (b <= hi)) for lo, hi in itertools.pairwise(bounds)])
    for name in BINNED:
        assert out[name] == getattr(count_stats, name)(r, c)


def test_anderson_and_cramer_von_mises_are_scipys():
    a, b = np.sort(rng.normal(size=300)), np.sort(rng.normal(0.2, 1, size=200))
    ref = NumericReference.fit(a, 10)
    out = numeric.numeric_stats(ref, b, frozenset({"anderson", "cramer_von_mises"}))
    ad = sps.anderson_ksamp([a, b], variant="midrank")
    cvm = sps.cramervonmises_2samp(a, b)
    assert out["anderson"] == {
        "statistic": ad.statistic,
        "p_value": ad.pvalue,
        "p_value_method": numeric.ANDERSON_P,
    }
    assert out["cramer_von_mises"] == {
        "statistic": cvm.statistic,
        "p_value": cvm.pvalue,
        "p_value_method": numeric.CRAMER_VON_MISES_P,
    }


def test_anderson_refusal_is_recorded_not_raised():
    a = np.full(10, 2.0)
    quality = {}
    out = numeric.numeric_stats(
        NumericReference.fit(a, 10), a.copy(), frozenset({"anderson"}), quality
    )
    assert "anderson" not in out
    assert "anderson" in quality["errors"]


def test_expensive_tests_are_not_computed_unless_asked():
    a = np.sort(rng.normal(size=100))
    out = numeric.numeric_stats(NumericReference.fit(a, 10), a, frozenset({"ks"}))
    assert "anderson" not in out and "cramer_von_mises" not in out


def test_describe_matches_numpy():
    a, b = np.sort(rng.normal(size=400)), np.sort(rng.normal(0.5, 2, size=300))
    out = numeric.describe(NumericReference.fit(a, 10), b)
    assert out["mean"]["reference"] == pytest.approx(np.mean(a), rel=1e-12)
    assert out["mean"]["current"] == pytest.approx(np.mean(b), rel=1e-12)
    assert out["mean"]["shift_normed"] == pytest.approx((np.mean(b) - np.mean(a)) / np.std(a))
    assert out["std"]["current"] == pytest.approx(np.std(b), rel=1e-12)
    for q in numeric.QUANTILES:
        assert out["quantiles"][f"{q:g}"]["current"] == np.quantile(b, q)
        assert out["quantiles"][f"{q:g}"]["reference"] == np.quantile(a, q)
    outside = np.mean((b < a.min()) | (b > a.max()))
    assert out["share_outside_reference_range"] == outside


def test_share_outside_counts_values_equal_to_min_and_max_as_inside():
    a = np.array([1.0, 2.0, 3.0])
    out = numeric.describe(NumericReference.fit(a, 10), np.array([0.0, 1.0, 3.0, 3.5]))
    assert out["share_outside_reference_range"] == 0.5


@pytest.mark.parametrize(
    ("n", "m"), [(1, 1), (1, 7), (7, 1), (5, 3), (300, 300), (1000, 999), (999, 1000), (64, 48)]
)
def test_wasserstein_quantile_form_equals_scipys_cdf_form(n, m):
    for a, b in (
        (rng.normal(size=n), rng.normal(0.3, 2, size=m)),
        (rng.integers(-3, 3, n).astype(float), rng.integers(-2, 4, m).astype(float)),  # ties
        (np.round(rng.lognormal(size=n), 1), np.round(rng.lognormal(0.2, 1, size=m), 1)),
    ):
        a, b = np.sort(a), np.sort(b)
        want = sps.wasserstein_distance(a, b)
        assert numeric.wasserstein(a, b) == pytest.approx(want, rel=1e-12, abs=1e-300)
        assert numeric.wasserstein(b, a) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_wasserstein_integer_index_branch_gives_the_same_number(monkeypatch):
    a, b = np.sort(rng.normal(size=1000)), np.sort(rng.normal(0.1, 1, size=777))
    fast = numeric.wasserstein(a, b)
    monkeypatch.setattr(numeric, "EXACT_FLOAT_PRODUCT", 0)  # as if n*m were beyond 2**52
    assert numeric.wasserstein(a, b) == fast


@pytest.mark.parametrize("values", [rng.normal(10, 3, 1001), np.full(5, 2.5), np.array([1e300])])
def test_mean_std_is_numpys_bit_for_bit(values):
    values = np.sort(values)
    assert numeric.mean_std(values) == (values.mean(), values.std())
