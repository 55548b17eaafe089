"""Read queries over raw events for the CLI, the demo printout and tests (bound parameters
only; names from events are never spliced into SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from monitor.events import Prediction
from monitor.storage.db import storage_errors
from monitor.storage.tables import labels, predictions


@dataclass(frozen=True, slots=True)
class ModelSummary:
    model: str
    count: int
    first_ts: datetime
    last_ts: datetime


def _scalar(engine: Engine, stmt: Any, action: str) -> Any:
    with storage_errors(engine, action), engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def count_predictions(engine: Engine, model: str | None = None) -> int:
    stmt = select(func.count()).select_from(predictions)
    if model is not None:
        stmt = stmt.where(predictions.c.model == model)
    return _scalar(engine, stmt, "count predictions")


def count_labels(engine: Engine, model: str | None = None) -> int:
    stmt = select(func.count()).select_from(labels)
    if model is not None:
        stmt = stmt.where(labels.c.model == model)
    return _scalar(engine, stmt, "count labels")


def latest_predictions(engine: Engine, limit: int = 10) -> list[Prediction]:
    """The `limit` newest predictions by event time, newest first."""
    p = predictions.c
    stmt = (
        select(
            p.event_id,
            p.model,
            p.model_version,
            p.ts,
            p.features,
            p.prediction,
            p.prediction_proba,
            p.segment,
        )
        .order_by(p.ts.desc(), p.model, p.event_id)
        .limit(limit)
    )
    with storage_errors(engine, "read predictions"), engine.connect() as conn:
        return [Prediction(*row) for row in conn.execute(stmt)]


def model_summary(engine: Engine) -> list[ModelSummary]:
    """Per model: stored predictions and their event-time range (for the demo printout)."""
    p = predictions.c
    stmt = (
        select(p.model, func.count(), func.min(p.ts), func.max(p.ts))
        .group_by(p.model)
        .order_by(p.model)
    )
    with storage_errors(engine, "summarise predictions"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [ModelSummary(m, n, _aware(lo), _aware(hi)) for m, n, lo, hi in rows]


def _aware(value: Any) -> datetime:
    """min()/max() lose the column type on SQLite (a plain string comes back)."""
    from monitor.storage.tables import UTCDateTime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)  # type: ignore[return-value]
