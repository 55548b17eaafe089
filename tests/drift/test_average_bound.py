"""The sequential rule's default bound: the capped CUSUM's exact in-control ARL (Markov
chain), so that the budget holds on average (bench/RESULTS.md, s23-budget)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.drift.alarm_guarantee import average_bound, capped_arl, guaranteed_bound
from monitor.drift.sequential import CusumConfig, bound_for_arl, siegmund_arl
from monitor.errors import DriftError


def _run_lengths(h: float, k: float, cap: float | None, n: int, seed: int) -> np.ndarray:
    """Simulated run lengths of S = max(0, S + clip(z) - k) > h on iid N(0, 1) scores."""
    rng = np.random.default_rng(seed)
    sums, lengths = np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    t = 0
    while alive.any():
        t += 1
        z = rng.standard_normal(n)
        if cap is not None:
            z = np.clip(z, -cap, cap)
        sums = np.where(alive, np.maximum(0.0, sums + z - k), sums)
        hit = alive & (sums > h)
        lengths[hit], alive = t, alive & ~hit
    return lengths


def test_average_bound_delivers_its_arl_where_siegmund_overshoots() -> None:
    h = average_bound(300.0, 1.0, 3.0, features=2)  # each feature: ARL 600 (h ~2.6)
    assert capped_arl(h, 1.0, 3.0) == pytest.approx(600.0, rel=1e-3)
    sim = _run_lengths(h, 1.0, 3.0, 10_000, seed=1)
    assert sim.mean() == pytest.approx(600.0, rel=0.03)  # se ~1%
    # Siegmund's bound ignores the clip: its run lengths are ~20% longer than stated
    long = _run_lengths(bound_for_arl(600.0, 1.0), 1.0, 3.0, 10_000, seed=2)
    assert long.mean() > 1.12 * 600.0


def test_without_a_cap_the_chain_agrees_with_siegmund_and_simulation() -> None:
    h = 2.5
    sim = _run_lengths(h, 1.0, None, 10_000, seed=3).mean()
    assert capped_arl(h, 1.0, None) == pytest.approx(sim, rel=0.03)
    assert capped_arl(h, 1.0, None) == pytest.approx(siegmund_arl(h, 1.0), rel=0.1)


def test_self_starting_config_without_delta_uses_the_average_bound() -> None:
    kw = {"k": 1.0, "warmup": 96, "cap": 3.0, "learn": True, "budget_share": 0.9}
    cfg = CusumConfig(2400.0, 10, reference_share=0.97, **kw)  # any rho
    assert cfg.bound == pytest.approx(average_bound(2400.0, 1.0, 3.0, 10))
    assert cfg.bound_for == "average"
    # where the average was not measured (rho unknown, a short warm-up): the warm-up's
    # bound at the delta monitors had before
    for other in (CusumConfig(2400.0, 10, **kw), CusumConfig(2400.0, 10, **{**kw, "warmup": 20},
                                                            reference_share=0.5)):  # fmt: skip
        assert other.bound_for == "warmup"
        assert other.bound == guaranteed_bound(2400.0, 1.0, other.warmup, 0.2, 10)
    assert CusumConfig(720.0, 3).bound == bound_for_arl(2160.0)  # no warm-up: unchanged
    with pytest.raises(DriftError, match="budget_share"):
        CusumConfig(720.0, 3, budget_share=0.0)
    with pytest.raises(DriftError, match="cap > k"):
        capped_arl(3.0, 1.0, 0.5)
