"""The service's own sections: Kafka, database, ingest, reports, scheduler, API, logging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.settings.base import Duration, StrictModel


class KafkaSettings(StrictModel):
    """Kafka client settings; names follow kafka-python's keyword arguments (the producer,
    admin and `status --lag`); the ingestion consumer maps them to librdkafka properties
    (monitor/ingest/client.py)."""

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


class DatabaseSettings(StrictModel):
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


class IngestSettings(StrictModel):
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
    # Build the sketch deltas in one extra worker process, overlapped with the database
    # round trip: ~2 us/event more CPU than building them in the writer thread and ~230 MB
    # more RSS; it pays off only when a core is free for it (bench/RESULTS.md, s23-deltas).
    delta_process: bool = False


class ReportSettings(StrictModel):
    """HTML drift reports: where they are written and how they are linked."""

    enabled: bool = True
    directory: str = "reports"
    base_url: str | None = None  # link prefix in alerts; default: file:// path
    max_rows: int = Field(20_000, ge=100)  # rows per side sampled into the Evidently report
    history_runs: int = Field(50, ge=1)  # runs shown in the statistic time series
    write_on: Literal["fire", "every_run"] = "fire"  # ("on" would be a YAML boolean)


class SchedulerSettings(StrictModel):
    tick: Duration = timedelta(seconds=10)  # default interval for monitors without a schedule
    lease: Duration = timedelta(minutes=10)  # a "running" run older than this is taken over


MIN_TOKEN_CHARS = 16


class ApiSettings(StrictModel):
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


class LogSettings(StrictModel):
    format: Literal["logfmt", "json"] = "logfmt"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
