"""The monitor's false-alarm budget, shared by every drift rule of the monitor.

`expected_run_length` is the expected time between false alarms when traffic matches the
baseline (ARL0): a duration (`30d`) or a number of runs (`720`). Rules that can state
their false-alarm rate (auto thresholds, corrected dataset decisions, `sequential_drift`)
size themselves from it; see docs/drift.md.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from monitor.settings.base import Duration, StrictModel

# The sequential rule's defaults, in one place: the values bench/alarms.py measured
# (docs/drift.md, "Alarms with a stated error rate": k = 1, warm-up 96 windows, cap 3;
# bench/RESULTS.md, alarms run 3: a CUSUM that keeps learning each feature's mean/sd after
# the warm-up at delta 0.2 met <= 1 false alarm per 30 days on every reference draw, where
# the frozen warm-up at delta 0.02 failed on one). `SEQUENTIAL_DELTA` is the probability
# that the stated false-alarm rate fails for this stream's warm-up (the guaranteed bound,
# `monitor.drift.alarm_guarantee`); learning makes that failure fade as the estimates
# improve, so a looser delta (a lower bound, faster detection) suffices. `AlarmSettings.delta`
# keeps serving the per-window auto thresholds. `SEQUENTIAL_SHIFT`: the shift of the
# standardised score whose expected detection delay every sequential payload states (k = 1
# is tuned to it).
SEQUENTIAL_K = 1.0
SEQUENTIAL_WARMUP = 96
SEQUENTIAL_CAP = 3.0
SEQUENTIAL_SHIFT = 2.0
SEQUENTIAL_DELTA = 0.2
SEQUENTIAL_LEARN = True


class SequentialSettings(StrictModel):
    """The `sequential_drift` rule's CUSUM (docs/drift.md, "In monitors: the sequential rule").

    One state per monitor: every sequential rule of a monitor reads the same sums."""

    k: float = Field(SEQUENTIAL_K, gt=0)  # reference value: tuned to a shift of 2k
    warmup: int = Field(SEQUENTIAL_WARMUP, ge=10)  # windows estimating each score's mean/sd
    cap: float | None = Field(SEQUENTIAL_CAP, gt=0)  # standardised scores clipped; None: no clip
    shift: float = Field(SEQUENTIAL_SHIFT, gt=0)  # shift whose expected delay payloads state
    # the guaranteed bound's delta (0 < delta < 0.5): P(the stated rate fails for this warm-up)
    delta: float = Field(SEQUENTIAL_DELTA, gt=0, lt=0.5)
    # after the warm-up each feature's mean/sd keep learning from windows that follow
    # `monitor.drift.sequential.LEARN_QUIET` windows in a row with a zero sum
    learn: bool = SEQUENTIAL_LEARN

    @model_validator(mode="after")
    def _cap_above_k(self) -> SequentialSettings:
        if self.cap is not None and self.cap <= self.k:
            raise ValueError(f"cap ({self.cap:g}) must exceed k ({self.k:g})")
        return self


class AlarmSettings(StrictModel):
    """How often a healthy monitor may wake someone up (docs/drift.md, "Alarms")."""

    expected_run_length: int | Duration = Field(timedelta(days=30), union_mode="left_to_right")
    # probability that the stated rate fails for this reference (Gandy & Kvaløy 2013): the
    # per-window auto thresholds' guard (the sequential rule has its own, `sequential.delta`)
    delta: float = Field(0.02, gt=0, lt=0.5)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)

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
