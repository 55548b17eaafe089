"""`performance.versions`: champion vs challenger, numbers pinned to statsmodels and scikit-learn.

McNemar's test to `statsmodels.stats.contingency_tables.mcnemar` (exact below 25 discordant
pairs, chi-square with continuity correction above), the unpaired accuracy test to
`statsmodels.stats.proportion.proportions_ztest`, point metrics to scikit-learn, and the
bootstrap interval to a plain re-implementation with the same draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportions_ztest

from monitor.performance.versions import (
    VersionRows,
    compare_versions,
    mcnemar,
    pair_index,
    two_proportion_z,
)


def obj(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def rows(version: str, ids, y, pred, proba=None, classes=None) -> VersionRows:
    return VersionRows(
        version, tuple(ids), obj(y), obj(pred), proba, classes, predictions=len(ids) + 5
    )


def table(ca: np.ndarray, cb: np.ndarray) -> list[list[int]]:
    return [
        [int((ca & cb).sum()), int((ca & ~cb).sum())],
        [int((~ca & cb).sum()), int((~ca & ~cb).sum())],
    ]


def binary_case(n: int, acc_a: float, acc_b: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pa = np.where(rng.random(n) < acc_a, y, 1 - y)
    pb = np.where(rng.random(n) < acc_b, y, 1 - y)
    return y, pa, pb


@pytest.mark.parametrize(("n", "exact"), [(30, True), (400, False)])
def test_paired_mcnemar_matches_statsmodels(n: int, exact: bool) -> None:
    y, pa, pb = binary_case(n, 0.8, 0.88)
    ids = [f"e{i}" for i in range(n)]
    got = compare_versions(rows("3", ids, y, pa), rows("4", ids[::-1], y[::-1], pb[::-1]))
    assert got.design == "paired" and got.pairs == n and got.task == "classification"
    ca, cb = pa == y, pb == y
    want = sm_mcnemar(table(ca, cb), exact=exact, correction=True)
    assert got.test is not None
    assert got.test.name == ("mcnemar_exact" if exact else "mcnemar_chi2")
    assert got.test.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert got.test.p_value == pytest.approx(want.pvalue, rel=1e-12)
    b, c = table(ca, cb)[0][1], table(ca, cb)[1][0]
    assert got.test.discordant == (b, c) and (b + c < 25) == exact
    acc, f1 = got.metrics
    assert acc.metric == "accuracy" and f1.metric == "f1"
    assert acc.a == pytest.approx(accuracy_score(y, pa), rel=1e-12)
    assert acc.b == pytest.approx(accuracy_score(y, pb), rel=1e-12)
    assert f1.a == pytest.approx(f1_score(y, pa), rel=1e-12)
    assert f1.diff == pytest.approx(f1_score(y, pb) - f1_score(y, pa), rel=1e-12)
    assert got.predictions == (n + 5, n + 5)


def test_mcnemar_edges_match_statsmodels() -> None:
    for b, c in [(0, 0), (0, 3), (12, 12), (24, 0), (13, 12), (40, 10)]:
        ca = np.array([True] * b + [False] * c + [True] * 5)
        cb = np.array([False] * b + [True] * c + [True] * 5)
        want = sm_mcnemar(table(ca, cb), exact=b + c < 25, correction=True)
        got = mcnemar(ca, cb)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-12), (b, c)
        assert got.statistic == pytest.approx(want.statistic, rel=1e-12), (b, c)


def test_paired_bootstrap_interval_matches_a_plain_bootstrap() -> None:
    # the counts of each distinct pair outcome are drawn at once (multinomial): the same
    # distribution as drawing pairs by index, which a plain bootstrap here does
    y, pa, pb = binary_case(200, 0.75, 0.85, seed=3)
    ids = [f"e{i}" for i in range(200)]
    got = compare_versions(rows("a", ids, y, pa), rows("b", ids, y, pb), resamples=4000)
    idx = np.random.default_rng(99).integers(0, 200, size=(20000, 200))
    ca, cb = (pa == y).astype(float), (pb == y).astype(float)
    draws = cb[idx].mean(axis=1) - ca[idx].mean(axis=1)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    acc = got.metrics[0]
    assert acc.low == pytest.approx(lo, abs=0.006) and acc.high == pytest.approx(hi, abs=0.006)
    assert acc.low is not None and acc.high is not None and acc.low <= acc.diff <= acc.high
    again = compare_versions(rows("a", ids, y, pa), rows("b", ids, y, pb), resamples=4000)
    assert again == got  # a fixed seed: one window, one answer


def test_unpaired_two_proportion_test_matches_statsmodels() -> None:
    ya, pa, _ = binary_case(300, 0.8, 0.8, seed=1)
    yb, _, pb = binary_case(250, 0.9, 0.9, seed=2)
    got = compare_versions(
        rows("3", [f"a{i}" for i in range(300)], ya, pa),
        rows("4", [f"b{i}" for i in range(250)], yb, pb),
    )
    assert got.design == "unpaired" and got.pairs == 0
    right = [int((pa == ya).sum()), int((pb == yb).sum())]
    z, p = proportions_ztest(right, [300, 250])
    assert got.test is not None and got.test.name == "two_proportion_z"
    assert got.test.statistic == pytest.approx(z, rel=1e-12)
    assert got.test.p_value == pytest.approx(p, rel=1e-12)
    acc = got.metrics[0]
    assert acc.diff == pytest.approx(right[1] / 250 - right[0] / 300, rel=1e-12)
    assert acc.low is not None and acc.high is not None and acc.low < acc.diff < acc.high
    assert two_proportion_z(10, 10, 5, 5).p_value is None  # no variance: no p-value


def test_regression_bootstrap_and_forced_unpaired() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(size=150)
    shared = rng.normal(0, 1.0, 150)  # errors the two versions share: pairing cancels them
    pa, pb = y + shared + rng.normal(0, 0.2, 150), y + 0.6 * shared + rng.normal(0, 0.2, 150)
    ids = [f"e{i}" for i in range(150)]
    paired = compare_versions(rows("1", ids, y, pa), rows("2", ids, y, pb))
    assert paired.task == "regression" and paired.test is None and paired.design == "paired"
    mae, rmse = paired.metrics
    assert mae.a == pytest.approx(mean_absolute_error(y, pa), rel=1e-12)
    assert rmse.b == pytest.approx(np.sqrt(mean_squared_error(y, pb)), rel=1e-12)
    assert mae.high is not None and mae.high < 0  # B clearly better
    idx = np.random.default_rng(99).integers(0, 150, size=(20000, 150))
    ea, eb = np.abs(pa - y), np.abs(pb - y)
    lo, hi = np.quantile(eb[idx].mean(axis=1) - ea[idx].mean(axis=1), [0.025, 0.975])
    assert (mae.low, mae.high) == (pytest.approx(lo, abs=0.01), pytest.approx(hi, abs=0.01))
    forced = compare_versions(rows("1", ids, y, pa), rows("2", ids, y, pb), design="unpaired")
    assert forced.design == "unpaired" and forced.metrics[0].diff == mae.diff
    width = forced.metrics[0].high - forced.metrics[0].low  # type: ignore[operator]
    assert width > mae.high - mae.low  # type: ignore[operator]  # pairing removes noise


def test_classes_from_probabilities_and_string_labels() -> None:
    # A gives classes, B only probabilities: p >= 0.5 is the positive class ("yes").
    y = ["yes", "no", "yes", "no", "yes", "no"]
    a = rows("a", list("abcdef"), y, ["yes", "yes", "yes", "no", "no", "no"])
    pb = np.array([0.9, 0.2, 0.6, 0.7, 0.5, 0.1])
    b = rows("b", list("abcdef"), y, [None] * 6, proba=pb)
    got = compare_versions(a, b, resamples=0)
    acc = got.metrics[0]
    assert (acc.a, acc.b) == (pytest.approx(4 / 6), pytest.approx(5 / 6))
    assert acc.low is None and got.test is not None and got.test.discordant == (1, 2)


def test_pairs_partial_overlap_and_empty_side() -> None:
    ia, ib = pair_index(obj(["x", "y", "z", "y"]), obj(["q", "z", "y"]))
    assert ia.tolist() == [1, 2] and ib.tolist() == [2, 1]
    empty = rows("4", [], [], [])
    got = compare_versions(rows("3", ["a"], [1], [1]), empty)
    assert got.reason == "no labelled rows of version 4" and got.metrics == ()
    assert got.to_dict()["test"] is None and got.to_dict()["rows_b"] == 0
