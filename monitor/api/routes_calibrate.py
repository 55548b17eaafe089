"""/api/v1/monitors/{name}/calibration and /api/v1/alerts/{id}/mark (issue 14 item 5).

The calibration is `monitor.calibrate.calibration`: expected false alarms per day and per
30 days of the monitor's drift rules on windows simulated from its stored reference, per
rule and per feature, against the budget (`alarm.expected_run_length`), the median
detection delays of small shifts, and the measured false-alarm share from operators' marks.
It costs seconds: results are cached per reference version + config + options. A mark
(admin) records an operator's verdict on an alert, a false alarm or a true one; the newest
mark of an alert counts, every mark stays in its history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from monitor.access.auth import require_admin, require_read
from monitor.api.deps import (
    BAD_INPUT,
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    engine_of,
    monitor_or_404,
    settings_of,
)
from monitor.calibrate import calibration
from monitor.calibrate import window_rows as window_rows_of
from monitor.jsonsafe import json_safe
from monitor.storage.alert_marks import mark_alert

monitors_router = APIRouter(prefix="/monitors", tags=["monitors"], responses=ERRORS)
alerts_router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)
Name = Annotated[str, Path(description="A monitor name from the config.", max_length=200)]
MAX_VALUES = 10_000_000  # windows × rows per request (a few seconds)
NO_NUL = r"^[^\x00]*$"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Rate(_Out):
    per_run: float | None = None
    per_day: float | None = None
    per_30d: float | None = None


class SubjectRate(Rate):
    subject: str
    per_window: float
    per_window_se: float


class RuleRate(Rate):
    name: str
    condition: str
    note: str | None = None
    subjects: list[SubjectRate] = Field(default_factory=list)
    bound: float | None = None  # sequential_drift: the CUSUM's bound h
    k: float | None = None
    warmup: int | None = None
    simulated_runs: int | None = None


class FeatureRate(Rate):
    name: str
    kind: str
    method: str
    auto: bool
    threshold: float | None
    threshold_on: Literal["p_value", "statistic"]
    window_values: int
    per_window: float


class Delay(_Out):
    feature: str
    kind: str
    shift: str
    windows: float | None = Field(
        description="Median windows to the first alert; null: not within 5,000."
    )
    seconds: float | None
    rule: str | None


class MeasuredShare(_Out):
    days: int
    marked: int
    false: int
    share: float | None
    by_rule: dict[str, dict[str, int]]


class Budget(Rate):
    runs: float = Field(description="Expected runs between false alarms.")


class CalibrationOut(_Out):
    monitor: str
    key: str = Field(description="Hash of reference version, config and options (the cache key).")
    reference_version: int
    windows: int
    window_rows: int
    reference_rows: int
    run_every_s: float
    correction: str
    alpha: float
    fresh: bool = Field(description="Drawn statistics scaled to a fresh window's variance.")
    budget: Budget
    expected: Rate
    rules: list[RuleRate]
    features: list[FeatureRate]
    delays: list[Delay]
    measured: MeasuredShare


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["false", "true"] = Field(description="false: a false alarm; true: a real one.")
    note: str | None = Field(None, max_length=1000, pattern=NO_NUL)
    by: str | None = Field(None, max_length=200, pattern=NO_NUL)


class MarkOut(_Out):
    alert_id: int
    monitor: str
    rule: str
    verdict: str
    note: str | None
    by: str | None
    marked_at: datetime


@monitors_router.get(
    "/{name}/calibration",
    response_model=CalibrationOut,
    dependencies=[Depends(require_read)],
    responses={**NOT_FOUND, **BAD_INPUT, **CONFLICT},
)
def get_calibration(
    request: Request,
    name: Name,
    windows: Annotated[
        int, Query(ge=100, le=5000, description="Healthy windows to simulate.")
    ] = 2000,
    window_rows: Annotated[
        int | None,
        Query(ge=2, le=100_000, description="Rows per window (default: the monitor's)."),
    ] = None,
) -> Any:
    """The monitor's false-alarm budget against the alarms its drift rules are expected to
    raise (per rule and feature), detection delays, and the measured false-alarm share."""
    m, engine, now = (
        monitor_or_404(settings_of(request), name),
        engine_of(request),
        datetime.now(UTC),
    )
    rows = window_rows_of(engine, m, window_rows, now)
    if windows * rows > MAX_VALUES:
        raise HTTPException(
            status_code=400, detail=f"windows × rows per window ({rows}) is limited to 10,000,000"
        )
    return json_safe(calibration(engine, m, windows=windows, rows=rows, now=now))


@alerts_router.post(
    "/{alert_id}/mark",
    response_model=MarkOut,
    dependencies=[Depends(require_admin)],
    responses=NOT_FOUND,
)
def mark(
    request: Request,
    alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: Annotated[MarkIn, Body()],
) -> MarkOut:
    """Mark an alert a false alarm or a true one (the newest mark counts)."""
    found = mark_alert(
        engine_of(request), alert_id, body.verdict, datetime.now(UTC), body.by, body.note
    )
    if found is None:
        raise HTTPException(status_code=404, detail="no alert with this id")
    return MarkOut(**vars(found))
