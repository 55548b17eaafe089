"""Drift options for one comparison: methods, thresholds, kinds, ignore list, dataset rule.

Validated when built, so a bad option fails before any data is read. `from_settings`
turns the YAML `DriftSettings` into options and names the bad key path on error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.drift.defaults import SMALL_SAMPLE
from monitor.drift.registry import METHODS, Kind, Method, get_method, table
from monitor.errors import ConfigError, DriftError

KINDS: tuple[Kind, ...] = ("numeric", "categorical")
FEATURE_KEYS = ("kind", "method", "threshold")


def _check_threshold(value: float | None, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not math.isfinite(value) or value < 0):
        raise DriftError(f"{where}: threshold must be a finite number >= 0, got {value!r}")


def _default_workers() -> int:
    """Column threads: the process's thread budget (`monitor.threads`, one place)."""
    from monitor.threads import budget

    return budget().workers


@dataclass(frozen=True)
class FeatureOptions:
    """Overrides for one feature; None keeps the global choice."""

    method: str | None = None
    threshold: float | None = None
    kind: Kind | None = None


@dataclass(frozen=True)
class DriftOptions:
    """How to compare two windows.

    `method`/`threshold` apply to every feature whose kind the method accepts (others keep
    their default); `per_feature` overrides them by name. `extra` names methods computed in
    addition to the defaults (e.g. "anderson", "cramer_von_mises"); their numbers appear
    in `stats` but do not decide the verdict. `workers` threads share the columns (default:
    `monitor.threads.budget().workers`). `methods` is the method table (tests pass their own).
    """

    method: str | None = None
    threshold: float | None = None
    per_feature: Mapping[str, FeatureOptions] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    drift_share: float = 0.5
    bins: int = 10
    extra: tuple[str, ...] = ()
    small_sample: int = SMALL_SAMPLE
    workers: int = field(default_factory=_default_workers)
    methods: Mapping[str, Method] = field(
        default_factory=lambda: METHODS, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", table(self.methods))  # lookups once, not per feature
        if self.method is not None:
            get_method(self.method, methods=self.methods)
        _check_threshold(self.threshold, "drift options")
        for name, fo in self.per_feature.items():
            if fo.method is not None:
                get_method(fo.method, fo.kind, self.methods)
            if fo.kind is not None and fo.kind not in KINDS:
                raise DriftError(f"feature {name!r}: kind must be numeric or categorical")
            _check_threshold(fo.threshold, f"feature {name!r}")
        for name in self.extra:
            get_method(name, methods=self.methods)
        if not 0 < self.drift_share <= 1:
            raise DriftError(f"drift_share must be in (0, 1], got {self.drift_share!r}")
        if not 2 <= self.bins <= 1000:
            raise DriftError(f"bins must be between 2 and 1000, got {self.bins!r}")
        if self.workers < 1:
            raise DriftError(f"workers must be at least 1, got {self.workers!r}")

    @classmethod
    def from_settings(cls, settings: Any, prefix: str = "drift", **kw: Any) -> DriftOptions:
        """Options from a `monitor.settings.DriftSettings`; ConfigError names the bad key."""
        per_feature = {
            name: _feature_options(
                raw.model_dump() if hasattr(raw, "model_dump") else raw,
                _path(prefix, f"per_feature.{name}"),
            )
            for name, raw in settings.per_feature.items()
        }
        try:
            return cls(
                method=settings.method,
                threshold=settings.threshold,
                per_feature=per_feature,
                ignore=tuple(settings.ignore),
                drift_share=settings.drift_share,
                bins=settings.bins,
                **kw,
            )
        except DriftError as exc:
            raise ConfigError(f"config error at {prefix or '<root>'}: {exc}") from None


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _feature_options(raw: Any, where: str) -> FeatureOptions:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"config error at {where}: expected a mapping of {', '.join(FEATURE_KEYS)}"
        )
    for key in raw:
        if key not in FEATURE_KEYS:
            raise ConfigError(
                f"config error at {where}.{key}: unknown key; expected {', '.join(FEATURE_KEYS)}"
            )
    kind, method, threshold = raw.get("kind"), raw.get("method"), raw.get("threshold")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"config error at {where}.kind: expected numeric or categorical")
    if method is not None and (not isinstance(method, str) or method not in METHODS):
        valid = ", ".join(sorted(METHODS))
        raise ConfigError(
            f"config error at {where}.method: unknown method {method!r}; valid: {valid}"
        )
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise ConfigError(f"config error at {where}.threshold: expected a number")
    try:
        return FeatureOptions(method=method, threshold=threshold, kind=kind)
    except DriftError as exc:
        raise ConfigError(f"config error at {where}: {exc}") from None
