"""Reference-quantile bins: edges are numpy's quantiles, bins are right-closed."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.drift.binning import (
    bin_counts,
    bin_counts_sorted,
    quantile_edges,
    sorted_quantile_edges,
    sorted_quantiles,
)
from monitor.errors import DriftError

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def test_edges_are_numpy_quantiles_at_k_over_bins():
    values = np.random.default_rng(0).lognormal(size=1001)
    expected = np.quantile(values, np.arange(1, 10) / 10)
    assert np.array_equal(quantile_edges(values, 10), expected)


def test_duplicate_edges_are_merged():
    values = np.array([0.0] * 70 + [1.0, 2.0, 3.0] * 10)
    edges = quantile_edges(values, 10)
    assert np.array_equal(edges, np.unique(np.quantile(values, np.arange(1, 10) / 10)))
    assert edges[0] == 0.0 and np.all(np.diff(edges) > 0)


def test_constant_reference_has_one_edge():
    assert np.array_equal(quantile_edges(np.full(5, 3.5), 10), [3.5])


@pytest.mark.parametrize("bins", [0, 1])
def test_fewer_than_two_bins_is_an_error(bins):
    with pytest.raises(DriftError, match="bins"):
        quantile_edges(np.arange(5.0), bins)


def test_empty_reference_is_an_error():
    with pytest.raises(DriftError, match="empty"):
        quantile_edges(np.array([]), 10)


def test_bins_are_right_closed_like_pandas_cut():
    edges = np.array([1.0, 2.0, 3.0])
    values = np.array([-5.0, 1.0, 1.5, 2.0, 2.0, 3.0, 3.0001, 99.0])
    cut = pd.cut(values, [-np.inf, *edges, np.inf], right=True)
    expected = pd.Series(cut).value_counts(sort=False).to_numpy()
    assert np.array_equal(bin_counts(values, edges), expected)
    assert bin_counts(values, edges).tolist() == [2, 3, 1, 2]  # 2.0 and 3.0 close their bins


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.lists(finite, max_size=60), st.integers(2, 12))
def test_sorted_counts_equal_unsorted_counts(ref, cur, bins):
    edges = quantile_edges(np.array(ref), bins)
    cur = np.array(cur, dtype=np.float64)
    counts = bin_counts(cur, edges)
    assert counts.dtype == np.int64 and counts.size == edges.size + 1
    assert counts.sum() == cur.size
    assert np.array_equal(bin_counts_sorted(np.sort(cur), edges), counts)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(finite, min_size=1, max_size=80), st.lists(st.floats(0, 1), min_size=1, max_size=12)
)
def test_sorted_quantiles_are_numpys_bit_for_bit(values, qs):
    values = np.sort(np.array(values))
    qs = np.array(qs)
    assert np.array_equal(sorted_quantiles(values, qs), np.quantile(values, qs))


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=1, max_size=80), st.integers(2, 30))
def test_sorted_quantile_edges_equal_quantile_edges(values, bins):
    values = np.array(values)
    assert np.array_equal(
        sorted_quantile_edges(np.sort(values), bins), quantile_edges(values, bins)
    )
