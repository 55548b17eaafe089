"""The service config: YAML with ${ENV} interpolation, validated by pydantic at start.

A bad config fails once, here, with the key path and what was expected; secrets are read
from the environment only (interpolation or env-only fields), never from committed files.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.config_errors import one_line
from monitor.drift.config import DriftSettings, FeatureKind
from monitor.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Any) -> timedelta:
    """'90s', '5m', '1h', '2d', '1w', '250ms' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 1h or 1d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"expected a duration such as 30s, 5m, 1h or 1d, got {value!r}")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Strict):
    """kafka-python consumer settings; names follow kafka-python's keyword arguments."""

    bootstrap_servers: list[str] = Field(default_factory=lambda: ["127.0.0.1:9092"], min_length=1)
    group_id: str = "monitor"
    predictions_topic: str = "predictions"
    labels_topic: str = "labels"
    client_id: str = "monitor"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    session_timeout_ms: int = Field(10_000, ge=1_000)
    heartbeat_interval_ms: int = Field(3_000, ge=100)
    max_poll_records: int = Field(2_000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(500, ge=10)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> KafkaSettings:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        return self

    def client_options(self) -> dict[str, Any]:
        """Connection options shared by consumers, producers and admin clients."""
        opts: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            opts["sasl_mechanism"] = self.sasl_mechanism
            opts["sasl_plain_username"] = self.sasl_plain_username
            if self.sasl_plain_password is not None:
                opts["sasl_plain_password"] = self.sasl_plain_password.get_secret_value()
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            if getattr(self, key):
                opts[key] = getattr(self, key)
        return opts


class DatabaseSettings(_Strict):
    """SQLAlchemy URL. SQLite is the embedded default; Postgres (psycopg 3) in production."""

    url: SecretStr = SecretStr("sqlite:///monitor.db")
    auto_upgrade: bool = True  # run Alembic migrations on start
    pool_size: int = Field(5, ge=1)

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(("sqlite", "postgresql")):
            raise ValueError("expected a URL starting with sqlite:// or postgresql+psycopg://")
        return url


class IngestSettings(_Strict):
    """Validation and retention policy for raw events."""

    max_payload_bytes: int = Field(1_000_000, ge=1_024)
    dead_letter_raw_bytes: int = Field(4_096, ge=0)  # prefix of a rejected message kept verbatim
    accept_unknown_models: bool = (
        False  # when False, events for models no monitor names are dead-lettered
    )
    retention_days: int = Field(
        30, ge=1
    )  # raw events older than this are deleted by the retention job
    # Cap of the consumer's backoff while the database is down (store retries, the start-up
    # wait, the rejoin probe): the steady-state probe interval, so also the longest delay
    # before it resumes once the database is back. Jittered in [cap/2, cap].
    retry_backoff_max_s: float = Field(2.0, gt=0, le=300)
    # A consumer group member that cannot store for this long leaves the group, so members
    # that reach the database take its partitions over; it rejoins once its database answers.
    # null: never leave (e.g. a single consumer: rejoining costs a group join).
    leave_group_after_s: float | None = Field(15.0, ge=1, le=3600)


class ReferenceSettings(_Strict):
    """Where a monitor's reference (training) window comes from; exactly one source.

    `path`: a CSV/Parquet file. `start`/`end`: a fixed time range of stored events.
    `first_events` / `first_days`: the first N events / D days of stored traffic of the
    monitor's model (version). Materialised once and versioned (`monitor reference`).
    """

    path: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    first_events: int | None = Field(None, ge=1)
    first_days: float | None = Field(None, gt=0)
    prediction_column: str | None = "prediction"  # file column holding the model's output
    label_column: str | None = "label"  # file column holding ground truth (performance)

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceSettings:
        sources = [
            self.path is not None,
            self.start is not None or self.end is not None,
            self.first_events is not None,
            self.first_days is not None,
        ]
        if sum(sources) != 1:
            raise ValueError("give exactly one of path, start+end, first_events or first_days")
        if (self.start is None) != (self.end is None):
            raise ValueError("a time-range reference needs both start and end")
        for ts in (self.start, self.end):
            if ts is not None and ts.tzinfo is None:
                raise ValueError("start/end need a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WindowSettings(_Strict):
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


class ScheduleSettings(_Strict):
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


Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
RuleCondition = Literal[
    "dataset_drift",
    "drift_share",
    "feature_statistic",
    "feature_drift",
    "prediction_drift",
    "multivariate_drift",
    "missing_share",
    "new_category",
    "out_of_range_share",
    "insufficient_data",
    "performance",
]


class RuleSettings(_Strict):
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
        if self.condition == "performance" and not self.metric:
            raise ValueError("condition performance needs a metric")
        if self.condition == "performance" and self.threshold is None and self.max_drop is None:
            raise ValueError("condition performance needs a threshold or max_drop")
        return self


class PerformanceSettings(_Strict):
    """Model performance once labels arrive: metrics per window, version and segment.

    Windows are the monitor's own; a window is re-evaluated when labels for its predictions
    arrive, for `label_horizon` after it closed (each change is a new stored revision).
    """

    enabled: bool | None = None  # None: on when a rule has condition performance
    task: Literal["classification", "regression"] | None = None  # None: inferred
    positive_class: str | int | bool | None = None  # binary: default the larger class
    label_horizon: Duration = timedelta(days=14)
    min_rows: int = Field(50, ge=1)  # labelled rows below which a group has no metrics
    segments: bool = True


class MonitorSettings(_Strict):
    """One monitor: a model (optionally one version or segment) compared with its reference."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")
    model: str = Field(min_length=1, max_length=200)
    model_version: str | None = None
    segment: dict[str, str] = Field(default_factory=dict)  # only events whose segment matches
    features: dict[str, FeatureKind] = Field(default_factory=dict)  # empty: inferred from reference
    reference: ReferenceSettings | None = None
    window: WindowSettings = Field(default_factory=WindowSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    prediction_drift: bool = True  # the prediction/score distribution as one more feature
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    rules: list[RuleSettings] = Field(default_factory=list)

    @property
    def performance_enabled(self) -> bool:
        if self.performance.enabled is not None:
            return self.performance.enabled
        return any(r.condition == "performance" for r in self.rules)

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


class SlackRoute(_Strict):
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


class WebhookRoute(_Strict):
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


class AlertmanagerRoute(_Strict):
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


# "TargetRoutes": the retraining targets' route models (Airflow, GitHub Actions, ...), resolved
# by monitor/notify/targets/registry.py, which is imported at the end of this module.
Route = Annotated[
    Union[SlackRoute, WebhookRoute, AlertmanagerRoute, "TargetRoutes"],  # noqa: F821
    Field(discriminator="type"),
]


class DeliverySettings(_Strict):
    """Outbox delivery: retries with exponential backoff and jitter, then a terminal failure."""

    max_attempts: int = Field(12, ge=1)
    max_age: Duration = timedelta(hours=24)
    backoff_initial: Duration = timedelta(seconds=1)
    backoff_max: Duration = timedelta(minutes=5)
    poll_interval: Duration = timedelta(seconds=1)
    batch_size: int = Field(50, ge=1)


class AlertingSettings(_Strict):
    routes: dict[str, Route] = Field(default_factory=dict)
    repeat_interval: Duration = timedelta(hours=4)  # re-notify a still-firing alert
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


class ReportSettings(_Strict):
    """HTML drift reports: where they are written and how they are linked."""

    enabled: bool = True
    directory: str = "reports"
    base_url: str | None = None  # link prefix in alerts; default: file:// path
    max_rows: int = Field(20_000, ge=100)  # rows per side sampled into the Evidently report
    history_runs: int = Field(50, ge=1)  # runs shown in the statistic time series
    write_on: Literal["fire", "every_run"] = "fire"  # ("on" would be a YAML boolean)


class SchedulerSettings(_Strict):
    tick: Duration = timedelta(seconds=10)  # default interval for monitors without a schedule
    lease: Duration = timedelta(minutes=10)  # a "running" run older than this is taken over


MIN_TOKEN_CHARS = 16


class ApiSettings(_Strict):
    """The HTTP API (`serve --role api|all`) and the metrics port of the other roles.

    Tokens come from the environment (`read_tokens: ["${MONITOR_READ_TOKEN}"]`); admin
    tokens also read. Empty entries (an unset `${VAR:-}`) are dropped. With no token at all
    the API serves without auth and refuses to bind to anything but loopback.
    """

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    metrics_port: int | None = Field(None, ge=1, le=65535)  # consumer/scheduler-only roles
    read_tokens: list[SecretStr] = Field(default_factory=list)
    admin_tokens: list[SecretStr] = Field(default_factory=list)
    max_page_size: int = Field(500, ge=1, le=10_000)
    # monitors whose per-feature drift gauges are exported (cardinality: features x monitors)
    feature_metrics: list[str] = Field(default_factory=list)

    @field_validator("read_tokens", "admin_tokens")
    @classmethod
    def _usable_tokens(cls, tokens: list[SecretStr]) -> list[SecretStr]:
        kept = [t for t in tokens if t.get_secret_value()]
        for t in kept:  # never echo the token itself
            if len(t.get_secret_value()) < MIN_TOKEN_CHARS:
                raise ValueError(f"a token is shorter than {MIN_TOKEN_CHARS} characters")
        return kept


class LogSettings(_Strict):
    format: Literal["logfmt", "json"] = "logfmt"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Strict):
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    monitors: list[MonitorSettings] = Field(default_factory=list)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @field_validator("monitors")
    @classmethod
    def _unique_monitor_names(cls, monitors: list[MonitorSettings]) -> list[MonitorSettings]:
        seen: set[str] = set()
        for m in monitors:
            if m.name in seen:
                raise ValueError(f"monitor name {m.name!r} is used twice")
            seen.add(m.name)
        return monitors

    @model_validator(mode="after")
    def _routes_exist(self) -> Settings:
        for i, m in enumerate(self.monitors):
            for j, rule in enumerate(m.rules):
                for route in rule.routes:
                    if route not in self.alerting.routes:
                        raise ValueError(
                            f"monitors[{i}].rules[{j}].routes: unknown route {route!r}"
                            f" (alerting.routes has {sorted(self.alerting.routes) or 'none'})"
                        )
        return self

    def monitor(self, name: str) -> MonitorSettings:
        for m in self.monitors:
            if m.name == name:
                return m
        raise ConfigError(
            f"no monitor named {name!r} (configured: {', '.join(m.name for m in self.monitors) or 'none'})"
        )

    def known_models(self) -> frozenset[str]:
        return frozenset(m.model for m in self.monitors)


def interpolate_env(value: Any, path: str = "", env: dict[str, str] | None = None) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string; a missing variable names its key."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {
            k: interpolate_env(v, f"{path}.{k}" if path else str(k), env) for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate_env(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"config error at {path or '<root>'}: environment variable {name} is not set"
            )

        return _ENV_REF.sub(sub, value)
    return value


def parse_settings(data: Any, env: dict[str, str] | None = None) -> Settings:
    """Validate a config mapping; raise ConfigError naming the first bad key path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("config error at <root>: expected a mapping of sections")
    data = interpolate_env(data, env=env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, Settings)) from None


def load_settings(path: str | Path | None, env: dict[str, str] | None = None) -> Settings:
    """Read YAML from `path` (None: built-in defaults) and validate it."""
    if path is None:
        return parse_settings({}, env)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {p}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config error: {p}{where} is not valid YAML") from None
    return parse_settings(data, env)


# Registers the retraining targets' route models in `Route` (it needs the names above).
import monitor.notify.targets.registry  # noqa: E402, F401
