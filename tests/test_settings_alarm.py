"""The false-alarm budget: a duration divided by the monitor's cadence, or a number of runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.settings import MonitorSettings


def test_default_budget_is_30_days_of_hourly_runs() -> None:
    m = MonitorSettings(name="a", model="m")
    assert m.alarm.runs(m.run_every) == 720.0


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
