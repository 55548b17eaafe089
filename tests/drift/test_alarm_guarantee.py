"""Guaranteed conditional performance: closed forms and the guarantee by simulation."""

import math

import numpy as np
import pytest
from scipy import stats

from monitor.drift.alarm_guarantee import (
    conditional_arl,
    conditional_p_value,
    conditional_p_values,
    guaranteed_bound,
    guaranteed_threshold,
    monitor_rates,
    reference_share,
    siegmund_arl_many,
)
from monitor.drift.sequential import CusumConfig, bound_for_arl, siegmund_arl
from monitor.errors import DriftError


def _mean_chart_rates(h_z: float, n: int, m: int, refs: int, seed: int) -> np.ndarray:
    """Conditional false-alarm rate of the chart z = (mean_w - mean_R)/sqrt(1/m + 1/n) > h_z
    for `refs` reference draws of n N(0, 1) values (exact given the reference mean)."""
    rng = np.random.default_rng(seed)
    ref_means = rng.standard_normal((refs, n)).mean(axis=1)
    cut = h_z * math.sqrt(1 / m + 1 / n) + ref_means  # alarm when mean_w > cut
    return stats.norm.sf(cut * math.sqrt(m))


@pytest.mark.parametrize(("n", "m"), [(100, 500), (3000, 500), (500, 5000)])
def test_threshold_is_the_closed_form_of_the_estimated_mean_chart(n, m):
    alpha, delta = 1e-3, 0.1
    rho = reference_share(m, n)
    assert rho == pytest.approx((1 / n) / (1 / m + 1 / n))
    h = guaranteed_threshold(alpha, delta, rho)
    # closed form on the raw scale: c = z_{1-delta}/sqrt(n) + z_{1-alpha}/sqrt(m)
    c = stats.norm.isf(delta) / math.sqrt(n) + stats.norm.isf(alpha) / math.sqrt(m)
    assert h * math.sqrt(1 / m + 1 / n) == pytest.approx(c)
    rates = _mean_chart_rates(h, n, m, 20000, seed=n + m)
    share_ok = float(np.mean(rates <= alpha * (1 + 1e-9)))
    assert share_ok == pytest.approx(1 - delta, abs=0.01)  # binomial sd 0.002
    # the unconditional threshold meets alpha on average over references (20 expected
    # alarms per 20,000 references where rho is large: a loose tolerance), not per reference
    plain = _mean_chart_rates(float(stats.norm.isf(alpha)), n, m, 20000, seed=n + m)
    assert float(plain.mean()) == pytest.approx(alpha, rel=0.35)
    assert float(np.mean(plain > alpha)) > 0


def test_conditional_p_value_matches_the_threshold():
    rho, delta = 0.3, 0.05
    h = guaranteed_threshold(0.001, delta, rho)
    assert conditional_p_value(h, rho, delta) == pytest.approx(0.001)
    assert math.isnan(conditional_p_value(math.nan, rho, delta))
    assert conditional_p_value(math.inf, rho, delta) == 0.0
    # rho = 0: the reference carries no error, the plain normal tail
    assert conditional_p_value(2.0, 0.0, delta) == pytest.approx(stats.norm.sf(2.0))
    split = conditional_p_values({"a": 3.0, "b": 1.0}, {"a": 0.5, "b": 0.5}, 0.1)
    assert split["a"] == pytest.approx(conditional_p_value(3.0, 0.5, 0.05))


def test_siegmund_many_equals_scalar():
    h = np.array([0.0, 2.0, 5.0, 5.0])
    k = np.array([0.5, 0.5, 1.0, 1.0])
    shift = np.array([0.0, 0.5, 0.0, 2.0])
    want = [siegmund_arl(a, b, c) for a, b, c in zip(h, k, shift, strict=True)]
    assert siegmund_arl_many(h, k, shift) == pytest.approx(want)
    # u = 0, v = 1: a perfectly estimated baseline gives the plain ARL
    assert conditional_arl(4.0, 0.5, np.zeros(1), np.ones(1))[0] == pytest.approx(
        siegmund_arl(4.0, 0.5)
    )


def test_long_warmup_gives_the_plain_bound():
    bound = guaranteed_bound(720.0, 0.5, 1_000_000, 0.1, 10)
    assert bound == pytest.approx(bound_for_arl(7200, 0.5), rel=0.01)


def test_guarantee_holds_over_simulated_warmups():
    """Real warm-ups of normal scores with an offset (the reference's error): the share of
    streams whose monitor-level ARL0 meets the target is 1 - delta."""
    arl0, k, warmup, delta, p = 200.0, 1.0, 30, 0.2, 3
    h = guaranteed_bound(arl0, k, warmup, delta, p)
    rng = np.random.default_rng(7)
    offset, scale = 1.7, 0.4  # z = offset + scale * N(0, 1) in control
    z = offset + scale * rng.standard_normal((3000, p, warmup))
    u = (z.mean(axis=2) - offset) / scale
    v = z.std(axis=2, ddof=1) / scale
    ok = monitor_rates(h, k, u, v) <= 1 / arl0
    assert float(ok.mean()) == pytest.approx(1 - delta, abs=0.03)  # binomial sd 0.007


def test_cusum_config_uses_the_guaranteed_bound():
    config = CusumConfig(720, 9, k=1.0, warmup=48, delta=0.1)
    assert config.bound == guaranteed_bound(720.0, 1.0, 48, 0.1, 9)
    assert config.bound > CusumConfig(720, 9, k=1.0, warmup=48).bound
    with pytest.raises(DriftError):
        CusumConfig(720, 9, delta=0.1)  # needs a warm-up
    with pytest.raises(DriftError):
        CusumConfig(720, 9, warmup=48, delta=1.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: guaranteed_threshold(0.0, 0.1, 0.5),
        lambda: guaranteed_threshold(0.01, 0.1, 1.5),
        lambda: reference_share(0, 10),
        lambda: guaranteed_bound(720.0, 0.5, 1, 0.1),
        lambda: guaranteed_bound(1.0, 0.5, 48, 0.1),
    ],
)
def test_bad_input(call):
    with pytest.raises(DriftError):
        call()


def test_capped_scores_cannot_alarm_in_one_window():
    from monitor.drift.sequential import CusumState, update

    config = CusumConfig(720, 1, k=1.0, warmup=10, delta=0.1, cap=3.0)
    state = CusumState()
    for z in [0.0, 1.0] * 5:  # warm-up: mean 0.5, sd ~0.53
        state, _ = update(state, {"a": z}, config, "r")
    state, alarmed = update(state, {"a": 50.0}, config, "r")
    assert alarmed == () and state.sums["a"] == pytest.approx(3.0 - 1.0)
    state, alarmed = update(state, {"a": math.inf}, config, "r")  # a constant reference moved
    assert alarmed == ("a",)
    with pytest.raises(DriftError):
        CusumConfig(720, 1, k=1.0, cap=3.0)  # needs a warm-up
    with pytest.raises(DriftError):
        CusumConfig(720, 1, k=1.0, warmup=10, cap=0.5)  # below k
