"""A monitor's sections: reference, window, schedule, rules and performance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from monitor.drift.config import DriftSettings, FeatureKind
from monitor.settings.alarm import AlarmSettings
from monitor.settings.base import Duration, RuleCondition, Severity, StrictModel
from monitor.settings.baseline import BaselineSettings
from monitor.settings.mlflow_source import check_tracking_uri, parse_model_uri


class ReferenceSettings(StrictModel):
    """Where a monitor's reference (training) window comes from; exactly one source.

    `path`: a CSV/Parquet file. `start`/`end`: a fixed time range of stored events.
    `first_events` / `first_days`: the first N events / D days of stored traffic of the
    monitor's model (version). `mlflow`: an MLflow model version (`models:/churn/3` or
    `models:/churn@champion`), its run's logged training dataset (`dataset` names one) or a
    logged artifact (`artifact`: a path in the run). Materialised once and versioned.
    """

    path: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    first_events: int | None = Field(None, ge=1)
    first_days: float | None = Field(None, gt=0)
    mlflow: str | None = None  # models:/NAME/VERSION or models:/NAME@ALIAS (issue 16)
    dataset: str | None = None  # mlflow: the run's logged dataset of this name
    artifact: str | None = None  # mlflow: a Parquet/CSV artifact path of the run
    tracking_uri: str | None = None  # mlflow: default mlflow.tracking_uri, MLFLOW_TRACKING_URI
    prediction_column: str | None = "prediction"  # file column holding the model's output
    label_column: str | None = "label"  # file column holding ground truth (performance)

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"mlflow" if value.startswith("models:/") else "path": value}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceSettings:
        sources = [
            self.path is not None,
            self.start is not None or self.end is not None,
            self.first_events is not None,
            self.first_days is not None,
            self.mlflow is not None,
        ]
        if sum(sources) != 1:
            raise ValueError(
                "give exactly one of path, start+end, first_events, first_days or mlflow"
            )
        _check_mlflow(self)
        if (self.start is None) != (self.end is None):
            raise ValueError("a time-range reference needs both start and end")
        for ts in (self.start, self.end):
            if ts is not None and ts.tzinfo is None:
                raise ValueError("start/end need a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def _check_mlflow(ref: ReferenceSettings) -> None:
    """An MLflow URI must parse; `dataset` and `artifact` belong to it, one at most."""
    if ref.mlflow is None:
        if ref.dataset is not None or ref.artifact is not None or ref.tracking_uri is not None:
            raise ValueError(
                "dataset, artifact and tracking_uri are options of an mlflow reference"
            )
        return
    parse_model_uri(ref.mlflow)
    check_tracking_uri(ref.tracking_uri)
    if ref.dataset is not None and ref.artifact is not None:
        raise ValueError("give dataset or artifact, not both")
    if ref.artifact is not None and (ref.artifact.startswith("/") or ".." in ref.artifact):
        raise ValueError("artifact is a path inside the run (e.g. data/train.parquet)")


class WindowSettings(StrictModel):
    """The current window each run compares with the reference.

    By time (`size`, tumbling or sliding with `step`) or by event count (`events`: the last
    N events at run time). Time windows are aligned to the epoch so every replica agrees on
    their bounds; `lateness` waits for stragglers before a window is closed.
    """

    kind: Literal["tumbling", "sliding"] = "tumbling"
    size: Duration | None = timedelta(hours=1)
    step: Duration | None = None
    events: int | None = Field(None, ge=1)  # count window: the last N events
    lateness: Duration = timedelta(0)
    min_events: int = Field(100, ge=1)  # below: the run is "insufficient_data", not drift
    bucket: Duration = timedelta(minutes=5)  # sketch bucket; size and step are multiples

    @model_validator(mode="after")
    def _consistent(self) -> WindowSettings:
        if self.events is not None:
            return self
        if self.size is None or self.size <= timedelta(0):
            raise ValueError("a time window needs a positive size (or set events)")
        if self.kind == "sliding" and self.step is None:
            raise ValueError("a sliding window needs a step")
        if self.kind == "tumbling" and self.step not in (None, self.size):
            raise ValueError("a tumbling window's step is its size; use kind: sliding")
        if self.step is not None and self.step > self.size:
            raise ValueError("step cannot exceed size (rows would be skipped)")
        if self.bucket <= timedelta(0):
            raise ValueError("bucket must be positive")
        for name, value in (("size", self.size), ("step", self.step)):
            if value is not None and value % self.bucket:
                raise ValueError(f"{name} must be a multiple of bucket ({self.bucket})")
        return self


class ScheduleSettings(StrictModel):
    """When a monitor runs (APScheduler 3: interval or cron), and how it catches up."""

    interval: Duration | None = None
    cron: str | None = None  # crontab, 5 fields, UTC
    misfire_grace: Duration = timedelta(minutes=5)
    max_catch_up: int = Field(24, ge=1)  # at most this many missed windows are backfilled

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleSettings:
        if self.interval is not None and self.cron is not None:
            raise ValueError("give interval or cron, not both")
        if self.interval is not None and self.interval <= timedelta(0):
            raise ValueError("interval must be positive")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError("cron needs 5 fields (minute hour day month weekday)")
        return self


class RuleSettings(StrictModel):
    """An alert rule: a condition on each finished run, how long it must hold, where it goes.

    `threshold` is the "x" of drift_share >= x, statistic >= x, missing share >= x, out of
    range share >= x; for insufficient_data use `for_runs`. `feature` narrows a rule to one
    feature (required for feature_statistic; optional for the others, default every feature).
    performance rules name a `metric` and fire when it is worse than `threshold` (an absolute
    floor, or ceiling for lower-is-better metrics) or worse than the reference by more than
    `max_drop`; `min_rows` labelled rows are needed for a verdict (see monitor/rules.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    condition: RuleCondition
    threshold: float | None = None
    feature: str | None = None
    metric: str | None = None  # performance rules (issue: performance monitoring)
    max_drop: float | None = Field(None, ge=0)  # performance: worse than reference by > this
    min_rows: int | None = Field(None, ge=1)  # performance: fewer labelled rows = no verdict
    # estimated_performance: "outside" fires only when the whole band is past the bound
    band: Literal["outside"] | None = None
    # retraining_ineffective (issue 16): the deployed version's first N `windows`, firing when
    # dataset drift holds on at least `min_drifted` of them (default N // 2 + 1).
    # estimation_gap (issue 15): fire when the realised value falls outside the estimate's
    # band on at least `outside` of the last `windows` evaluable windows (defaults 3 of 5)
    windows: int | None = Field(None, ge=1, le=100)
    min_drifted: int | None = Field(None, ge=1)
    outside: int | None = Field(None, ge=1, le=100)
    per_feature: bool = False  # sequential_drift: one alert per feature instead of the dataset's
    severity: Severity = "warning"
    for_runs: int = Field(1, ge=1, alias="for")
    routes: list[str] = Field(default_factory=list)  # empty: every route
    repeat_interval: Duration | None = None  # default: alerting.repeat_interval

    @model_validator(mode="after")
    def _needs(self) -> RuleSettings:
        needs_threshold = {
            "drift_share",
            "feature_statistic",
            "missing_share",
            "out_of_range_share",
        }
        if self.condition in needs_threshold and self.threshold is None:
            raise ValueError(f"condition {self.condition} needs a threshold")
        if self.condition == "feature_statistic" and not self.feature:
            raise ValueError("condition feature_statistic needs a feature")
        perf = self.condition in ("performance", "estimated_performance")
        if perf and not self.metric:
            raise ValueError(f"condition {self.condition} needs a metric")
        if perf and self.threshold is None and self.max_drop is None:
            raise ValueError(f"condition {self.condition} needs a threshold or max_drop")
        if self.band is not None and self.condition != "estimated_performance":
            raise ValueError("band is an option of condition estimated_performance only")
        self._retraining_options()
        self._check_gap()
        if self.condition == "sequential_drift" and self.threshold is not None:
            raise ValueError("sequential_drift takes its bound from alarm.expected_run_length")
        if self.per_feature and self.condition != "sequential_drift":
            raise ValueError("per_feature is an option of condition sequential_drift only")
        return self

    def _retraining_options(self) -> None:
        if self.condition != "retraining_ineffective":
            if self.min_drifted is not None:
                raise ValueError("min_drifted is an option of retraining_ineffective")
            return
        if self.windows is not None and self.windows > 50:
            raise ValueError("retraining_ineffective judges at most 50 windows")
        if self.min_drifted is not None and self.min_drifted > (self.windows or 3):
            raise ValueError("min_drifted cannot exceed windows (default 3)")
        if self.metric and self.threshold is None and self.max_drop is None:
            raise ValueError("retraining_ineffective with a metric needs a threshold or max_drop")

    def _check_gap(self) -> None:
        gap = self.condition == "estimation_gap"
        if not gap and self.outside is not None:
            raise ValueError("outside is an option of condition estimation_gap only")
        if self.windows is not None and self.condition not in (
            "estimation_gap",
            "retraining_ineffective",
        ):
            raise ValueError("windows is an option of estimation_gap and retraining_ineffective")
        if gap and not self.metric:
            raise ValueError("condition estimation_gap needs a metric")
        if gap and (self.outside or 3) > (self.windows or 5):
            raise ValueError("outside must be at most windows (outside M of the last N windows)")


class PerformanceSettings(StrictModel):
    """Model performance once labels arrive: metrics per window, version and segment.

    Windows are the monitor's own; a window is re-evaluated when labels for its predictions
    arrive, for `label_horizon` after it closed (each change is a new stored revision).
    """

    enabled: bool | None = None  # None: on with a performance rule or an estimator
    task: Literal["classification", "regression"] | None = None  # None: inferred
    positive_class: str | int | bool | None = None  # binary: default the larger class
    label_horizon: Duration = timedelta(days=14)
    min_rows: int = Field(50, ge=1)  # labelled rows below which a group has no metrics
    segments: bool = True
    # fitted on the labelled reference, applied to windows without labels (docs/estimation.md)
    estimator: Literal["none", "cbpe", "ac", "atc", "dle"] = "none"

    @model_validator(mode="after")
    def _estimator_fits_task(self) -> PerformanceSettings:
        regression = self.estimator == "dle"
        if self.estimator == "none" or self.task is None:
            return self
        if regression != (self.task == "regression"):
            valid = "dle" if self.task == "regression" else "cbpe, ac, atc"
            raise ValueError(
                f"estimator {self.estimator} is not for {self.task}; valid for {self.task}: {valid}"
            )
        return self


class MonitorSettings(StrictModel):
    """One monitor: a model (optionally one version or segment) compared with its reference."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")
    model: str = Field(min_length=1, max_length=200)
    model_version: str | None = None
    segment: dict[str, str] = Field(default_factory=dict)  # only events whose segment matches
    features: dict[str, FeatureKind] = Field(default_factory=dict)  # empty: inferred from reference
    reference: ReferenceSettings | None = None
    baseline: BaselineSettings = Field(default_factory=BaselineSettings)  # issue 14 item 4
    window: WindowSettings = Field(default_factory=WindowSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    alarm: AlarmSettings = Field(default_factory=AlarmSettings)
    prediction_drift: bool = True  # the prediction/score distribution as one more feature
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    rules: list[RuleSettings] = Field(default_factory=list)

    @property
    def performance_enabled(self) -> bool:
        if self.performance.enabled is not None:
            return self.performance.enabled
        if self.performance.estimator != "none":
            return True
        perf = ("performance", "estimated_performance", "estimation_gap")
        return any(
            r.condition in perf or (r.condition == "retraining_ineffective" and r.metric)
            for r in self.rules
        )

    @property
    def run_every(self) -> timedelta | None:
        """Time between two runs: the window's step (or size), a count window's interval."""
        if self.window.events is not None:
            return self.schedule.interval
        return self.window.step or self.window.size

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: list[RuleSettings]) -> list[RuleSettings]:
        names = [r.name for r in rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"rule name {sorted(dup)[0]!r} is used twice")
        return rules

    @model_validator(mode="after")
    def _drift_methods_fit_kinds(self) -> MonitorSettings:
        self.drift.check_kinds(self.features)
        return self

    @model_validator(mode="after")
    def _baseline_fits_window(self) -> MonitorSettings:
        from monitor.settings.baseline import check_rules, check_window

        check_window(self.baseline, self.window.events, self.window.size, self.window.bucket)
        check_rules(self.baseline, [(r.name, r.condition) for r in self.rules])
        return self
