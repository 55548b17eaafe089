"""MLflow as a reference source (issue 16 item 5): the tracking server and the alias watcher.

A monitor's `reference: {mlflow: "models:/churn@champion"}` names a registered model version;
this section says where the tracking server is (`tracking_uri`, else `MLFLOW_TRACKING_URI`)
and whether the scheduler follows the alias (`watch_alias`, every `poll_interval`). The
credentials are read from the environment only (MLFLOW_TRACKING_TOKEN, or
MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD), never from the config.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import field_validator

from monitor.settings.base import Duration, StrictModel

# models:/NAME/VERSION or models:/NAME@ALIAS (MLflow's model URIs of the registry)
MODEL_URI = re.compile(r"^models:/(?P<name>[^@]+?)(?:/(?P<version>[0-9]+)|@(?P<alias>[\w\-]+))$")
MODEL_URI_FORM = "models:/NAME/VERSION or models:/NAME@ALIAS"


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(registered model name, version, alias) of an MLflow registry URI; ValueError else."""
    m = MODEL_URI.match(uri.strip())
    if m is None:
        raise ValueError(f"{uri!r} is not an MLflow model URI ({MODEL_URI_FORM})")
    return m.group("name"), m.group("version"), m.group("alias")


class MlflowSettings(StrictModel):
    """The MLflow tracking server references are read from, and the alias watcher."""

    tracking_uri: str | None = None  # None: the MLFLOW_TRACKING_URI environment variable
    watch_alias: bool = False  # follow `models:/NAME@ALIAS` references: deploy when it moves
    poll_interval: Duration = timedelta(minutes=1)

    @field_validator("tracking_uri")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("tracking_uri must be an http(s) URL of an MLflow tracking server")
        return check_tracking_uri(value)

    @field_validator("poll_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive")
        return value


def check_tracking_uri(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("tracking_uri must be an http(s) URL of an MLflow tracking server")
    return value


def with_tracking_uri(data: Any) -> Any:
    """The raw config with `mlflow.tracking_uri` copied into every MLflow reference that does
    not name its own (`reference.tracking_uri`), so a monitor carries its server."""
    if not isinstance(data, dict) or not isinstance(data.get("mlflow"), dict):
        return data
    uri = data["mlflow"].get("tracking_uri")
    if not uri or not isinstance(data.get("monitors"), list):
        return data
    monitors = []
    for m in data["monitors"]:
        ref = m.get("reference") if isinstance(m, dict) else None
        if isinstance(ref, str) and ref.startswith("models:/"):
            ref = {"mlflow": ref}
        if isinstance(ref, dict) and ref.get("mlflow") and not ref.get("tracking_uri"):
            m = {**m, "reference": {**ref, "tracking_uri": uri}}
        monitors.append(m)
    return {**data, "monitors": monitors}
