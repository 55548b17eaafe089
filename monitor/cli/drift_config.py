"""What `monitor drift --config` reads: drift options (and rules), or a service config + --monitor.

A drift-options file holds the keys of `DriftSettings` plus an optional `rules:` list (the
service's rule syntax); a service config (top-level `monitors:`, `database:`, ...) is read
whole and one monitor's `drift:` and `rules:` are taken from it. The store it names is
never opened. pydantic and the settings module are imported only when a file is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

SERVICE_KEYS = frozenset(
    {
        "kafka",
        "database",
        "ingest",
        "monitors",
        "alerting",
        "reports",
        "scheduler",
        "logging",
        "api",
    }
)
TAKES = (
    "`drift --config` takes drift options (method, threshold, per_feature, drift_share, "
    "multivariate, rules, ...) or a service config with --monitor NAME"
)


@dataclass(frozen=True)
class DriftConfig:
    """The drift settings (None: the defaults) and the rules that gate `--fail-on-drift`."""

    settings: Any = None  # monitor.settings.DriftSettings
    rules: tuple[Any, ...] = ()  # monitor.settings.RuleSettings
    monitor: str | None = None

    @property
    def multivariate(self) -> bool:
        return bool(self.settings is not None and self.settings.multivariate)


def load_drift_config(path: str | Path | None, monitor: str | None = None) -> DriftConfig:
    """The config behind one `monitor drift` run; ConfigError (one line) names the bad key."""
    if path is None:
        if monitor is not None:
            raise ConfigError("--monitor needs a service config: pass it with --config FILE")
        return DriftConfig()
    p = Path(path)
    data = _read_yaml(p)
    if SERVICE_KEYS & set(data):
        return _from_service_config(p, data, monitor)
    if monitor is not None:
        raise ConfigError(f"--monitor needs a service config; {p} holds drift options")
    return _from_drift_options(data)


def _read_yaml(p: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {p}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"config error: {p} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config error at <root>: {p} must hold a mapping; {TAKES}")
    return data


def _from_drift_options(data: dict) -> DriftConfig:
    from pydantic import Field, ValidationError

    from monitor.settings import DriftSettings, RuleSettings

    class DriftFile(DriftSettings):
        """DriftSettings plus the rules that decide `--fail-on-drift`."""

        rules: list[RuleSettings] = Field(default_factory=list)

    try:
        parsed = DriftFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"config error at {_loc(err['loc'])}: {msg}") from None
    settings = DriftSettings.model_validate(parsed.model_dump(exclude={"rules"}))
    return DriftConfig(settings, tuple(parsed.rules))


def _from_service_config(p: Path, data: dict, monitor: str | None) -> DriftConfig:
    if monitor is None:
        names = [
            str(m.get("name")) for m in data.get("monitors") or [] if isinstance(m, dict)
        ]  # fmt: skip
        listed = f" (monitors: {', '.join(names)})" if names else " (it names no monitor)"
        raise ConfigError(f"config error: {p} is a service config; {TAKES}{listed}")
    from monitor.settings import parse_settings

    chosen = parse_settings(data).monitor(monitor)
    return DriftConfig(chosen.drift, tuple(chosen.rules), chosen.name)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"
