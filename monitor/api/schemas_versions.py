"""Response and request bodies of /api/v1 about model versions: champion against
challenger (`/models/{model}/compare`) and deployments with their episodes (`/models/...`).

Split from `monitor.api.schemas` (the shared conventions: names are JSON strings, timestamps
ISO 8601 in UTC, `NO_NUL` on text input).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.api.schemas import NO_NUL, RunBrief, _Out
from monitor.storage.deployments import Deployment, EpisodeAlert, EpisodeRun

# --- champion and challenger (issue 16 item 4) ---------------------------------------------


class VersionTestOut(_Out):
    """The accuracy test: McNemar on the discordant pairs (paired) or the two-proportion z-test."""

    name: Literal["mcnemar_exact", "mcnemar_chi2", "two_proportion_z"]
    statistic: float | None
    p_value: float | None
    discordant: list[int] | None = Field(
        description="[A right and B wrong, A wrong and B right] (paired only)."
    )


class MetricDiffOut(_Out):
    metric: str
    a: float | None
    b: float | None
    diff: float | None = Field(description="b - a")
    low: float | None = Field(description="Bootstrap interval of b - a, lower end.")
    high: float | None


class VersionDriftOut(_Out):
    """A monitor of one of the two versions and its finished run over exactly this window."""

    monitor: str
    version: str
    run: RunBrief | None


class VersionCompareOut(_Out):
    model: str
    window_start: datetime
    window_end: datetime
    version_a: str
    version_b: str
    design: Literal["paired", "unpaired"]
    task: Literal["classification", "regression"] | None
    predictions_a: int
    predictions_b: int
    rows_a: int
    rows_b: int
    pairs: int
    test: VersionTestOut | None
    metrics: list[MetricDiffOut]
    confidence: float
    resamples: int
    reason: str | None
    drift: list[VersionDriftOut]


# --- deployments (issue #16 item 2) ---


class DeploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    reference: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NO_NUL,
        description="The new version's training data: a CSV/Parquet path the service can read.",
    )
    trigger: str | None = Field(
        None,
        max_length=200,
        pattern=NO_NUL,
        description="The outbox delivery id of the retraining trigger that caused it.",
    )


# The stored deployment (`monitor.storage.deployments.Deployment`: its fields are not
# repeated here) and whether this request created it; a dataclass without a docstring, as
# schemas.AlertOut.
@dataclass(frozen=True)
class DeploymentOut(Deployment):
    created: bool


# The stored episode parts (`monitor.storage.deployments`: their fields are not repeated
# here) as dataclasses without docstrings (one would become the OpenAPI description),
# documented and serialised like the models (as schemas.AlertOut).
@dataclass(frozen=True)
class EpisodeAlertOut(EpisodeAlert):
    pass


class EpisodeTriggerOut(_Out):
    delivery_id: str
    route: str
    event: str
    status: str
    delivered_at: datetime | None
    answer: dict[str, Any] | None = Field(description="The target's answer: run id, URL.")


@dataclass(frozen=True)
class EpisodeRunOut(EpisodeRun):
    pass


class EpisodeOut(_Out):
    deployment: DeploymentOut
    alert: EpisodeAlertOut | None
    trigger: EpisodeTriggerOut | None
    runs: list[EpisodeRunOut] = Field(
        description="The deployed version's first finished drift runs per monitor."
    )
    before: list[EpisodeRunOut] = Field(
        description="Each monitor's last finished drift runs before the deployment."
    )


class EpisodeList(_Out):
    items: list[EpisodeOut]


class DeploymentList(_Out):
    items: list[DeploymentOut]
