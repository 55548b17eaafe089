"""Sketch specs, building, exact merging and the byte format."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monitor.drift.sketch import (
    CategoricalSketch,
    categorical_spec,
    fit_numeric,
    from_bytes,
    merge,
    merge_all,
    numeric_spec,
    sketch,
    spec_from_dict,
    to_bytes,
)
from monitor.errors import DriftError

# values with ties (a small pool), NaN and ±inf mixed in
_pool = st.sampled_from([-3.5, -1.0, 0.0, 0.0, 0.25, 2.0, 7.75, 1e6])
_value = st.one_of(
    _pool,
    st.floats(-1e6, 1e6, allow_nan=False),
    st.just(np.nan),
    st.sampled_from([np.inf, -np.inf]),
)
_values = hnp.arrays(np.float64, st.integers(0, 120), elements=_value)
_reference = hnp.arrays(
    np.float64, st.integers(1, 120), elements=st.one_of(_pool, st.floats(-1e3, 1e3))
)
_categories = st.lists(
    st.one_of(st.sampled_from(["a", "b", "é", "日本", "c"]), st.none()), max_size=80
)


def _assert_same(a, b):
    assert type(a) is type(b) and a.spec_id == b.spec_id
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.missing == b.missing
    if not isinstance(a, CategoricalSketch):
        assert a.infinite == b.infinite and a.min == b.min and a.max == b.max
        assert a.sum == pytest.approx(b.sum, rel=1e-12, abs=1e-6)
        assert a.sumsq == pytest.approx(b.sumsq, rel=1e-12, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(_reference, _values, _values, st.integers(2, 40))
def test_merge_of_numeric_sketches_equals_the_sketch_of_the_union(ref, a, b, fine):
    spec = numeric_spec(ref, fine_bins=fine)
    _assert_same(merge(sketch(spec, a), sketch(spec, b)), sketch(spec, np.concatenate((a, b))))


@settings(max_examples=100, deadline=None)
@given(_categories.filter(lambda v: any(x is not None for x in v)), _categories, _categories)
def test_merge_of_categorical_sketches_equals_the_sketch_of_the_union(ref, a, b):
    spec = categorical_spec(ref, top_k=2)
    _assert_same(merge(sketch(spec, a), sketch(spec, b)), sketch(spec, a + b))


@settings(max_examples=60, deadline=None)
@given(_reference, st.lists(_values, min_size=1, max_size=6))
def test_merge_is_associative_and_order_free(ref, batches):
    spec = numeric_spec(ref, fine_bins=8)
    parts = [sketch(spec, b) for b in batches]
    _assert_same(merge_all(parts), merge_all(parts[::-1]))
    _assert_same(merge_all(parts), sketch(spec, np.concatenate(batches)))


@settings(max_examples=100, deadline=None)
@given(_reference, _values, st.booleans())
def test_bytes_round_trip(ref, values, compress):
    spec = numeric_spec(ref, fine_bins=30)
    s = sketch(spec, values)
    _assert_same(from_bytes(to_bytes(s, compress=compress)), s)


def test_counts_follow_the_definition_on_raw_data():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=5_000)
    cur = np.concatenate((rng.normal(0.3, 1.5, size=3_000), [np.nan, np.inf, -np.inf, np.nan]))
    spec = numeric_spec(ref, fine_bins=100)
    s = sketch(spec, cur)
    finite = cur[np.isfinite(cur)]
    deciles = np.unique(np.quantile(ref, np.arange(1, 10) / 10))  # numpy linear quantiles
    assert set(deciles) <= set(spec.edges)  # the fine grid refines the decile grid
    assert s.count == finite.size and s.missing == 2 and s.infinite == 2
    assert s.counts[0] == np.sum(finite < ref.min())  # underflow: below the reference range
    assert s.counts[-1] == np.sum(finite > ref.max())  # overflow: above it
    # right-closed bins: the count up to each edge is the number of values <= that edge
    np.testing.assert_array_equal(
        np.cumsum(s.counts)[:-1], [np.sum(finite <= e) for e in spec.edges]
    )
    assert s.min == finite.min() and s.max == finite.max()
    assert spec.center + s.sum / s.count == pytest.approx(finite.mean(), rel=1e-12)


def test_categorical_spec_keeps_the_top_k_and_an_other_bucket():
    ref = ["b"] * 5 + ["a"] * 5 + ["日本"] * 3 + ["z"] + [None] * 2
    spec = categorical_spec(ref, top_k=3)
    assert spec.categories == ("a", "b", "日本")  # by count, ties by name
    s = sketch(spec, pd.Series(["a", "z", "q", None, "日本", np.nan]))
    assert s.counts.tolist() == [1, 0, 1, 2] and s.missing == 2


def test_float_infinities_are_missing_in_categorical_columns_like_the_engine():
    spec = categorical_spec(pd.Series([1.0, 2.0, 2.0]))
    s = sketch(spec, pd.Series([1.0, np.inf, np.nan, 2.0]))
    assert s.count == 2 and s.missing == 2


def test_spec_round_trips_through_json_with_the_same_identity():
    spec = numeric_spec(np.random.default_rng(2).lognormal(size=1_000), fine_bins=50)
    again = spec_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again.spec_id == spec.spec_id
    np.testing.assert_array_equal(again.edges, spec.edges)
    cat = categorical_spec(["x", "ÿ"])
    assert spec_from_dict(json.loads(json.dumps(cat.to_dict()))).spec_id == cat.spec_id


def test_bad_inputs_are_clear_errors():
    spec = numeric_spec([1.0, 2.0, 3.0])
    other = numeric_spec([1.0, 2.0, 4.0])
    with pytest.raises(DriftError, match="different specs"):
        merge(sketch(spec, [1.0]), sketch(other, [1.0]))
    with pytest.raises(DriftError, match="no values"):
        numeric_spec([np.nan, np.inf])
    with pytest.raises(DriftError, match="not a sketch"):
        from_bytes(b"hello")
    blob = to_bytes(sketch(spec, [1.0, 2.0]))
    with pytest.raises(DriftError, match="corrupt"):
        from_bytes(blob[:-3])
    with pytest.raises(DriftError, match="invalid sketch spec"):
        spec_from_dict({"kind": "numeric"})


def test_minute_bucket_sketches_are_small():
    rng = np.random.default_rng(3)
    spec = numeric_spec(rng.normal(size=100_000))  # default: 1000 fine bins
    blob = to_bytes(sketch(spec, rng.normal(size=1_000)))
    assert len(blob) < 1_000  # 1,000 events spread over ~1,000 bins, zlib-packed
    assert len(to_bytes(sketch(spec, rng.normal(size=20)))) < 150


def test_non_numeric_values_in_a_numeric_batch_name_the_column():
    from monitor.drift.sketch_report import sketch_frame

    specs = {"price": numeric_spec([1.0, 2.0])}
    with pytest.raises(DriftError, match="column 'price': a numeric sketch got non-numeric"):
        sketch_frame(specs, pd.DataFrame({"price": ["1.5", "cheap"]}))


@settings(max_examples=100, deadline=None)
@given(_values.filter(lambda v: np.isfinite(v).any()), st.integers(2, 40))
def test_the_reference_sketch_from_sorted_values_equals_the_plain_one(ref, fine):
    spec, own = fit_numeric(ref, fine_bins=fine)
    _assert_same(own, sketch(spec, ref))
