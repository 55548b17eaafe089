"""The monitor's false-alarm budget, shared by every drift rule of the monitor.

`expected_run_length` is the expected time between false alarms when traffic matches the
baseline (ARL0): a duration (`30d`) or a number of runs (`720`). Rules that can state
their false-alarm rate (auto thresholds, corrected dataset decisions, `sequential_drift`)
size themselves from it; see docs/drift.md.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from monitor.settings.base import Duration, StrictModel


class AlarmSettings(StrictModel):
    """How often a healthy monitor may wake someone up (docs/drift.md, "Alarms")."""

    expected_run_length: int | Duration = Field(timedelta(days=30), union_mode="left_to_right")
    # probability that the stated rate fails for this reference (Gandy & Kvaløy 2013)
    delta: float = Field(0.02, gt=0, lt=0.5)

    def runs(self, run_every: timedelta | None) -> float:
        """The budget in runs: a duration is divided by the time between runs.

        `run_every` is the monitor's cadence (a tumbling window's size, a sliding window's
        step, a count window's schedule interval); None (unknown cadence, e.g. cron) reads a
        duration as hourly runs.
        """
        if isinstance(self.expected_run_length, int):
            return float(self.expected_run_length)
        every = run_every if run_every and run_every > timedelta(0) else timedelta(hours=1)
        return max(1.0, self.expected_run_length / every)
