"""Statistics on count vectors (`count_stats`), pinned to scipy on the same numbers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy import stats as sps
from scipy.spatial import distance

from monitor.drift import count_stats
from monitor.errors import DriftError

FLOOR = 1e-4


def floored(counts):
    p = np.asarray(counts, dtype=float) / np.sum(counts)
    return np.maximum(p, FLOOR)


def raw(counts):
    return np.asarray(counts, dtype=float) / np.sum(counts)


CASES = [
    ([10, 20, 30, 40], [12, 18, 33, 37]),
    ([5, 0, 3], [1, 4, 0]),  # empty bins on either side
    ([100, 0, 0], [0, 0, 100]),  # disjoint supports
    ([1], [7]),  # a single bin
    ([100_000, 3, 0], [99_990, 7, 9]),  # a proportion below the floor but not zero
]


def test_floor_does_not_renormalise():
    p = count_stats.proportions(np.array([0, 10]))
    assert p.tolist() == [FLOOR, 1.0]
    assert p.sum() > 1


def test_no_floor_gives_raw_proportions():
    assert count_stats.proportions(np.array([1, 3]), floor=0.0).tolist() == [0.25, 0.75]


def test_proportions_of_nothing_is_an_error():
    with pytest.raises(DriftError, match="empty"):
        count_stats.proportions(np.zeros(3))


@pytest.mark.parametrize(("r", "c"), CASES)
def test_psi_is_the_symmetric_relative_entropy_of_floored_proportions(r, c):
    rp, cp = floored(r), floored(c)
    expected = np.sum(special.rel_entr(cp, rp) + special.rel_entr(rp, cp))  # Σ (c−r)·ln(c/r)
    assert count_stats.psi(r, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("r", "c"), CASES)
def test_jensenshannon_is_scipys_base_2_on_floored_proportions(r, c):
    expected = distance.jensenshannon(floored(r), floored(c), base=2)
    assert count_stats.jensenshannon(r, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("r", "c"), CASES)
def test_kl_is_scipy_entropy_reference_given_current(r, c):
    expected = sps.entropy(floored(r), floored(c))
    assert count_stats.kl(r, c) == expected  # scipy's arithmetic, bit for bit


@pytest.mark.parametrize(("r", "c"), CASES)
def test_hellinger_uses_raw_proportions(r, c):
    expected = distance.euclidean(np.sqrt(raw(r)), np.sqrt(raw(c))) / math.sqrt(2)
    assert count_stats.hellinger(r, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("r", "c"), CASES)
def test_tvd_is_half_the_l1_distance_of_raw_proportions(r, c):
    expected = 0.5 * distance.cityblock(raw(r), raw(c))
    assert count_stats.tvd(r, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_disjoint_supports_reach_the_maximum_of_bounded_distances():
    assert count_stats.tvd([5, 0], [0, 5]) == 1.0
    assert count_stats.hellinger([5, 0], [0, 5]) == pytest.approx(1.0, rel=1e-15)


def test_chi2_drops_columns_empty_on_both_sides():
    r, c = np.array([5, 0, 3, 9]), np.array([1, 0, 4, 2])
    res = sps.chi2_contingency(np.array([[5, 3, 9], [1, 4, 2]]), correction=False)
    assert count_stats.chi2(r, c) == (res.statistic, res.pvalue)


def test_chi2_of_a_single_category_cannot_differ():
    assert count_stats.chi2([3, 0], [2, 0]) == (0.0, 1.0)


def test_chi2_needs_values_on_both_sides():
    with pytest.raises(DriftError):
        count_stats.chi2([0, 0], [1, 2])


@pytest.mark.parametrize(
    ("r", "c"), [([30, 10], [20, 20]), ([1, 0], [0, 1]), ([7, 993], [12, 988])]
)
def test_z_squared_is_the_2x2_chi_square(r, c):
    z, p = count_stats.z_two_proportion(np.array(r), np.array(c))
    res = sps.chi2_contingency(np.vstack([r, c]), correction=False)
    assert z**2 == pytest.approx(res.statistic, rel=1e-12)
    assert p == pytest.approx(res.pvalue, rel=1e-9)
    assert math.copysign(1, z) == math.copysign(1, r[0] / sum(r) - c[0] / sum(c))


def test_z_with_one_category_everywhere_cannot_differ():
    assert count_stats.z_two_proportion(np.array([4, 0]), np.array([9, 0])) == (0.0, 1.0)


def test_z_needs_exactly_two_categories():
    with pytest.raises(DriftError, match="exactly 2"):
        count_stats.z_two_proportion(np.array([1, 2, 3]), np.array([1, 2, 3]))


def test_misaligned_vectors_are_an_error():
    with pytest.raises(DriftError, match="aligned"):
        count_stats.psi([1, 2], [1, 2, 3])


counts = st.lists(st.integers(0, 10_000), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_statistic_matches_scipy_on_random_counts(data):
    r = np.array(data.draw(counts))
    c = np.array(data.draw(st.lists(st.integers(0, 10_000), min_size=r.size, max_size=r.size)))
    if r.sum() == 0 or c.sum() == 0:
        with pytest.raises(DriftError):
            count_stats.psi(r, c)
        return
    rp, cp = floored(r), floored(c)
    assert count_stats.psi(r, c) == pytest.approx(
        np.sum(special.rel_entr(cp, rp) + special.rel_entr(rp, cp)), rel=1e-9, abs=1e-12
    )
    assert count_stats.jensenshannon(r, c) == pytest.approx(
        distance.jensenshannon(rp, cp, base=2), rel=1e-9, abs=1e-12
    )
    assert count_stats.kl(r, c) == pytest.approx(sps.entropy(rp, cp), rel=1e-9, abs=1e-12)
    keep = (r + c) > 0
    if keep.sum() > 1:
        res = sps.chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False)
        assert count_stats.chi2(r, c) == (float(res.statistic), float(res.pvalue))
