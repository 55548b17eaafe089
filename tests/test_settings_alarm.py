"""The false-alarm budget: a duration divided by the monitor's cadence, or a number of runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from monitor.settings import MonitorSettings


def test_default_budget_is_90_days_of_hourly_runs() -> None:
    """90 days (the issue's example; was 30): every reference draw then stays <= 1 false
    alarm per 30 days with the sequential rule sized for the budget on average."""
    m = MonitorSettings(name="a", model="m")
    assert m.alarm.runs(m.run_every) == 2160.0
    assert m.alarm.sequential.delta is None  # on average; a number: per reference


def test_duration_is_divided_by_the_sliding_step() -> None:
    m = MonitorSettings(
        name="a",
        model="m",
        window={"kind": "sliding", "size": "1h", "step": "15m"},
        alarm={"expected_run_length": "90d"},
    )
    assert m.alarm.runs(m.run_every) == 90 * 24 * 4


def test_an_integer_is_a_number_of_runs_not_seconds() -> None:
    m = MonitorSettings(name="a", model="m", alarm={"expected_run_length": 500})
    assert m.alarm.runs(m.run_every) == 500.0


def test_count_window_uses_the_schedule_interval() -> None:
    m = MonitorSettings(
        name="a",
        model="m",
        window={"events": 1000},
        schedule={"interval": "10m"},
        alarm={"expected_run_length": "1d"},
    )
    assert m.alarm.runs(m.run_every) == 144.0


def test_bad_budget_names_the_key() -> None:
    with pytest.raises(ValidationError, match=r"alarm\.expected_run_length"):
        MonitorSettings(name="a", model="m", alarm={"expected_run_length": "soon"})


def _with_rules(*conditions: str, **alarm) -> MonitorSettings:
    rules = [{"name": c, "condition": c} for c in conditions]
    return MonitorSettings(name="a", model="m", rules=rules, alarm=alarm)


def test_a_monitor_with_both_rules_splits_its_budget_between_them() -> None:
    """Per-window 1/10, sequential 9/10 of 2,160 hourly runs: each rule's alpha / ARL0 from
    its share, so the two rates add up to the budget (before: each had the whole budget)."""
    from monitor.calibrate import plan_for
    from monitor.scheduler.comparison import auto_plan
    from monitor.scheduler.sequential import config_for

    both = _with_rules("dataset_drift", "sequential_drift")
    cusum, window = config_for(both, 4), auto_plan(both, {}, {})
    assert cusum.arl0 == pytest.approx(2400.0) and cusum.budget_share == pytest.approx(0.9)
    assert window.budget_runs == pytest.approx(21600.0) and window.budget_share == 0.1
    assert window.alpha == pytest.approx(1 / 21600)
    assert 1 / cusum.arl0 + window.alpha == pytest.approx(1 / 2160)  # the budget, together
    frame = pd.DataFrame({"x": np.arange(200.0)})
    plan = plan_for(both, frame, None, 50)  # `monitor calibrate` reads the same shares
    assert plan.family_alpha == pytest.approx(1 / 21600)
    assert plan.sequential_runs == pytest.approx(2400.0)
    # one kind of drift rule alone keeps the whole budget
    assert config_for(_with_rules("sequential_drift"), 4).arl0 == 2160.0
    assert auto_plan(_with_rules("feature_drift"), {}, {}).budget_runs == 2160.0
    # an explicit budget keeps its value, split the same way
    explicit = _with_rules("feature_drift", "sequential_drift", expected_run_length="30d")
    assert config_for(explicit, 4).arl0 == pytest.approx(800.0)


def test_sequential_bound_is_sized_for_the_average_unless_a_delta_is_set() -> None:
    from monitor.drift.alarm_guarantee import average_bound, learned_bound
    from monitor.scheduler.sequential import config_for

    m = _with_rules("sequential_drift")
    cfg = config_for(m, 10, reference_share=0.5)
    assert cfg.bound == pytest.approx(average_bound(2160.0, 1.0, 3.0, 10))
    assert cfg.bound_for == "average"
    per_ref = _with_rules("sequential_drift", sequential={"delta": 0.2})
    cfg = config_for(per_ref, 10, reference_share=0.5)
    assert cfg.bound_for == "learned"
    assert cfg.bound == pytest.approx(learned_bound(2160.0, 1.0, 96, 0.2, 10))


@pytest.mark.parametrize(
    ("alarm", "key"),
    [
        ({"sequential": {"delta": 0.7}}, r"alarm\.sequential\.delta"),
        ({"sequential": {"delta": 0}}, r"alarm\.sequential\.delta"),
        ({"delta": 1.5}, r"alarm\.delta"),
        ({"expected_run_length": -5}, r"alarm\.expected_run_length"),
    ],
)
def test_bad_alarm_settings_name_the_key(alarm: dict, key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        MonitorSettings(name="a", model="m", alarm=alarm)
