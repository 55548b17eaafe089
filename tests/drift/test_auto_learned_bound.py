"""The learning CUSUM's bound sized for its learned estimates (`learned_bound`).

The warm-up's bound (`guaranteed_bound` at the warm-up's size) pays for an estimation error
that learning then removes: on normal scores the learning CUSUM ran 4-7x below its budget
(bench/RESULTS.md, alarms run 4). The learned bound is the same guarantee for the estimates
one budget period after the warm-up."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.drift.alarm_guarantee import guaranteed_bound, learned_bound
from monitor.drift.sequential import CusumConfig, bound_for_arl
from monitor.drift.simulate_rules import _learning_alarms
from monitor.errors import DriftError


def test_learned_bound_is_the_guarantee_for_warmup_plus_one_budget_period() -> None:
    for p in (1, 9, 30):
        learned = learned_bound(720.0, 1.0, 96, 0.2, p)
        assert learned == guaranteed_bound(720.0, 1.0, 96 + 720, 0.2, p)
        assert bound_for_arl(720.0 * p, 1.0) < learned < guaranteed_bound(720.0, 1.0, 96, 0.2, p)


def test_a_learning_cusum_uses_it_where_the_reference_is_not_small() -> None:
    """Learned bound when learning and rho = m/(m + N) <= 0.9; the warm-up's bound when
    frozen, when the windows are many times the reference (rho > 0.9), or rho unknown."""

    def bound(**kw) -> float:
        return CusumConfig(720.0, 9, k=1.0, warmup=96, delta=0.2, cap=3.0, **kw).bound

    learned, warmup = (
        learned_bound(720.0, 1.0, 96, 0.2, 9),
        guaranteed_bound(720.0, 1.0, 96, 0.2, 9),
    )
    assert bound(learn=True, reference_share=0.5) == pytest.approx(learned)
    assert bound(learn=True, reference_share=0.9) == pytest.approx(learned)
    assert bound(learn=True, reference_share=0.95) == pytest.approx(warmup)
    assert bound(learn=True) == pytest.approx(warmup)
    assert bound(reference_share=0.5) == pytest.approx(warmup)
    with pytest.raises(DriftError, match="reference_share"):
        bound(learn=True, reference_share=1.5)


def test_on_normal_scores_the_rate_is_within_the_budget_and_closer_to_it() -> None:
    """Normal scores (the bound's model), 10 features, 24 streams x 3,000 windows after the
    warm-up (100 budget periods): the learned bound's rate stays below 1/720 per window and
    is over twice the warm-up bound's."""
    rng = np.random.default_rng(20261206)
    z = rng.standard_normal((24, 96 + 3000, 10))
    learning = CusumConfig(
        720.0, 10, k=1.0, warmup=96, delta=0.2, cap=3.0, learn=True, reference_share=0.5
    )
    frozen_h = guaranteed_bound(720.0, 1.0, 96, 0.2, 10)

    class _WarmupBound(CusumConfig):
        @property
        def bound(self) -> float:
            return frozen_h

    old = _WarmupBound(720.0, 10, k=1.0, warmup=96, delta=0.2, cap=3.0, learn=True)
    windows = 24 * 3000
    new_rate, old_rate = _learning_alarms(z, learning) / windows, _learning_alarms(z, old) / windows
    assert new_rate < 1 / 720
    assert new_rate > 2 * old_rate


def test_the_scheduler_backtest_and_simulation_read_one_reference_share() -> None:
    """`largest_reference_share`: the largest m / (m + N) over the features that have both
    sizes (m from the window's non-missing values); None without any. The learned bound is
    taken only with a warm-up at least as long as the one it was measured with."""
    from monitor.drift.result import FeatureResult
    from monitor.drift.sequential import (
        LEARNED_MIN_WARMUP,
        largest_reference_share,
        window_values,
    )

    f = FeatureResult("x", "numeric", "wasserstein", 0.1, None, 0.1, False, 0.0, 0.2, {}, {})
    assert window_values(f, 500) == pytest.approx(400.0)
    assert largest_reference_share([(400.0, 1600.0), (500.0, 500.0)]) == pytest.approx(0.5)
    assert largest_reference_share([(0.0, 100.0)]) is None
    assert largest_reference_share([]) is None

    def cfg(warmup: int) -> CusumConfig:
        return CusumConfig(720.0, 9, k=1.0, warmup=warmup, delta=0.2, cap=3.0, learn=True,
                           reference_share=0.5)  # fmt: skip

    assert cfg(LEARNED_MIN_WARMUP).learned and not cfg(LEARNED_MIN_WARMUP - 1).learned
    assert cfg(20).bound == pytest.approx(guaranteed_bound(720.0, 1.0, 20, 0.2, 9))
