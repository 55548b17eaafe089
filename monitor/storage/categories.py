"""Values of a categorical feature in a window that the reference never had (new categories).

Bucket sketches count every value outside the reference's top-K categories in one "other"
bucket, so a scheduled run knows the share of new values but neither how many distinct ones
there are nor their names. This asks the stored events, only for features whose "other"
bucket is non-empty: one GROUP BY over the window (its rows are read once; ~0.5 s per 100k
events on a loaded 2-core machine), returning at most `limit` groups and the number of
groups, on bound parameters (feature names and values come from events: untrusted).

Names follow the sketches' naming (`str()` of the value as decoded from JSON: `True` for
JSON true, `1.5` for 1.5), so they compare with the reference's category names.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from monitor.storage.db import storage_errors
from monitor.storage.event_frames import EventFilter, load_frame, where_events
from monitor.storage.tables import predictions


def _variants(known: Collection[str]) -> list[str]:
    """How known names may look as JSON text (`True` is stored as `true`, 2.0 may be `2`)."""
    out = set(known)
    for name in known:
        if name in ("True", "False"):
            out.add(name.lower())
        if name.endswith(".0") and name[:-2].lstrip("-").isdigit():
            out.add(name[:-2])
    return sorted(out)


def _name(text: str, kind: Any) -> str:
    """The sketch's name of a stored JSON value, given its text (->>) and JSON type."""
    if str(kind) in ("true", "false", "boolean"):
        return "True" if text in ("true", "1") else "False"
    if str(kind) in ("number", "integer", "real"):
        try:
            return str(json.loads(text))
        except ValueError:
            return text
    return text


def unseen_categories(
    engine: Engine,
    flt: EventFilter,
    start: datetime,
    end: datetime,
    feature: str,
    known: Collection[str],
    limit: int,
) -> tuple[int, dict[str, int]]:
    """(distinct values of `feature` in [start, end) not in `known`, the `limit` most
    frequent of them with their counts, largest first)."""
    if engine.dialect.name != "postgresql" and any(ch in feature for ch in '"\\'):
        return _from_rows(engine, flt, start, end, feature, known, limit)
    p = predictions.c
    value = p.features[feature].as_string()
    if engine.dialect.name == "postgresql":
        kind = func.json_typeof(p.features[feature])
    else:
        kind = func.json_type(p.features, "$." + json.dumps(feature))

    def flt_stmt(stmt: Any) -> Any:
        return where_events(stmt, flt, engine.dialect.name).where(
            p.ts >= start, p.ts < end, value.is_not(None), value.not_in(_variants(known))
        )

    n = func.count().label("n")
    groups = (
        flt_stmt(select(value.label("v"), kind.label("k"), n).select_from(predictions))
        .group_by(value, kind)
        .subquery()
    )
    # one scan: the groups, and how many there are (a window count over the grouped rows)
    stmt = (
        select(groups.c.v, groups.c.k, groups.c.n, func.count().over().label("total"))
        .order_by(groups.c.n.desc(), groups.c.v)
        .limit(limit + len(known))
    )
    with storage_errors(engine, "count new categories"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    total = int(rows[0][3]) if rows else 0
    listed: dict[str, int] = {}
    known_set = set(known)
    dropped = 0
    for text, k, count, _ in rows:
        name = _name(str(text), k)
        if name in known_set:  # a variant spelling of a known category (rare)
            dropped += 1
            continue
        listed[name] = listed.get(name, 0) + int(count)
    ordered = sorted(listed.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return max(total - dropped, len(listed)), dict(ordered)


def _from_rows(
    engine: Engine,
    flt: EventFilter,
    start: datetime,
    end: datetime,
    feature: str,
    known: Collection[str],
    limit: int,
) -> tuple[int, dict[str, int]]:
    """`unseen_categories` in Python, for names a SQLite JSON path cannot quote."""
    from monitor.drift.sketch import category_counts

    frame = load_frame(engine, flt, start=start, end=end, columns=[feature])
    names, counts = category_counts(frame[feature])
    seen = set(known)
    new = {n: c for n, c in zip(names, counts, strict=True) if n not in seen}
    top = sorted(new.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return len(new), dict(top)
