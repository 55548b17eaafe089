"""The service config: YAML with ${ENV} interpolation, validated by pydantic at start.

A bad config fails once, here, with the key path and what was expected; secrets are read
from the environment only (interpolation or env-only fields), never from committed files.

Modules: `base` (durations, the strict model base, severities, rule conditions), `service`
(Kafka, database, ingest, reports, scheduler, API, logging), `monitors` (a monitor, its
window, schedule, rules, performance), `routes` (alerting routes and delivery), `targets`
(retraining target routes), `load` (the whole `Settings`, interpolation, YAML). Every public
name is re-exported here.
"""

from monitor.drift.config import DriftSettings, FeatureKind
from monitor.settings.alarm import AlarmSettings
from monitor.settings.base import (
    SEVERITIES,
    Duration,
    RuleCondition,
    Severity,
    StrictModel,
    parse_duration,
)
from monitor.settings.load import Settings, interpolate_env, load_settings, parse_settings
from monitor.settings.mlflow_source import MlflowSettings, parse_model_uri
from monitor.settings.monitors import (
    MonitorSettings,
    PerformanceSettings,
    ReferenceSettings,
    RuleSettings,
    ScheduleSettings,
    WindowSettings,
)
from monitor.settings.routes import (
    ALERTMANAGER_LABELS,
    ROUTE_MODELS,
    AlertingSettings,
    AlertmanagerRoute,
    DeliverySettings,
    Route,
    RouteSettings,
    SlackRoute,
    WebhookRoute,
)
from monitor.settings.service import (
    MIN_TOKEN_CHARS,
    ApiSettings,
    DatabaseSettings,
    IngestSettings,
    KafkaSettings,
    LogSettings,
    ReportSettings,
    SchedulerSettings,
)
from monitor.settings.targets import TargetRoute

__all__ = [
    "ALERTMANAGER_LABELS",
    "MIN_TOKEN_CHARS",
    "ROUTE_MODELS",
    "SEVERITIES",
    "AlarmSettings",
    "AlertingSettings",
    "AlertmanagerRoute",
    "ApiSettings",
    "DatabaseSettings",
    "DeliverySettings",
    "DriftSettings",
    "Duration",
    "FeatureKind",
    "IngestSettings",
    "KafkaSettings",
    "LogSettings",
    "MlflowSettings",
    "MonitorSettings",
    "PerformanceSettings",
    "ReferenceSettings",
    "ReportSettings",
    "Route",
    "RouteSettings",
    "RuleCondition",
    "RuleSettings",
    "ScheduleSettings",
    "SchedulerSettings",
    "Settings",
    "Severity",
    "SlackRoute",
    "StrictModel",
    "TargetRoute",
    "WebhookRoute",
    "WindowSettings",
    "interpolate_env",
    "load_settings",
    "parse_duration",
    "parse_model_uri",
    "parse_settings",
]
