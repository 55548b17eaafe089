"""Null thresholds of a reference version: calibrated when it is materialised, stored once.

A monitor's auto-threshold features (`DriftSettings.auto_method`) judged by a distance need
their statistic's null quantiles (`monitor.drift.calibration.calibrate`: windows drawn from
the reference itself, quantiles on a grid of window sizes). `materialise_nulls` computes them
from the reference rows right after the reference version is stored; `ensure_nulls` does it
once, lazily, for a version stored before nulls existed (or after the config named another
method), re-reading the reference rows. Both store through `monitor.storage.nulls`, whose
unique key lets the first of several replicas win. Features judged by a p-value test need no
null (the test's p-value is used as it is).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from monitor.drift.calibration import FeatureNull, calibrate
from monitor.drift.registry import METHODS, Kind
from monitor.drift.sketch import Spec
from monitor.errors import DriftError, MonitorError
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine
from monitor.storage.nulls import StoredNulls, load_null_table, store_nulls

log = logging.getLogger("monitor.reference")

SEED = 0  # calibration draws are seeded: every replica computes the same quantiles

__all__ = ["SEED", "calibrate_nulls", "ensure_nulls", "materialise_nulls", "wanted_nulls"]


def wanted_nulls(
    monitor: MonitorSettings, specs: Mapping[str, Spec]
) -> dict[str, tuple[Kind, str]]:
    """Feature -> (kind, method) of every auto-threshold feature judged by a distance."""
    out: dict[str, tuple[Kind, str]] = {}
    for name, spec in specs.items():
        method = monitor.drift.auto_method(name, spec.kind)
        if method is not None and not METHODS[method].is_p_value:
            out[name] = (spec.kind, method)
    return out


def calibrate_nulls(
    frame: pd.DataFrame, wanted: Mapping[str, tuple[Kind, str]], seed: int = SEED
) -> list[FeatureNull]:
    """Each wanted feature's null from the reference rows; a column that cannot be
    calibrated (no values, a statistic without a null) is logged and left out: it keeps the
    method's fixed threshold."""
    out: list[FeatureNull] = []
    for name, (kind, method) in wanted.items():
        if name not in frame.columns:
            continue
        try:
            cal = calibrate(frame[[name]], methods={name: (method,)}, kinds={name: kind}, seed=seed)
        except DriftError as exc:
            log.warning("null_not_calibrated", extra={"feature": name, "error": str(exc)})
            continue
        out.extend(cal.features.values())
    return out


def materialise_nulls(
    engine: Engine,
    monitor: MonitorSettings,
    reference_id: int,
    frame: pd.DataFrame,
    specs: Mapping[str, Spec],
    now: datetime,
    wanted: Mapping[str, tuple[Kind, str]] | None = None,
) -> StoredNulls | None:
    """Calibrate and store the nulls of a reference version (None: no feature needs one)."""
    wanted = wanted_nulls(monitor, specs) if wanted is None else wanted
    if not wanted:
        return None
    began = time.monotonic()
    nulls = calibrate_nulls(frame, wanted)
    stored = store_nulls(engine, reference_id, nulls, SEED, now)
    log.info(
        "nulls_calibrated",
        extra={
            "monitor": monitor.name,
            "reference_id": reference_id,
            "features": len(nulls),
            "stored": stored.created,
            "seconds": round(time.monotonic() - began, 3),
        },
    )
    return stored


def ensure_nulls(
    engine: Engine,
    monitor: MonitorSettings,
    reference_id: int,
    specs: Mapping[str, Spec],
    now: datetime,
) -> tuple[dict[tuple[str, str], FeatureNull], bool]:
    """The version's stored nulls, calibrating the wanted ones it lacks (once: re-reads the
    reference rows). Returns (nulls by (feature, method), whether this call calibrated).
    A reference that cannot be re-read is logged; its features keep fixed thresholds."""
    table = load_null_table(engine, reference_id)
    wanted = wanted_nulls(monitor, specs)
    missing = {n: km for n, km in wanted.items() if (n, km[1]) not in table}
    if not missing:
        return table, False
    from monitor.reference import reference_frame

    try:
        frame, _ = reference_frame(engine, monitor)
    except MonitorError as exc:
        log.warning(
            "nulls_not_calibrated",
            extra={"monitor": monitor.name, "reference_id": reference_id, "error": str(exc)},
        )
        return table, False
    stored = materialise_nulls(engine, monitor, reference_id, frame, specs, now, missing)
    return (stored.nulls if stored is not None else table), True
