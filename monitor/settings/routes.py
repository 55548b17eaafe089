"""`alerting`: notification routes by type, delivery, repeat interval.

Each route type is one settings model whose `type` literal names it; `ROUTE_MODELS` lists
them (the core channels here, the retraining targets in `monitor.settings.targets`) and the
`Route` union is built from that tuple. `monitor.notify.registry` pairs each model with its
sender and checks at import that both cover the same types.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal, Protocol, Union

from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.settings.base import Duration, RuleCondition, Severity, StrictModel
from monitor.settings.targets import TARGET_ROUTE_MODELS


class SlackRoute(StrictModel):
    """Slack through slack-sdk: an incoming-webhook URL, or a bot token and a channel."""

    type: Literal["slack"]
    webhook_url: SecretStr | None = None
    token: SecretStr | None = None
    channel: str | None = None
    base_url: str | None = None  # Slack API base (tests, Enterprise Grid proxies)
    min_severity: Severity = "info"
    rules: list[str] = Field(default_factory=list)  # empty: every rule

    @model_validator(mode="after")
    def _target(self) -> SlackRoute:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("give either webhook_url or token (with channel)")
        if self.token is not None and not self.channel:
            raise ValueError("a bot token needs a channel")
        return self


class WebhookRoute(StrictModel):
    """A signed JSON POST (the retraining trigger). The secret comes from the environment."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr
    min_severity: Severity = "info"
    rules: list[str] = Field(default_factory=list)  # empty: every rule
    conditions: list[RuleCondition] = Field(default_factory=list)  # empty: every condition
    events: list[str] = Field(default_factory=list)  # empty: every event (drift.detected, ...)
    cooldown: Duration = timedelta(0)  # one notification per alert subject per cooldown
    timeout: Duration = timedelta(seconds=10)

    @field_validator("secret")
    @classmethod
    def _non_empty(cls, secret: SecretStr) -> SecretStr:
        if not secret.get_secret_value():
            raise ValueError("the webhook secret is empty (set it through ${ENV_VAR})")
        return secret


_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALERTMANAGER_LABELS = ("alertname", "monitor", "model", "severity", "rule", "subject")


class AlertmanagerRoute(StrictModel):
    """Alerts posted to an Alertmanager (`POST {url}/api/v2/alerts`).

    Alertmanager resolves an alert nobody re-sent by its `endsAt`; each post sets it to
    send time + `resolve_timeout`, and a firing alert is re-sent every `resend_interval`
    (which must be shorter) for as long as it fires. `generator_url`: the monitor
    service's external base URL (alerts link to `/api/v1/alerts/{id}` when a report URL is
    not http(s)). `labels` are added to every alert (e.g. team, env).
    """

    type: Literal["alertmanager"]
    url: str = Field(pattern=r"^https?://")  # base URL, e.g. http://alertmanager:9093
    min_severity: Severity = "info"
    rules: list[str] = Field(default_factory=list)  # empty: every rule
    resend_interval: Duration = timedelta(minutes=1)
    resolve_timeout: Duration = timedelta(minutes=5)
    timeout: Duration = timedelta(seconds=10)
    generator_url: str | None = Field(None, pattern=r"^https?://")
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name in labels:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(f"label name {name!r} is not a valid Prometheus label name")
            if name in ALERTMANAGER_LABELS:
                raise ValueError(f"label {name!r} is set by the monitor; choose another name")
        return labels

    @model_validator(mode="after")
    def _resend_in_time(self) -> AlertmanagerRoute:
        if self.resend_interval <= timedelta(0) or self.timeout <= timedelta(0):
            raise ValueError("resend_interval and timeout must be positive")
        if self.resend_interval >= self.resolve_timeout:
            raise ValueError(
                "resend_interval must be shorter than resolve_timeout"
                " (Alertmanager would resolve a firing alert between two sends)"
            )
        return self


ROUTE_MODELS: tuple[type[StrictModel], ...] = (
    SlackRoute,
    WebhookRoute,
    AlertmanagerRoute,
    *TARGET_ROUTE_MODELS,
)


class RouteSettings(Protocol):
    """What every route model has; anything else is read after an isinstance check."""

    @property
    def type(self) -> str: ...

    @property
    def min_severity(self) -> str: ...

    @property
    def rules(self) -> list[str]: ...


if TYPE_CHECKING:  # statically a route is any route model; at run time, the one its `type` names
    Route = RouteSettings
else:
    Route = Annotated[Union[ROUTE_MODELS], Field(discriminator="type")]  # noqa: UP007 (built from the tuple)


class DeliverySettings(StrictModel):
    """Outbox delivery: retries with exponential backoff and jitter, then a terminal failure."""

    max_attempts: int = Field(12, ge=1)
    max_age: Duration = timedelta(hours=24)
    backoff_initial: Duration = timedelta(seconds=1)
    backoff_max: Duration = timedelta(minutes=5)
    poll_interval: Duration = timedelta(seconds=1)
    batch_size: int = Field(50, ge=1)


class AlertingSettings(StrictModel):
    routes: dict[str, Route] = Field(default_factory=dict)
    repeat_interval: Duration = timedelta(hours=4)  # re-notify a still-firing alert
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
