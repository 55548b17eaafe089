"""Holm and Benjamini–Hochberg pinned to statsmodels and to a hand computation."""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_wine
from statsmodels.stats.multitest import multipletests

from monitor.drift.correction import adjust, correct, per_window_alpha
from monitor.errors import DriftError


def _real_p_values():
    """KS p-values of wine's 13 features: class 0 vs the rest (some tiny, some large)."""
    wine = load_wine(as_frame=True).frame
    a, b = wine[wine.target == 0], wine[wine.target != 0]
    return np.array([stats.ks_2samp(a[c], b[c]).pvalue for c in wine.columns[:-1]])


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_pinned_to_statsmodels(ours, theirs, alpha):
    p = np.concatenate((_real_p_values(), [0.2, 0.2, 0.04, 1.0]))  # with ties
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=theirs)
    assert adjust(p, ours) == pytest.approx(adjusted, rel=1e-12, abs=0)
    names = [f"f{i}" for i in range(p.size)]
    got = correct(dict(zip(names, p, strict=True)), ours, alpha)
    assert got.rejected == tuple(n for n, r in zip(names, reject, strict=True) if r)


def test_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 -> 4·0.005, 3·0.01, 2·0.03, max(…, 1·0.04)
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: n·p/rank = 0.02, 0.02, 0.04, 0.04, then running minimum from the top
    assert adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert correct({"a": 0.01, "b": 0.04}, "none", 0.02).rejected == ("a",)


def test_nan_is_left_out_of_the_family():
    got = correct({"a": 0.01, "b": math.nan, "c": None, "d": 0.02}, "holm", 0.05)
    assert got.adjusted["a"] == pytest.approx(0.02)  # family of 2, not 4
    assert math.isnan(got.adjusted["b"]) and got.rejected == ("a", "d")


def test_bad_input():
    with pytest.raises(DriftError, match="unknown correction"):
        adjust(np.array([0.1]), "bonferroni")
    with pytest.raises(DriftError, match=r"\[0, 1\]"):
        adjust(np.array([1.5]), "bh")
    with pytest.raises(DriftError, match="alpha"):
        correct({"a": 0.1}, "bh", 0)
    assert per_window_alpha(1, 720) == pytest.approx(1 / 720)
    with pytest.raises(DriftError):
        per_window_alpha(0, 720)
