"""The whole config (`Settings`), ${ENV} interpolation, and loading from YAML."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from monitor.config_errors import one_line
from monitor.errors import ConfigError
from monitor.settings.base import StrictModel
from monitor.settings.mlflow_source import MlflowSettings, with_tracking_uri
from monitor.settings.monitors import MonitorSettings
from monitor.settings.routes import AlertingSettings
from monitor.settings.service import (
    ApiSettings,
    DatabaseSettings,
    IngestSettings,
    KafkaSettings,
    LogSettings,
    ReportSettings,
    SchedulerSettings,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Settings(StrictModel):
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    monitors: list[MonitorSettings] = Field(default_factory=list)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)  # issue 16: MLflow references

    @model_validator(mode="before")
    @classmethod
    def _mlflow_server(cls, data: Any) -> Any:
        return with_tracking_uri(data)  # issue 16: a monitor's MLflow reference knows its server

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


def interpolate_env(value: Any, path: str = "", env: Mapping[str, str] | None = None) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string; a missing variable names its key."""
    values: Mapping[str, str] = os.environ if env is None else env
    if isinstance(value, dict):
        return {
            k: interpolate_env(v, f"{path}.{k}" if path else str(k), values)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate_env(v, f"{path}[{i}]", values) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in values:
                return values[name]
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
