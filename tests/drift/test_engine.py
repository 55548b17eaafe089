"""The engine on raw frames: statistics equal scipy's on the non-missing values, verdicts."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance

from monitor.drift import engine
from monitor.drift.engine import compare
from monitor.drift.numeric import KS_ASYMPTOTIC, KS_EXACT
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.errors import DriftError, InputError

rng = np.random.default_rng(11)
EXACT = {"p_value_method": KS_EXACT}
ASYMPTOTIC = {"p_value_method": KS_ASYMPTOTIC}


def clean(values):
    x = pd.Series(values, dtype=object).to_numpy(dtype=float, na_value=np.nan)
    return x[np.isfinite(x)]


def test_numeric_statistics_equal_scipy_on_values_left_after_missing_are_dropped():
    ref = [*rng.normal(size=300), np.nan, None, np.inf, -np.inf]
    cur = [*rng.normal(0.4, 1, size=200), *([None] * 10), np.inf]
    rep = compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}))
    f = rep.feature("x")
    a, b = clean(ref), clean(cur)
    ks = sps.ks_2samp(a, b)
    assert f.stats["ks"] == {"statistic": ks.statistic, "p_value": ks.pvalue, **EXACT}
    assert f.stats["wasserstein_normed"] == pytest.approx(
        sps.wasserstein_distance(a, b) / np.std(a), rel=1e-9
    )
    assert f.missing_share_reference == 4 / 304
    assert f.missing_share_current == 11 / 211
    assert f.quality["inf_count_reference"] == 2 and f.quality["inf_count_current"] == 1
    assert (f.method, f.statistic, f.p_value) == ("ks", ks.statistic, ks.pvalue)
    assert f.drifted == (ks.pvalue < 0.05)


def test_categorical_statistics_equal_scipy():
    ref = rng.choice(["a", "b", "c"], 400).tolist() + [None] * 4
    cur = rng.choice(["a", "b", "d"], 300, p=[0.5, 0.3, 0.2]).tolist()
    f = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur})).feature("c")
    r = pd.Series(ref).value_counts()
    c = pd.Series(cur).value_counts()
    union = r.index.union(c.index)
    table = np.vstack([r.reindex(union, fill_value=0), c.reindex(union, fill_value=0)])
    res = sps.chi2_contingency(table, correction=False)
    assert f.kind == "categorical" and f.method == "chisquare"
    assert f.statistic == pytest.approx(res.statistic, rel=1e-12)
    assert f.p_value == pytest.approx(res.pvalue, rel=1e-9)
    p, q = (np.maximum(t / t.sum(), 1e-4) for t in table)
    assert f.stats["jensenshannon"] == pytest.approx(distance.jensenshannon(p, q, base=2))
    assert f.missing_share_reference == 4 / 404
    assert set(f.stats["new_categories"]) == {"d"} and set(f.stats["vanished_categories"]) == {"c"}


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "numeric", "categorical"),
    [
        (1000, 5000, "ks", "chisquare"),
        (5000, 1000, "ks", "chisquare"),
        (1001, 1001, "wasserstein_normed", "jensenshannon"),
    ],
)
def test_default_method_depends_on_the_smaller_window(n_ref, n_cur, numeric, categorical):
    ref = pd.DataFrame({"x": rng.normal(size=n_ref), "c": rng.choice(list("abc"), n_ref)})
    cur = pd.DataFrame({"x": rng.normal(size=n_cur), "c": rng.choice(list("abc"), n_cur)})
    rep = compare(ref, cur)
    assert rep.feature("x").method == numeric
    assert rep.feature("c").method == categorical


def test_small_binary_features_default_to_the_z_test():
    ref = pd.DataFrame({"b": rng.random(200) < 0.3})
    cur = pd.DataFrame({"b": rng.random(200) < 0.5})
    f = compare(ref, cur).feature("b")
    assert f.method == "z" and f.p_value == f.stats["z"]["p_value"]


def test_large_samples_do_not_flag_a_trivial_shift_that_ks_would():
    n = 200_000
    ref = pd.DataFrame({"x": rng.normal(size=n)})
    cur = pd.DataFrame({"x": rng.normal(0.02, 1, size=n)})
    f = compare(ref, cur, DriftOptions(extra=("ks",))).feature("x")
    assert f.stats["ks"]["p_value"] < 0.05  # a p-value test calls this drift ...
    assert f.method == "wasserstein_normed" and not f.drifted  # ... the default does not
    ks = sps.ks_2samp(ref.x, cur.x)
    assert f.stats["ks"] == {"statistic": ks.statistic, "p_value": ks.pvalue, **ASYMPTOTIC}


def test_ks_is_computed_when_it_decides_the_verdict_or_is_asked_for():
    ref = pd.DataFrame({"x": rng.normal(size=1001)})
    cur = pd.DataFrame({"x": rng.normal(size=1001)})
    assert "ks" not in compare(ref, cur).feature("x").stats  # the verdict uses Wasserstein
    asked = compare(ref, cur, DriftOptions(extra=("ks",))).feature("x")
    ks = sps.ks_2samp(ref.x, cur.x)
    assert asked.stats["ks"] == {"statistic": ks.statistic, "p_value": ks.pvalue, **EXACT}
    assert asked.method == "wasserstein_normed"
    chosen = compare(ref, cur, DriftOptions(method="ks")).feature("x")
    assert (chosen.statistic, chosen.p_value) == (ks.statistic, ks.pvalue)
    small = compare(ref.iloc[:1000], cur).feature("x")  # 1,000 rows: KS decides
    assert small.method == "ks" and small.p_value == sps.ks_2samp(ref.x[:1000], cur.x).pvalue


def test_global_method_applies_to_kinds_it_accepts_only():
    ref = pd.DataFrame({"x": rng.normal(size=50), "c": rng.choice(list("ab"), 50)})
    cur = pd.DataFrame({"x": rng.normal(size=50), "c": rng.choice(list("ab"), 50)})
    rep = compare(ref, cur, DriftOptions(method="wasserstein_normed", threshold=0.5))
    assert rep.feature("x").method == "wasserstein_normed"
    assert rep.feature("x").threshold == 0.5
    assert rep.feature("c").method == "z" and rep.feature("c").threshold == 0.05


def test_per_feature_overrides_win():
    ref = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    cur = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    opts = DriftOptions(method="psi", per_feature={"y": FeatureOptions(method="ks", threshold=0.9)})
    rep = compare(ref, cur, opts)
    assert (rep.feature("x").method, rep.feature("x").threshold) == ("psi", 0.1)
    assert (rep.feature("y").method, rep.feature("y").threshold) == ("ks", 0.9)
    assert rep.feature("y").drifted == (rep.feature("y").p_value < 0.9)


def test_per_feature_method_of_the_wrong_kind_is_an_error():
    ref = pd.DataFrame({"c": list("abab")})
    with pytest.raises(DriftError, match="does not apply to categorical"):
        compare(ref, ref, DriftOptions(per_feature={"c": FeatureOptions(method="ks")}))


def test_kind_override_treats_low_cardinality_ints_as_numeric():
    ref = pd.DataFrame({"i": rng.integers(0, 3, 100)})
    assert compare(ref, ref).feature("i").kind == "categorical"
    opts = DriftOptions(per_feature={"i": FeatureOptions(kind="numeric")})
    assert compare(ref, ref, opts).feature("i").kind == "numeric"


def test_ignore_and_columns_select_features():
    ref = pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0], "z": [1.0, 2.0]})
    rep = compare(ref, ref, DriftOptions(ignore=("y",)))
    assert [f.name for f in rep.features] == ["x", "z"]
    rep = compare(ref, ref.drop(columns="y"), columns=["z"])
    assert [f.name for f in rep.features] == ["z"]


def test_dataset_drift_when_share_reaches_the_threshold():
    ref = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    cur = pd.DataFrame({"x": rng.normal(3, 1, size=300), "y": rng.normal(size=300)})
    rep = compare(ref, cur)
    assert rep.feature("x").drifted and not rep.feature("y").drifted
    assert rep.drift_share == 0.5 and rep.dataset_drift  # 0.5 >= 0.5
    assert not compare(ref, cur, DriftOptions(drift_share=0.6)).dataset_drift


def test_all_missing_column_reports_missing_share_and_no_verdict():
    ref = pd.DataFrame({"x": [np.nan] * 5, "c": [None] * 5})
    cur = pd.DataFrame({"x": [1.0, 2.0, np.nan], "c": ["a", None, "b"]})
    rep = compare(ref, cur)
    for name in ("x", "c"):
        f = rep.feature(name)
        assert math.isnan(f.statistic) and not f.drifted
        assert f.missing_share_reference == 1.0
        assert "no non-missing values in the reference" in f.quality["error"]
        assert f.to_dict()["statistic"] is None
    assert rep.feature("x").missing_share_current == pytest.approx(1 / 3)


def test_constant_reference_that_moves_is_infinite_drift_and_json_safe():
    ref = pd.DataFrame({"x": [5.5] * 2000})
    cur = pd.DataFrame({"x": [5.5] * 1999 + [6.25]})
    f = compare(ref, cur).feature("x")
    assert f.method == "wasserstein_normed" and f.statistic == math.inf and f.drifted
    assert f.quality["constant_reference"] is True
    json.dumps(compare(ref, cur).to_dict(), allow_nan=False)
    same = compare(ref, ref).feature("x")
    assert same.statistic == 0.0 and not same.drifted


def test_single_row_windows():
    ref = pd.DataFrame({"x": [1.5], "c": ["a"]})
    cur = pd.DataFrame({"x": [2.5], "c": ["b"]})
    rep = compare(ref, cur)
    ks = sps.ks_2samp([1.5], [2.5])
    assert rep.feature("x").stats["ks"] == {
        "statistic": ks.statistic,
        "p_value": ks.pvalue,
        **EXACT,
    }
    res = sps.chi2_contingency([[1, 0], [0, 1]], correction=False)
    assert rep.feature("c").method == "z"
    assert rep.feature("c").p_value == pytest.approx(res.pvalue, rel=1e-9)


def test_z_method_on_a_non_binary_feature_is_recorded_per_feature():
    ref = pd.DataFrame({"c": list("abcabc")})
    f = compare(ref, ref, DriftOptions(method="z")).feature("c")
    assert math.isnan(f.statistic) and not f.drifted
    assert "z is not defined" in f.quality["error"]


def test_expensive_tests_only_when_asked():
    ref = pd.DataFrame({"x": rng.normal(size=100)})
    cur = pd.DataFrame({"x": rng.normal(size=100)})
    assert "anderson" not in compare(ref, cur).feature("x").stats
    f = compare(ref, cur, DriftOptions(extra=("anderson", "cramer_von_mises"))).feature("x")
    assert f.method == "ks"  # extras are reported, they do not decide
    ad = sps.anderson_ksamp([np.sort(ref.x), np.sort(cur.x)], variant="midrank")
    assert f.stats["anderson"]["statistic"] == ad.statistic
    f = compare(ref, cur, DriftOptions(method="cramer_von_mises")).feature("x")
    assert f.p_value == sps.cramervonmises_2samp(ref.x, cur.x).pvalue


def test_threads_do_not_change_the_report(monkeypatch):
    ref = pd.DataFrame({f"x{i}": rng.normal(size=500) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": rng.normal(0.1 * i, 1, size=500) for i in range(4)})
    one = compare(ref, cur, DriftOptions(workers=1)).to_dict()
    monkeypatch.setattr(engine, "POOL_MIN_VALUES", 0)  # threads even for this small input
    two = compare(ref, cur, DriftOptions(workers=2)).to_dict()
    assert one == two


def test_small_inputs_run_on_the_calling_thread_only(monkeypatch):
    """Below POOL_MIN_VALUES no thread pool is started (threads cost more than the work)."""
    started = []

    class Recording(engine.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(engine, "ThreadPoolExecutor", Recording)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=10_000) for i in range(25)})
    compare(ref, ref, DriftOptions(workers=2))
    assert started == []
    big = pd.DataFrame({f"x{i}": rng.normal(size=40_000) for i in range(25)})
    compare(big, big, DriftOptions(workers=2))
    assert started == [2]


@pytest.mark.parametrize(
    ("ref", "cur", "message"),
    [
        (pd.DataFrame({"x": []}), pd.DataFrame({"x": [1.0]}), "reference data has no rows"),
        (pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": []}), "current data has no rows"),
        (pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}), "columns differ"),
        (pd.DataFrame({"x": [1.0], "y": [2.0]}), pd.DataFrame({"x": [1.0]}), "only in reference"),
    ],
)
def test_bad_inputs_are_input_errors(ref, cur, message):
    with pytest.raises(InputError, match=message):
        compare(ref, cur)


def test_unknown_per_feature_column_and_absent_selected_column():
    df = pd.DataFrame({"x": [1.0]})
    with pytest.raises(InputError, match="per_feature"):
        compare(df, df, DriftOptions(per_feature={"nope": FeatureOptions(threshold=1)}))
    with pytest.raises(InputError, match="not in both"):
        compare(df, df, columns=["x", "nope"])
    with pytest.raises(InputError, match="no columns left"):
        compare(df, df, DriftOptions(ignore=("x",)))


values = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    st.sampled_from([np.nan, np.inf, -np.inf, None, 0.5, 0.5]),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(values, min_size=1, max_size=40), st.lists(values, min_size=1, max_size=40))
def test_numeric_feature_matches_scipy_on_any_mix_of_missing_values(ref, cur):
    options = DriftOptions(per_feature={"x": FeatureOptions(kind="numeric")}, workers=1)
    f = compare(
        pd.DataFrame({"x": ref}, dtype=object), pd.DataFrame({"x": cur}, dtype=object), options
    ).feature("x")
    a, b = clean(ref), clean(cur)
    assert f.missing_share_reference == (len(ref) - a.size) / len(ref)
    assert f.missing_share_current == (len(cur) - b.size) / len(cur)
    if a.size == 0 or b.size == 0:
        assert math.isnan(f.statistic) and not f.drifted and f.stats == {}
        return
    ks = sps.ks_2samp(a, b)
    assert f.stats["ks"] == {"statistic": ks.statistic, "p_value": ks.pvalue, **EXACT}
    w = sps.wasserstein_distance(a, b)
    std = np.std(a)
    if std > 0:
        assert f.stats["wasserstein_normed"] == pytest.approx(w / std, rel=1e-9, abs=1e-12)
    else:
        assert f.stats["wasserstein_normed"] == (0.0 if w == 0 else math.inf)


def test_non_string_column_labels():
    ref = pd.DataFrame({0: rng.normal(size=30), 1: rng.choice(list("ab"), 30)})
    rep = compare(ref, ref.copy(), DriftOptions(per_feature={"1": FeatureOptions(method="tvd")}))
    assert [(f.name, f.method) for f in rep.features] == [("0", "ks"), ("1", "tvd")]
