"""Categorical statistics over the union of categories, pinned to scipy on the raw values."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from monitor.drift import categorical, count_stats
from monitor.drift.categorical import MAX_LISTED, CategoricalReference, categorical_stats, factorize

ALL = frozenset({"chisquare", "z", "psi", "jensenshannon", "hellinger", "kl", "tvd"})


def table(ref, cur):
    """The 2×K table of non-missing values over the union of categories, built independently."""
    r = pd.Series(ref).dropna().value_counts()
    c = pd.Series(cur).dropna().value_counts()
    union = r.index.union(c.index)
    return r.reindex(union, fill_value=0).to_numpy(), c.reindex(union, fill_value=0).to_numpy()


def run(ref, cur, wanted=ALL):
    fitted, _ = CategoricalReference.fit(pd.Series(ref, dtype=object))
    return categorical_stats(fitted, pd.Series(cur, dtype=object), wanted)


def test_statistics_match_scipy_on_the_union_table():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + ["gone"] * 5
    cur = ["a"] * 40 + ["b"] * 40 + ["c"] * 10 + ["new"] * 7
    stats, missing, n_cur, k = run(ref, cur)
    r, c = table(ref, cur)
    res = sps.chi2_contingency(np.vstack([r, c]), correction=False)
    assert stats["chisquare"]["statistic"] == pytest.approx(res.statistic, rel=1e-12)
    assert stats["chisquare"]["p_value"] == pytest.approx(res.pvalue, rel=1e-9)
    rp, cp = np.maximum(r / r.sum(), 1e-4), np.maximum(c / c.sum(), 1e-4)
    assert stats["jensenshannon"] == pytest.approx(
        distance.jensenshannon(rp, cp, base=2), rel=1e-12
    )
    assert stats["tvd"] == pytest.approx(0.5 * np.abs(r / r.sum() - c / c.sum()).sum(), rel=1e-12)
    assert (missing, n_cur, k) == (0, 97, 5)
    assert "z" not in stats  # more than two categories


def test_new_and_vanished_categories_by_name_with_their_shares():
    ref = ["a"] * 8 + ["gone"] * 2
    cur = ["a"] * 5 + ["new"] * 3 + ["new2"] * 2
    stats, *_ = run(ref, cur)
    assert stats["new_categories"] == {"new": 0.3, "new2": 0.2}
    assert stats["vanished_categories"] == {"gone": 0.2}
    assert (stats["new_category_count"], stats["vanished_category_count"]) == (2, 1)


def test_unicode_category_names():
    ref = ["café", "日本", "😀", "café"]
    cur = ["café", "Ω", "日本"]
    stats, *_ = run(ref, cur)
    assert stats["new_categories"] == {"Ω": pytest.approx(1 / 3)}
    assert stats["vanished_categories"] == {"😀": 0.25}
    r, c = table(ref, cur)
    assert stats["psi"] == pytest.approx(count_stats.psi(r, c), rel=1e-12)


def test_missing_values_are_excluded_and_counted():
    counts, cats, missing = factorize(pd.Series(["a", None, np.nan, pd.NA, "b", "a"], dtype=object))
    assert dict(zip(cats, counts, strict=True)) == {"a": 2, "b": 1}
    assert missing == 3


def test_infinite_floats_are_missing():
    counts, cats, missing = factorize(pd.Series([1.0, np.inf, -np.inf, np.nan, 2.0, 1.0]))
    assert dict(zip(cats, counts, strict=True)) == {1.0: 2, 2.0: 1}
    assert missing == 3


def test_binary_features_get_the_z_test():
    ref = [True] * 30 + [False] * 70
    cur = [True] * 45 + [False] * 55
    stats, *_ = run(ref, cur)
    r, c = table(ref, cur)
    z, p = count_stats.z_two_proportion(r, c)
    assert abs(stats["z"]["statistic"]) == pytest.approx(abs(z))
    assert stats["z"]["p_value"] == pytest.approx(p, rel=1e-12)
    res = sps.chi2_contingency(np.vstack([r, c]), correction=False)
    assert stats["z"]["p_value"] == pytest.approx(res.pvalue, rel=1e-9)


def test_pandas_categorical_with_unused_categories():
    ref = pd.Series(pd.Categorical(["x", "y", "x"], categories=["x", "y", "never"]))
    fitted, missing = CategoricalReference.fit(ref)
    assert list(fitted.categories) == ["x", "y"] and missing == 0
    stats, *_ = categorical_stats(fitted, pd.Series(["x", "x", "y"]), ALL)
    assert stats["vanished_categories"] == {}


def test_all_missing_current_gives_no_statistics():
    stats, missing, n_cur, _ = run(["a", "b"], [None, None, None])
    assert stats == {} and missing == 3 and n_cur == 0


def test_listing_is_capped_largest_first():
    cur = [f"n{i}" for i in range(MAX_LISTED + 20) for _ in range(1 + (i == 7))]
    stats, *_ = run(["a"], cur)
    assert len(stats["new_categories"]) == MAX_LISTED
    assert next(iter(stats["new_categories"])) == "n7"
    assert stats["new_category_count"] == MAX_LISTED + 20


def test_integer_categories_keep_their_names_when_a_nan_makes_them_floats():
    fitted, _ = CategoricalReference.fit(pd.Series([0, 1, 2, 1]))
    stats, missing, *_ = categorical_stats(fitted, pd.Series([0.0, 1.0, np.nan, 5.0]), ALL)
    assert stats["new_categories"] == {"5": pytest.approx(1 / 3)}
    assert stats["vanished_categories"] == {"2": 0.25}
    assert missing == 1


def _by_value(values):
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    return counts[1:].tolist(), list(uniques), int(counts[0])


@pytest.mark.parametrize(
    "values",
    [
        # shared objects (as readers produce them), missing of every kind, equal numbers
        np.array(["a", "b", None, np.nan, "c", 1, 1.0, True, pd.NA, "aaa"], dtype=object)[
            np.random.default_rng(3).integers(0, 10, 20_000)
        ],
        # equal strings held by distinct objects are one category
        np.array(["".join(["x", str(i % 3)]) for i in range(20_000)], dtype=object),
        # mostly distinct objects: the general path
        np.array([f"id{i}" for i in range(20_000)], dtype=object),
        # a strided view (not contiguous): read through a contiguous copy
        np.array(["u", "v", None, "w"] * 10_000, dtype=object)[::3],
    ],
)
def test_object_columns_counted_by_identity_equal_pandas_factorize(values):
    assert len(values) >= categorical.OBJECT_SHORTCUT_MIN
    counts, cats, missing = factorize(values)
    assert (counts.tolist(), list(cats), missing) == _by_value(values)
    counts, cats, missing = factorize(pd.Series(values, dtype=object))
    assert (counts.tolist(), list(cats), missing) == _by_value(values)
