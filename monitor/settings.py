"""The service config: YAML with ${ENV} interpolation, validated by pydantic at start.

A bad config fails once, here, with the key path and what was expected; secrets are read
from the environment only (interpolation or env-only fields), never from committed files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError

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
    retry_backoff_max_s: float = Field(30.0, gt=0)


FeatureKind = Literal["numeric", "categorical"]


class DriftSettings(_Strict):
    """Drift engine options for one monitor (see docs/drift.md for methods and defaults)."""

    method: str | None = None  # None: size- and kind-aware default
    threshold: float | None = None
    per_feature: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    drift_share: float = Field(0.5, gt=0, le=1)
    bins: int = Field(10, ge=2, le=1000)


class MonitorSettings(_Strict):
    """One monitor: a model (optionally one version or segment) compared with its reference."""

    name: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    model_version: str | None = None
    features: dict[str, FeatureKind] = Field(default_factory=dict)  # empty: inferred from reference
    reference: str | None = None  # path to a CSV/Parquet training set
    drift: DriftSettings = Field(default_factory=DriftSettings)


class LogSettings(_Strict):
    format: Literal["logfmt", "json"] = "logfmt"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Strict):
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    monitors: list[MonitorSettings] = Field(default_factory=list)
    logging: LogSettings = Field(default_factory=LogSettings)

    @field_validator("monitors")
    @classmethod
    def _unique_monitor_names(cls, monitors: list[MonitorSettings]) -> list[MonitorSettings]:
        seen: set[str] = set()
        for m in monitors:
            if m.name in seen:
                raise ValueError(f"monitor name {m.name!r} is used twice")
            seen.add(m.name)
        return monitors

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


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


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
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"config error at {_loc(err['loc'])}: {msg}{more}") from None


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
