"""The `drift:` section of a monitor's config, validated when the config is parsed.

Method names, per-feature keys, kinds and thresholds fail at load naming their key path
(e.g. `monitors[0].drift.per_feature.x.method`), not at the monitor's first run. The checks
are the registry's own (`get_method`), so load-time and run-time agree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.drift.registry import get_method
from monitor.errors import DriftError, KeyPathError

FeatureKind = Literal["numeric", "categorical"]
Threshold = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# "auto": the null quantile learned from the reference at the window's size (issue 14)
AutoThreshold = Annotated[Literal["auto"] | Threshold, Field(union_mode="left_to_right")]
Correction = Literal["none", "holm", "bh"]
# the statistic an auto feature is judged by when no method is configured (kept equal to
# monitor.drift.calibration.AUTO_METHOD, which this light module cannot import)
AUTO_DEFAULT_METHOD: dict[str, str] = {
    "numeric": "wasserstein_normed",
    "categorical": "jensenshannon",
}


def check_method(name: str, kind: FeatureKind | None = None) -> None:
    """ValueError (for pydantic) unless the registry knows `name` (and it accepts `kind`)."""
    try:
        get_method(name, kind)
    except DriftError as exc:
        raise ValueError(str(exc)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureDriftSettings(_Strict):
    """Overrides for one feature; None keeps the monitor's choice."""

    kind: FeatureKind | None = None
    method: str | None = None
    threshold: AutoThreshold | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str | None) -> str | None:
        if method is not None:
            check_method(method)
        return method

    @model_validator(mode="after")
    def _method_fits_kind(self) -> FeatureDriftSettings:
        if self.method is not None and self.kind is not None:
            try:
                check_method(self.method, self.kind)
            except ValueError as exc:
                raise KeyPathError(("method",), str(exc)) from None
        return self


class DriftSettings(_Strict):
    """Drift engine options for one monitor (see docs/drift.md for methods and defaults)."""

    method: str | None = None  # None: size- and kind-aware default (auto: AUTO_DEFAULT_METHOD)
    # None: "auto" for distances (and for features without a configured method), the
    # method's fixed default for a configured p-value test; a number keeps today's rule
    threshold: AutoThreshold | None = None
    # the dataset decision over the auto features' calibrated p-values (docs/drift.md)
    correction: Correction = "holm"
    per_feature: dict[str, FeatureDriftSettings] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    drift_share: float = Field(0.5, gt=0, le=1)
    bins: int = Field(10, ge=2, le=1000)
    # Domain classifier on raw rows (at most `multivariate_rows` per side): catches drift
    # spread thinly over many features or in their correlations. Costs a few seconds a run.
    multivariate: bool = False
    multivariate_threshold: float = Field(0.55, ge=0.5, lt=1)
    multivariate_rows: int = Field(5_000, ge=100, le=200_000)

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str | None) -> str | None:
        if method is not None:
            check_method(method)
        return method

    def auto_method(self, name: str, kind: FeatureKind) -> str | None:
        """The method feature `name` is judged by with an auto threshold; None when its
        threshold is fixed (a number set for it or for the monitor, or no threshold with a
        configured p-value test: existing configs keep their rule)."""
        fs = self.per_feature.get(name)
        method = fs.method if fs is not None and fs.method else None
        if method is None and self.method and kind in get_method(self.method).kinds:
            method = self.method
        own = fs.threshold if fs is not None else None
        if own is not None:
            auto = own == "auto"
        elif self.threshold is not None:
            auto = self.threshold == "auto"
        else:
            auto = method is None or not get_method(method).is_p_value
        if not auto:
            return None
        return method or AUTO_DEFAULT_METHOD[kind]

    def fixed(self) -> DriftSettings:
        """These settings with every "auto" threshold left out (None): what the engine's
        fixed-threshold path reads; auto features get their thresholds per window."""
        per = {
            k: f.model_copy(update={"threshold": None}) if f.threshold == "auto" else f
            for k, f in self.per_feature.items()
        }
        top = None if self.threshold == "auto" else self.threshold
        return self.model_copy(update={"threshold": top, "per_feature": per})

    def check_kinds(self, features: dict[str, FeatureKind]) -> None:
        """KeyPathError when a per-feature method does not accept the kind the monitor's
        `features` declares for that feature."""
        for name, fs in self.per_feature.items():
            kind = fs.kind or features.get(name)
            if fs.method is not None and kind is not None:
                try:
                    check_method(fs.method, kind)
                except ValueError as exc:
                    raise KeyPathError(("drift", "per_feature", name, "method"), str(exc)) from None
