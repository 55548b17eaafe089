"""The sequential rule on sliding windows (issue 14): it judges every n-th run only, n =
ceil(size / step), so that the judged windows are disjoint, and its ARL0 in judged windows
is the budget in runs divided by n (the same budget in time). One definition for the
scheduler, the simulation's plan and the backtest (`calibrate.sequential_config`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.calibrate import sequential_config, sequential_every, sequential_judges
from monitor.drift.simulate_plan import Plan
from monitor.settings import parse_settings
from monitor.settings.alarm import judged_every, judged_window

H = timedelta(hours=1)
MIDNIGHT = datetime(2026, 11, 2, tzinfo=UTC)


def _monitor(window: dict, rules: list[dict] | None = None):
    rules = rules or [{"name": "seq", "condition": "sequential_drift"},
                      {"name": "ds", "condition": "dataset_drift"}]  # fmt: skip
    doc = {
        "database": {"url": "postgresql+psycopg://u:p@127.0.0.1:5432/x"},
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": "/tmp/ref.parquet",
                "window": window,
                "rules": rules,
            }
        ],
    }
    return parse_settings(doc).monitors[0]


def test_judged_every_is_size_over_step_rounded_up() -> None:
    assert judged_every("sliding", 24 * H, H) == 24
    assert judged_every("sliding", 5 * H, 2 * H) == 3  # 6 h apart: disjoint windows of 5 h
    assert judged_every("sliding", 4 * H, 4 * H) == 1
    assert judged_every("tumbling", 24 * H, None) == 1
    assert judged_every("sliding", 24 * H, H, events=500) == 1  # a count window


def test_judged_windows_are_every_nth_step_since_the_epoch() -> None:
    ends = [MIDNIGHT + i * H for i in range(72)]
    judged = [e for e in ends if judged_window(e, H, 24)]
    assert judged == [MIDNIGHT, MIDNIGHT + 24 * H, MIDNIGHT + 48 * H]
    assert all(judged_window(e, H, 1) for e in ends)
    # stateless: any window end gives the same answer in any time zone
    east = (MIDNIGHT + 24 * H).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert judged_window(east, H, 24)
    # an end not on the step grid is still deterministic (floor)
    assert judged_window(MIDNIGHT + 24 * H + timedelta(minutes=5), H, 24)
    assert not judged_window(MIDNIGHT + 23 * H + timedelta(minutes=59), H, 24)


def test_sliding_monitor_config_judges_disjoint_windows_with_the_same_budget_in_time() -> None:
    sliding = _monitor({"kind": "sliding", "size": "24h", "step": "1h", "bucket": "1h"})
    tumbling = _monitor({"size": "1h", "bucket": "1h"})
    assert sequential_every(sliding) == 24 and sequential_every(tumbling) == 1
    assert sequential_judges(sliding, MIDNIGHT) and not sequential_judges(sliding, MIDNIGHT + H)
    assert all(sequential_judges(tumbling, MIDNIGHT + i * H) for i in range(24))
    # default budget 90 d = 2160 hourly runs; the sequential rule's share is 0.9
    cfg = sequential_config(sliding, 10)
    assert cfg.judged_every == 24
    assert cfg.arl0 == pytest.approx(2160 / 0.9 / 24)  # 100 judged (daily) windows = 100 days
    base = sequential_config(tumbling, 10)
    assert base.judged_every == 1 and base.arl0 == pytest.approx(2160 / 0.9)
    # the budget in time is the same: judged windows x n x step
    assert cfg.arl0 * cfg.judged_every == pytest.approx(base.arl0)


def test_plan_states_the_judged_windows() -> None:
    plan = Plan(features=(), rules=(), window_rows=500, budget_runs=2160.0,
                sequential_share=0.9, judged_every=24)  # fmt: skip
    assert plan.sequential_runs == pytest.approx(2400.0)
    assert plan.sequential_windows == pytest.approx(100.0)


def test_calibrate_plan_and_simulation_count_judged_windows() -> None:
    import numpy as np
    from sklearn.datasets import load_diabetes

    from monitor.calibrate import plan_for
    from monitor.drift.simulate_rules import _config, cusum_false_alarms

    sliding = _monitor({"kind": "sliding", "size": "24h", "step": "1h", "bucket": "1h"})
    frame = load_diabetes(as_frame=True).frame.drop(columns="target")
    plan = plan_for(sliding, frame, None, 500)
    assert plan.judged_every == 24 and plan.sequential_windows == pytest.approx(100.0)
    cfg = _config(plan, 10)  # the simulation's CUSUM is the scheduler's
    assert cfg == sequential_config(sliding, 10)
    rng = np.random.default_rng(0)
    res = cusum_false_alarms(rng.standard_normal((400, 10)), plan, rng)
    assert res["judged_every"] == 24
    assert res["per_run"] == pytest.approx(res["per_judged_window"] / 24)


def test_a_budget_of_few_runs_is_at_least_ten_judged_windows() -> None:
    window = {"kind": "sliding", "size": "24h", "step": "1h", "bucket": "1h"}
    few = _monitor(window)
    few = few.model_copy(update={"alarm": few.alarm.model_copy(update={"expected_run_length": 10})})
    cfg = sequential_config(few, 10)
    assert cfg.arl0 == 10.0 and cfg.bound > 0  # 240 runs: the smallest budget it sizes
