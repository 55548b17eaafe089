"""Response and request bodies of /api/v1 (the OpenAPI document is generated from these).

Names of models, features and categories come from events: they are returned as JSON strings,
never interpreted. Timestamps are ISO 8601 in UTC. The bodies about model versions (champion
and challenger, deployments, episodes) are in `monitor.api.schemas_versions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from monitor.lifecycle import Alert
from monitor.storage.mlflow_refs import Lineage

NO_NUL = r"^[^\x00]*$"  # Postgres text cannot hold NUL; such input is invalid, not a 5xx


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(_Out):
    """Every error: a one-line reason (FastAPI's validation errors keep their own shape)."""

    detail: str


class Schedule(_Out):
    window_kind: str
    window_size_seconds: float | None
    window_step_seconds: float | None
    window_events: int | None
    lateness_seconds: float
    interval_seconds: float | None
    cron: str | None


class RunBrief(_Out):
    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    status: str
    dataset_drift: bool | None
    drift_share: float | None
    n_features: int | None
    n_drifted: int | None
    current_rows: int | None
    reference_rows: int | None
    duration_seconds: float | None
    finished_at: datetime | None
    report_url: str | None
    error: str | None


class DeployedVersion(_Out):
    id: int
    version: str
    deployed_at: datetime
    configured_version: str | None


class MonitorOut(_Out):
    name: str
    model: str
    model_version: str | None = Field(
        description="The version the monitor runs on: the newest deployment's, else the config's."
    )
    segment: dict[str, str]
    reference_version: int | None
    schedule: Schedule
    rules: list[str]
    last_run: RunBrief | None
    alerts_firing: int
    deployment: DeployedVersion | None = Field(
        None, description="The deployment whose version replaced the configured one, if any."
    )


class MonitorList(_Out):
    items: list[MonitorOut]


class RunPage(_Out):
    items: list[RunBrief]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class FeatureResultOut(_Out):
    feature: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool | None
    stats: dict[str, Any] | None


class PerformanceOut(_Out):
    revision: int
    status: str
    predictions: int
    labelled: int
    computed_at: datetime
    metrics: dict[str, Any] | None


class RunDetail(RunBrief):
    reference_id: int | None
    reference_version: int | None
    started_at: datetime
    summary: dict[str, Any] | None
    data_quality: dict[str, Any] | None
    features: list[FeatureResultOut]
    performance: PerformanceOut | None
    report: str | None = Field(description="API path of the stored HTML report, if any.")


class HistoryPoint(_Out):
    run_id: int
    window_start: datetime
    window_end: datetime
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool | None


class FeatureHistory(_Out):
    monitor: str
    feature: str
    threshold: float | None = Field(description="The threshold of the newest point.")
    points: list[HistoryPoint] = Field(description="Oldest first (what a chart plots).")


# An alert row (`monitor.lifecycle.Alert`: its fields are not repeated here) and its newest
# acknowledgement. A dataclass (no docstring: it would become the OpenAPI description);
# FastAPI documents and serialises it like the models.
@dataclass(frozen=True)
class AlertOut(Alert):
    acknowledged_at: datetime | None


class AlertPage(_Out):
    items: list[AlertOut]
    next_cursor: str | None


class AlertEventOut(_Out):
    id: int
    state: str
    at: datetime
    run_id: int | None
    detail: dict[str, Any] | None


class DeliveryOut(_Out):
    delivery_id: str
    channel: str
    route: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    external_id: str | None = None  # the channel's id: a retraining target's run id
    answer: dict[str, Any] | None = None  # a retraining target's answer (run id, URL)


@dataclass(frozen=True)
class AlertDetail(AlertOut):
    history: list[AlertEventOut]
    deliveries: list[DeliveryOut]


class DeadLetterSample(_Out):
    id: int
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    received_at: datetime
    raw_bytes: int = Field(description="Length of the stored prefix of the message.")
    raw_preview: str = Field(
        description="The stored prefix decoded as UTF-8, undecodable bytes as \\xNN escapes."
    )
    raw_base64: str = Field(description="The stored prefix, exactly, base64-encoded.")


class DeadLetters(_Out):
    total: int
    counts: dict[str, int]
    samples: list[DeadLetterSample]


# The stored lineage (`monitor.storage.mlflow_refs.Lineage`: its fields are not repeated
# here), a dataclass documented and serialised like the models (as AlertOut).
@dataclass(frozen=True)
class MlflowLineage(Lineage):
    """Where an MLflow reference version came from (issue 16)."""


class ReferenceVersion(_Out):
    id: int
    version: int
    created_at: datetime
    source: str
    row_count: int
    mlflow: MlflowLineage | None = None  # an MLflow reference: model version, run, digest


class ReferenceList(_Out):
    monitor: str
    items: list[ReferenceVersion]


class RunNowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(
        None, description="Run as if the clock read this instant (default: now); not in the future."
    )


class RunNowOut(_Out):
    monitor: str
    at: datetime
    runs: list[RunBrief]


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monitor: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    rule: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    until: AwareDatetime
    reason: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class SilenceOut(_Out):
    id: int
    monitor: str
    rule: str | None
    until: datetime
    reason: str | None
    created_at: datetime


class SilenceList(_Out):
    items: list[SilenceOut]


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(None, max_length=200, pattern=NO_NUL)
    comment: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class Health(_Out):
    status: Literal["ok", "ready", "not_ready"]
    checks: dict[str, bool] = Field(default_factory=dict)


# --- estimates (issue #15 item 5) ---


class EstimatedMetricOut(_Out):
    """One metric's estimate with its band; `realised` once the window's labels arrived."""

    name: str
    value: float | None
    lower: float | None
    upper: float | None
    sampling_error: float | None
    reference_error: float | None
    realised: float | None
    reason: str | None
    # once labelled: realised - value, its size, and whether the band (for the labelled rows,
    # docs/estimation.md "The gap") held the realised value; null before the labels arrive
    gap: float | None = None
    abs_gap: float | None = None
    covered: bool | None = None


class WindowEstimateOut(_Out):
    window_start: datetime
    window_end: datetime
    method: str
    task: str | None
    rows: int
    labelled: int | None = None  # rows with a label among `rows` (null: not counted)
    computed_at: datetime
    metrics: list[EstimatedMetricOut]
    notes: list[str]


class EstimateList(_Out):
    monitor: str
    items: list[WindowEstimateOut]
