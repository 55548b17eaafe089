"""Null calibrations for the sequential rule, computed from the reference's rows.

Stop-gap until the nulls are materialised and stored with the reference (branch b14-auto,
`monitor/storage/nulls.py`): `monitor.scheduler.sequential.feature_nulls` calls this once
per reference version and process (cached there). The rows are the reference version's
own source (a `file:` source is read again; a stored-events source is loaded as the monitor
configures it). `calibrate` has a fixed seed, so every replica gets the same quantiles and
therefore the same scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast

from monitor.drift.calibration import FeatureNull, calibrate
from monitor.drift.registry import Kind
from monitor.errors import DriftError, MonitorError
from monitor.reference import Reference, reference_frame
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine

SEED = 0


def _rows(engine: Engine, monitor: MonitorSettings, ref: Reference):  # type: ignore[no-untyped-def]
    if ref.source.startswith("file:"):
        from monitor.drift.frames import read_frame

        frame = read_frame(ref.source[len("file:") :])
    else:
        frame, _ = reference_frame(engine, monitor)
    present = [n for n in ref.features if n in frame.columns]
    return frame[present]


def calibrate_reference(
    engine: Engine, monitor: MonitorSettings, ref: Reference
) -> Mapping[str, FeatureNull]:
    """Each input feature's null (Wasserstein/std for numerics, Jensen–Shannon for
    categoricals, as `calibration.AUTO_METHOD`); a feature that cannot be calibrated is left
    out (its score is NaN: no verdict)."""
    try:
        frame = _rows(engine, monitor, ref)
    except MonitorError:
        return {}
    kinds = {n: cast(Kind, cast(Literal["numeric", "categorical"], ref.specs[n].kind))
             for n in frame.columns}  # fmt: skip
    out: dict[str, FeatureNull] = {}
    for name in frame.columns:
        try:
            cal = calibrate(frame[[name]], kinds={name: kinds[name]}, seed=SEED)
        except DriftError:
            continue
        out.update(cal.features)
    return out
