"""What each window of a monitor is compared with: its fixed reference, or a baseline of its
own recent traffic (issue 14 item 4; docs/drift.md, "Baselines").

`kind: reference` (the default): the materialised reference, as before.
`kind: trailing, windows: N`: the previous N windows of the same monitor.
`kind: seasonal`: the same time of day (`period: 1d`) or of week (`period: 1w`) over the
previous `lags` periods; `weeks: k` is `period: 1w, lags: k` and `days: k` is
`period: 1d, lags: k`.

`exclude` lists time ranges (holidays, incidents) whose windows never enter a baseline;
`exclude_alarmed` (default true) leaves out windows at whose run a data rule held. A baseline
is the `windows` (or `lags`) most recent usable windows found among the last `lookback`
candidates; fewer than `min_windows` usable ones make the run `insufficient_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from monitor.settings.base import Duration, StrictModel

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class ExcludeRange(StrictModel):
    """A time range left out of every baseline: [start, end), with an optional reason."""

    start: datetime
    end: datetime
    reason: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> ExcludeRange:
        for ts in (self.start, self.end):
            if ts.tzinfo is None:
                raise ValueError("start/end need a time zone (e.g. 2026-12-24T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BaselineSettings(StrictModel):
    """A monitor's `baseline:` section (default: the fixed reference)."""

    kind: Literal["reference", "trailing", "seasonal"] = "reference"
    windows: int | None = Field(None, ge=1, le=10_000)  # trailing: how many windows
    period: Duration | None = None  # seasonal: 1d (hour of day) or 1w (hour of week)
    lags: int | None = Field(None, ge=1, le=520)  # seasonal: how many periods back
    weeks: int | None = Field(None, ge=1, le=520)  # seasonal shorthand: period 1w, lags k
    days: int | None = Field(None, ge=1, le=3650)  # seasonal shorthand: period 1d, lags k
    exclude: list[ExcludeRange] = Field(default_factory=list)
    exclude_alarmed: bool = True
    min_windows: int | None = Field(None, ge=1)  # default: half the windows, at least 1
    lookback: int | None = Field(None, ge=1, le=20_000)  # default: twice the windows

    @model_validator(mode="before")
    @classmethod
    def _from_kind(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> BaselineSettings:
        if self.kind == "reference":
            given = [
                k
                for k in ("windows", "period", "lags", "weeks", "days", "min_windows", "lookback")
                if getattr(self, k) is not None
            ]
            if given or self.exclude:
                keys = ", ".join(given + (["exclude"] if self.exclude else []))
                raise ValueError(f"{keys}: only for kind trailing or seasonal")
            return self
        if self.kind == "trailing":
            if self.windows is None:
                raise ValueError("kind trailing needs windows (how many previous windows)")
            stray = [k for k in ("period", "lags", "weeks", "days") if getattr(self, k) is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)}: only for kind seasonal")
        else:
            self._check_seasonal()
        if self.min_windows is not None and self.min_windows > self.count:
            raise ValueError(f"min_windows ({self.min_windows}) exceeds the windows ({self.count})")
        if self.lookback is not None and self.lookback < self.count:
            raise ValueError(
                f"lookback ({self.lookback}) is shorter than the windows ({self.count})"
            )
        return self

    def _check_seasonal(self) -> None:
        if self.windows is not None:
            raise ValueError("windows: only for kind trailing (seasonal uses lags, weeks or days)")
        forms = [self.weeks is not None, self.days is not None, self.lags is not None]
        if sum(forms) != 1:
            raise ValueError("kind seasonal needs exactly one of weeks, days or period + lags")
        if self.lags is not None and self.period not in (DAY, WEEK):
            raise ValueError("period must be 1d (same hour of day) or 1w (same hour of week)")
        if self.lags is None and self.period is not None:
            raise ValueError("period goes with lags (weeks and days imply the period)")

    @property
    def fixed(self) -> bool:
        """The fixed reference (no baseline of the monitor's own traffic)."""
        return self.kind == "reference"

    @property
    def step(self) -> timedelta | None:
        """Seasonal: the period between two candidate windows (trailing: the window size)."""
        if self.kind != "seasonal":
            return None
        if self.weeks is not None:
            return WEEK
        if self.days is not None:
            return DAY
        return self.period

    @property
    def count(self) -> int:
        """How many windows make a full baseline."""
        return int(self.windows or self.lags or self.weeks or self.days or 0)

    @property
    def needed(self) -> int:
        """Fewer usable windows than this: the run is insufficient_data."""
        return self.min_windows or max(1, (self.count + 1) // 2)

    @property
    def candidates(self) -> int:
        """How many candidate windows back are searched for usable ones."""
        return self.lookback or 2 * self.count


def check_rules(baseline: BaselineSettings, rules: Sequence[tuple[str, str]]) -> None:
    """A trailing baseline cannot feed the sequential rule (`rules`: (name, condition)).

    Against a trailing baseline the null-standardised scores follow the traffic's cycle
    (each hour's window against a mix of all hours: the same hours score high day after
    day), so the CUSUM's sums build up on the cycle and its expected run length says
    nothing (26-55 false alarms per 30 days against a budget of 1, and no correction from
    the scores' autocorrelation holds: bench/RESULTS.md, s23-baseline). Refused at load
    rather than alarming for nothing; a seasonal baseline (the same hour of earlier days)
    may feed it (docs/drift.md, "Baselines")."""
    if baseline.kind != "trailing":
        return
    for name, condition in rules:
        if condition == "sequential_drift":
            raise ValueError(
                f"baseline.kind: trailing cannot feed rule {name!r} (condition "
                "sequential_drift): the scores against a trailing baseline follow the "
                "traffic's daily cycle and the sequential rule's false-alarm budget would not "
                "hold; use baseline kind seasonal (same hour of earlier days or weeks), or "
                "drop the rule"
            )


def check_window(
    baseline: BaselineSettings,
    events: int | None,
    size: timedelta | None,
    bucket: timedelta,
) -> None:
    """A trailing/seasonal baseline needs time windows whose slots fit the sketch buckets."""
    if baseline.fixed:
        return
    if events is not None or size is None:
        raise ValueError(
            f"baseline: kind {baseline.kind} needs a time window (window.size), "
            "not a count window (window.events)"
        )
    step = baseline.step
    if step is not None:
        if size > step:
            raise ValueError(f"baseline: the window ({size}) is longer than the period ({step})")
        if step % bucket:
            raise ValueError(
                f"baseline: the period ({step}) is not a multiple of bucket ({bucket})"
            )
