"""Reads for champion/challenger: each model version's labelled rows in one window.

Predictions of one model version with start <= ts < end JOINed to their labels (by model +
event_id, as `storage/labelled.py` joins them), with the event id that pairs shadow
predictions; the comparison itself is pure (`performance/versions.py`). A segment filter
(every key must match) is pushed down on Postgres and applied in Python on both dialects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from monitor.performance.labelled import proba_arrays, segment_matches
from monitor.performance.versions import VersionRows
from monitor.storage.db import Engine, storage_errors
from monitor.storage.tables import labels, predictions


def load_version_rows(
    engine: Engine,
    model: str,
    version: str,
    start: datetime,
    end: datetime,
    *,
    segment: Mapping[str, str] | None = None,
) -> VersionRows:
    """The labelled predictions of `model` version `version` in [start, end), in
    prediction-time order, and how many predictions (labelled or not) it made there."""
    p, lab = predictions.c, labels.c
    where = (p.model == model, p.model_version == version, p.ts >= start, p.ts < end)
    stmt = (
        select(p.event_id, p.prediction, p.prediction_proba, p.segment, lab.label)
        .select_from(
            predictions.join(labels, and_(lab.model == p.model, lab.event_id == p.event_id))
        )
        .where(*where)
        .order_by(p.ts, p.event_id)
    )
    count = select(func.count()).select_from(predictions).where(*where)
    wanted = dict(segment or {})
    with storage_errors(engine, "load version rows"), engine.connect() as conn:
        if wanted and conn.dialect.name == "postgresql":
            stmt = stmt.where(cast(p.segment, JSONB).contains(wanted))
            count = count.where(cast(p.segment, JSONB).contains(wanted))
        rows: Sequence[Any] = conn.execute(stmt).all()
        if wanted and conn.dialect.name != "postgresql":
            total = sum(
                segment_matches(s, wanted)
                for (s,) in conn.execute(select(p.segment).where(*where)).all()
            )
        else:
            total = int(conn.execute(count).scalar_one())
    if wanted:
        rows = [r for r in rows if segment_matches(r.segment, wanted)]
    y_true = np.empty(len(rows), dtype=object)
    y_true[:] = [r.label for r in rows]
    y_pred = np.empty(len(rows), dtype=object)
    y_pred[:] = [r.prediction for r in rows]
    proba, proba_classes = proba_arrays([r.prediction_proba for r in rows])
    return VersionRows(
        version=version,
        event_ids=tuple(r.event_id for r in rows),
        y_true=y_true,
        y_pred=y_pred,
        proba=proba,
        proba_classes=proba_classes,
        predictions=total,
    )


def model_versions(engine: Engine, model: str, start: datetime, end: datetime) -> list[str]:
    """The versions of `model` with predictions in [start, end), sorted."""
    p = predictions.c
    stmt = (
        select(p.model_version)
        .where(p.model == model, p.ts >= start, p.ts < end, p.model_version.is_not(None))
        .distinct()
        .order_by(p.model_version)
    )
    with storage_errors(engine, "list model versions"), engine.connect() as conn:
        return [str(v) for (v,) in conn.execute(stmt).all()]


__all__ = ["load_version_rows", "model_versions"]
