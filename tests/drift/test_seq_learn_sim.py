"""The calibration simulation's sequential rule is the scheduler's: same settings (learn,
delta, k, warm-up, cap from `alarm.sequential`), and its vectorised learning CUSUM raises
the same alarms as `monitor.drift.sequential.update` window by window."""

from __future__ import annotations

import numpy as np

from monitor.calibrate import _sequential
from monitor.drift.sequential import CusumConfig, CusumState, update
from monitor.drift.simulate_rules import _config, _learning_alarms
from monitor.scheduler.sequential import config_for
from monitor.settings import MonitorSettings


def _pure_alarms(z: np.ndarray, cfg: CusumConfig) -> int:
    total = 0
    for stream in z:
        state = CusumState()
        for row in stream:
            scores = {f"f{j}": float(v) for j, v in enumerate(row)}
            state, alarmed = update(state, scores, cfg, "r")
            if alarmed:
                total += 1
                state = state.reset(alarmed)
    return total


def test_vectorised_learning_cusum_matches_the_pure_one() -> None:
    rng = np.random.default_rng(0)
    cfg = CusumConfig(50.0, 2, k=1.0, warmup=20, delta=0.2, cap=3.0, learn=True)
    for _ in range(3):
        z = rng.standard_normal((3, 600, 2)) * 1.3 + 0.4  # scale and offset the warm-up learns
        assert _learning_alarms(z, cfg) == _pure_alarms(z, cfg) > 0


def _settings(c: CusumConfig) -> tuple:
    return (c.learn, c.delta, c.k, c.warmup, c.cap)


def test_calibrate_simulates_the_schedulers_cusum() -> None:
    for seq in ({}, {"learn": False, "delta": 0.05, "k": 0.75, "warmup": 40, "cap": None}):
        monitor = MonitorSettings(name="a", model="m", alarm={"sequential": seq})
        runs = monitor.alarm.runs(monitor.run_every)
        plan = type("Plan", (), {"sequential": _sequential(monitor), "sequential_runs": runs,
                                 "sequential_share": 1.0})()  # fmt: skip
        assert _settings(_config(plan, 5)) == _settings(config_for(monitor, 5))
        assert _config(plan, 5).bound == config_for(monitor, 5).bound
    assert _settings(config_for(MonitorSettings(name="a", model="m"), 5)) == (
        True, None, 1.0, 96, 3.0
    )  # fmt: skip
