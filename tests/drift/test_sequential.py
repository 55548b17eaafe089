"""CUSUM: the bound gives the configured false-alarm run length; state restarts cleanly."""

import json
import math

import numpy as np
import pytest

from monitor.drift.sequential import (
    CusumConfig,
    CusumState,
    bound_for_arl,
    siegmund_arl,
    simulate_run_lengths,
    update,
)
from monitor.errors import DriftError


@pytest.mark.parametrize(("arl0", "features"), [(200, 1), (100, 10), (720, 25)])
def test_arl0_by_simulation_within_tolerance(arl0, features):
    config = CusumConfig(arl0, features)
    runs = simulate_run_lengths(
        config.bound, config.k, 2000, np.random.default_rng(20261204), features
    )
    # run lengths are ~geometric: sd ~ mean, so the mean of 2000 has ~2.2% standard error
    assert runs.mean() == pytest.approx(arl0, rel=0.1)


@pytest.mark.parametrize("shift", [0.5, 1.0, 2.0])
def test_stated_detection_delay_matches_simulation(shift):
    config = CusumConfig(720, 10)
    runs = simulate_run_lengths(config.bound, config.k, 2000, np.random.default_rng(5), 1, shift)
    assert runs.mean() == pytest.approx(config.expected_delay(shift), rel=0.1)


def test_siegmund_by_hand():
    # D = -0.5, b = h + 1.166 = 5: (e^5 - 5 - 1) / 0.5
    assert siegmund_arl(3.834, 0.5) == pytest.approx((math.exp(5) - 6) / 0.5)
    assert siegmund_arl(bound_for_arl(500), 0.5) == pytest.approx(500)


def test_update_accumulates_alarms_and_restarts():
    config = CusumConfig(arl0=100, features=2)
    h = config.bound
    state = CusumState()
    state, alarmed = update(state, {"a": 1.5, "b": -3.0}, config, "ref1")
    assert state.sums == {"a": 1.0, "b": 0.0} and alarmed == ()
    state, alarmed = update(state, {"a": h, "b": math.nan}, config, "ref1")
    assert alarmed == ("a",) and state.sums["b"] == 0.0 and state.windows == 2
    back = CusumState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert back == state
    assert back.reset(("a",)).sums == {"b": 0.0}  # the alert on a resolved
    fresh, alarmed = update(state, {"a": 0.1}, config, "ref2")  # new reference: all restart
    assert fresh.sums == {"a": 0.0} and fresh.windows == 1 and alarmed == ()
    _, alarmed = update(CusumState(), {"a": math.inf}, config, None)
    assert alarmed == ("a",)


def test_bad_input():
    with pytest.raises(DriftError, match="run length"):
        CusumConfig(arl0=1, features=3)
    with pytest.raises(DriftError, match="at least one feature"):
        CusumConfig(arl0=100, features=0)
    with pytest.raises(DriftError, match="malformed"):
        CusumState.from_dict({"sums": []})


def _run_length(config: CusumConfig, rng, offset: float, limit: int = 5000) -> int:
    state = CusumState()
    for t in range(1, limit + 1):
        state, alarmed = update(state, {"x": offset + rng.standard_normal()}, config, "r")
        if alarmed:
            return t - config.warmup
    return limit


def test_warmup_absorbs_a_fixed_reference_offset():
    """A reference draw that fell 0.8 sd off shifts every window's z by 0.8: the plain CUSUM
    alarms within a few dozen windows; the self-starting one does not alarm more often than
    its budget. It alarms less often (measured ~2x ARL0 at warmup 48): the estimated offset's
    error makes conditional run lengths vary, and their mean is pulled up by the long ones."""
    rng = np.random.default_rng(42)
    plain = CusumConfig(arl0=200, features=1)
    warm = CusumConfig(arl0=200, features=1, warmup=48)
    assert np.mean([_run_length(plain, rng, 0.8) for _ in range(100)]) < 20
    runs = [_run_length(warm, rng, 0.8) for _ in range(300)]
    assert 0.8 * 200 <= np.mean(runs) <= 3.0 * 200
    state, _ = update(CusumState(), {"x": 0.3}, warm, "r")
    assert CusumState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert state.baseline["x"][0] == 1.0 and "x" not in state.sums  # still warming up
    with pytest.raises(DriftError, match="warmup"):
        CusumConfig(arl0=200, features=1, warmup=3)


def _learned(config: CusumConfig, rng, offset: float, scale: float, windows: int):
    state = CusumState()
    for _ in range(windows):
        state, alarmed = update(state, {"x": offset + scale * rng.standard_normal()}, config, "r")
        state = state.reset(alarmed) if alarmed else state
    return state.baseline["x"]


def test_learning_keeps_estimating_without_bias():
    """`learn=True`: after the warm-up the mean and sd keep learning from the windows that
    arrive after 3 windows in a row left the sum at 0. That choice is made before the
    window is seen, so the
    estimates stay unbiased (a selection on the window itself, e.g. "learn unless it
    alarms", would bias the mean down); their error shrinks like 1/sqrt(n) instead of
    staying at the warm-up's. 60 streams of 1,500 windows, offset 0.7, sd 1.3."""
    rng = np.random.default_rng(7)
    frozen = CusumConfig(arl0=200, features=1, k=1.0, warmup=20, cap=3.0)
    learning = CusumConfig(arl0=200, features=1, k=1.0, warmup=20, cap=3.0, learn=True)
    base = [_learned(learning, rng, 0.7, 1.3, 1500) for _ in range(60)]
    n = np.array([b[0] for b in base])
    errors = np.array([b[1] for b in base]) - 0.7
    assert n.min() > 700  # most windows are learned (sum 0 three times in a row: ~60%)
    assert abs(errors.mean()) < 3 * 1.3 / math.sqrt(60 * n.mean())  # unbiased
    assert errors.std() < 1.3 / math.sqrt(500)  # far below the warm-up's 1.3 / sqrt(20)
    sds = np.sqrt([b[2] / (b[0] - 1) for b in base])
    assert sds.mean() == pytest.approx(1.3, rel=0.02)
    assert _learned(frozen, rng, 0.7, 1.3, 300)[0] == 20  # frozen: only the warm-up
    with pytest.raises(DriftError, match="learn needs a warm-up"):
        CusumConfig(arl0=200, features=1, learn=True)


def test_learning_does_not_absorb_a_shift_it_is_detecting():
    """A +2 sd shift after the warm-up rarely leaves the sum at 0 three times in a row, so
    it is not learned: the CUSUM alarms on it within a few windows, again after each
    restart, as the frozen one does (49 alarms in 200 windows both)."""
    rng = np.random.default_rng(3)
    config = CusumConfig(arl0=720, features=1, k=1.0, warmup=50, cap=3.0, learn=True)
    state, alarms = CusumState(), 0
    for t in range(250):
        z = rng.standard_normal() + (2.0 if t >= 50 else 0.0)
        state, alarmed = update(state, {"x": z}, config, "r")
        if alarmed:
            alarms, state = alarms + 1, state.reset(alarmed)
    assert alarms >= 40  # ~ one alarm every 4-5 windows of the 200 shifted ones
    assert state.baseline["x"][1] < 1.0  # the learned mean stays far below the shift
