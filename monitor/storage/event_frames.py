"""Stored prediction events of one monitor as a pandas frame (features + prediction column).

Used where raw rows are needed: references taken from stored traffic, re-bucketing a window
whose sketches are incomplete, count windows, and the HTML reports. Filters are bound
parameters (model, version and segment values come from events: untrusted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, func, select

from monitor.display import PREDICTION_FEATURE
from monitor.storage.db import storage_errors
from monitor.storage.tables import predictions

TS_COLUMN = "__ts__"


@dataclass(frozen=True)
class EventFilter:
    """Which stored predictions belong to a monitor."""

    model: str
    model_version: str | None = None
    segment: Mapping[str, str] | None = None


def prediction_value(prediction: Any, proba: Any) -> Any:
    """The model output compared for prediction drift: the positive-class probability when
    there is one (a number, or the last class of a two-class map), else the predicted class
    or value. Multiclass probability maps fall back to the predicted class."""
    if isinstance(proba, bool):
        proba = None
    if isinstance(proba, int | float):
        return float(proba)
    if isinstance(proba, dict) and len(proba) == 2:
        return float(proba[sorted(proba)[-1]])
    if isinstance(prediction, bool):
        return str(prediction).lower()
    return prediction


def where_events(stmt: Select, flt: EventFilter, dialect: str) -> Select:
    """`stmt` restricted to the predictions `flt` selects (model, version, segment values)."""
    p = predictions.c
    stmt = stmt.where(p.model == flt.model)
    if flt.model_version is not None:
        stmt = stmt.where(p.model_version == flt.model_version)
    for key, value in (flt.segment or {}).items():
        stmt = stmt.where(_segment_is(key, value, dialect))
    return stmt


def _segment_is(key: str, value: str, dialect: str) -> Any:
    """segment[key] == value for any key (keys come from events: quotes, dots, `$`...).

    Postgres binds the key (`->>`). SQLite's JSON path cannot quote a key holding `"`, so
    there the key is compared as a value of json_each, also bound."""
    p = predictions.c
    if dialect != "sqlite":
        return p.segment[key].as_string() == value
    each = func.json_each(p.segment).table_valued("key", "value", "type")
    return (
        select(1)
        .select_from(each)
        .where(each.c.key == key, each.c.type == "text", each.c.value == value)
        .exists()
    )


def count_events(engine: Engine, flt: EventFilter, start: datetime, end: datetime) -> int:
    p = predictions.c
    stmt = where_events(select(func.count()).select_from(predictions), flt, engine.dialect.name)
    stmt = stmt.where(p.ts >= start, p.ts < end)
    with storage_errors(engine, "count window events"), engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def first_event_ts(engine: Engine, flt: EventFilter) -> datetime | None:
    stmt = where_events(select(func.min(predictions.c.ts)), flt, engine.dialect.name)
    with storage_errors(engine, "find first event"), engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def nth_event_ts(engine: Engine, flt: EventFilter, n: int) -> datetime | None:
    """Timestamp of the n-th event (1-based, by time then event_id), or None when fewer."""
    p = predictions.c
    stmt = where_events(select(p.ts), flt, engine.dialect.name)
    stmt = stmt.order_by(p.ts, p.event_id).offset(n - 1).limit(1)
    with storage_errors(engine, "find the n-th event"), engine.connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def load_frame(
    engine: Engine,
    flt: EventFilter,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    newest: bool = False,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Events in [start, end) (or the first/newest `limit`, by time then event_id), one column
    per feature, plus `__prediction__` and `__ts__`. Features absent from an event are
    missing (None)."""
    p = predictions.c
    stmt = where_events(
        select(p.ts, p.features, p.prediction, p.prediction_proba), flt, engine.dialect.name
    )
    if start is not None:
        stmt = stmt.where(p.ts >= start)
    if end is not None:
        stmt = stmt.where(p.ts < end)
    # event_id breaks ties, so "the first/newest N" is one set whatever the plan (the order
    # of the primary key, which serves it: model, ts, event_id)
    stmt = stmt.order_by(*((p.ts.desc(), p.event_id.desc()) if newest else (p.ts, p.event_id)))
    if limit is not None:
        stmt = stmt.limit(limit)
    with storage_errors(engine, "load window events"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return rows_to_frame(rows, columns)


def rows_to_frame(rows: Sequence[Any], columns: list[str] | None = None) -> pd.DataFrame:
    """(ts, features, prediction, proba) rows -> frame; `columns` fixes the feature columns."""
    feats = [r[1] or {} for r in rows]
    frame = pd.DataFrame.from_records(feats, columns=columns) if feats else pd.DataFrame()
    if columns is not None:
        frame = frame.reindex(columns=columns)
    frame[PREDICTION_FEATURE] = pd.Series(
        [prediction_value(r[2], r[3]) for r in rows], dtype=object, index=frame.index
    )
    frame[TS_COLUMN] = pd.Series([r[0] for r in rows], index=frame.index, dtype=object)
    return frame
