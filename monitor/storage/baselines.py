"""Reads and writes behind trailing and seasonal baselines (issue 14 item 4).

A baseline is the merge of past windows. A run of a monitor with such a baseline stores its
merged window sketches packed in one `window_sketches` row (`save_window`), so the next runs
read one row per baseline window; a candidate window without that row (never run, run before
the baseline was configured) is merged from its bucket deltas (`slot_rows`, `slot_sketches`).
`alarmed_runs` reads the monitor's runs whose summary lists alarmed rules.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, insert, or_, select

from monitor.drift.sketch import Sketch, from_bytes, merge_all, to_bytes
from monitor.storage.db import storage_errors
from monitor.storage.tables import drift_runs, feature_sketches
from monitor.storage.tables_alarms import window_sketches

fs = feature_sketches.c
dr = drift_runs.c
ws = window_sketches.c
_LEN = struct.Struct("<I")

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class AlarmedRun:
    """A stored run of the monitor at which a data rule held (`summary.alarmed`)."""

    run_id: int
    window_start: datetime
    window_end: datetime
    rules: tuple[str, ...]


def _ranges(slots: Sequence[Span]) -> ColumnElement[bool]:
    """bucket_start in any slot; adjacent slots (a trailing baseline) become one range."""
    merged: list[list[datetime]] = []
    for start, end in sorted(slots):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return or_(*(and_(fs.bucket_start >= s, fs.bucket_start < e) for s, e in merged))


def _slot_index(slots: Sequence[Span]) -> tuple[list[datetime], list[Span]]:
    ordered = sorted(slots)
    return [s for s, _ in ordered], ordered


def _which(starts: list[datetime], ordered: list[Span], ts: datetime) -> Span | None:
    i = bisect_right(starts, ts) - 1
    if i < 0 or ts >= ordered[i][1]:
        return None
    return ordered[i]


def slot_rows(engine: Engine, reference_id: int, slots: Sequence[Span]) -> dict[Span, int]:
    """Events per slot covered by the bucket sketches of reference version `reference_id`
    (the largest per-feature count, as `sketch_store.sketched_rows`); blobs are not read."""
    out: dict[Span, int] = {s: 0 for s in slots}
    if not slots:
        return out
    stmt = (
        select(fs.bucket_start, fs.feature, func.sum(fs.row_count))
        .where(fs.reference_id == reference_id, _ranges(slots))
        .group_by(fs.bucket_start, fs.feature)
    )
    starts, ordered = _slot_index(slots)
    per: dict[tuple[Span, str], int] = defaultdict(int)
    with storage_errors(engine, "count baseline rows"), engine.connect() as conn:
        for bucket, feature, n in conn.execute(stmt):
            slot = _which(starts, ordered, bucket)
            if slot is not None:
                per[(slot, feature)] += int(n or 0)
    for (slot, _), n in per.items():
        out[slot] = max(out[slot], n)
    return out


def slot_sketches(
    engine: Engine, reference_id: int, slots: Sequence[Span]
) -> dict[Span, dict[str, Sketch]]:
    """Each slot's merged sketch per feature (slots without deltas are absent)."""
    if not slots:
        return {}
    stmt = select(fs.bucket_start, fs.feature, fs.sketch).where(
        fs.reference_id == reference_id, _ranges(slots)
    )
    starts, ordered = _slot_index(slots)
    parts: dict[Span, dict[str, list[Sketch]]] = defaultdict(lambda: defaultdict(list))
    with storage_errors(engine, "load baseline sketches"), engine.connect() as conn:
        for bucket, feature, blob in conn.execute(stmt):
            slot = _which(starts, ordered, bucket)
            if slot is not None:
                parts[slot][feature].append(from_bytes(blob))
    return {
        slot: {name: merge_all(items) for name, items in features.items()}
        for slot, features in parts.items()
    }


def alarmed_runs(engine: Engine, monitor: str, start: datetime, end: datetime) -> list[AlarmedRun]:
    """The monitor's drift runs overlapping [start, end) whose summary lists alarmed rules."""
    stmt = (
        select(dr.id, dr.window_start, dr.window_end, dr.summary)
        .where(
            dr.monitor == monitor,
            dr.kind == "drift",
            dr.status == "succeeded",
            dr.window_end > start,
            dr.window_start < end,
        )
        .order_by(dr.window_start)
    )
    out: list[AlarmedRun] = []
    with storage_errors(engine, "read alarmed runs"), engine.connect() as conn:
        for run_id, w_start, w_end, summary in conn.execute(stmt):
            rules = (summary or {}).get("alarmed") if isinstance(summary, dict) else None
            if rules:
                out.append(AlarmedRun(int(run_id), w_start, w_end, tuple(map(str, rules))))
    return out


def pack(sketches: dict[str, Sketch]) -> bytes:
    """Every feature's sketch in one blob: name length, name, sketch length, sketch."""
    out = []
    for name, sk in sketches.items():
        key, blob = name.encode(), to_bytes(sk)
        out += [_LEN.pack(len(key)), key, _LEN.pack(len(blob)), blob]
    return b"".join(out)


def unpack(blob: bytes) -> dict[str, Sketch]:
    out: dict[str, Sketch] = {}
    pos = 0
    while pos < len(blob):
        (n,) = _LEN.unpack_from(blob, pos)
        name = blob[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
        (n,) = _LEN.unpack_from(blob, pos)
        out[name] = from_bytes(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out


def save_window(
    engine: Engine,
    monitor: str,
    reference_id: int,
    window: Span,
    rows: int,
    sketches: dict[str, Sketch],
    now: datetime,
) -> None:
    """Store (or replace) a window's merged sketches for later baselines."""
    with storage_errors(engine, "store window sketches"), engine.begin() as conn:
        _replace(conn, monitor, reference_id, window, rows, pack(sketches), now)


def _replace(
    conn: Connection, monitor: str, ref: int, window: Span, rows: int, blob: bytes, now: datetime
) -> None:
    start, end = window
    conn.execute(
        delete(window_sketches).where(
            ws.reference_id == ref, ws.window_start == start, ws.window_end == end
        )
    )
    conn.execute(
        insert(window_sketches).values(
            monitor=monitor, reference_id=ref, window_start=start, window_end=end,
            row_count=rows, sketch=blob, created_at=now,
        )
    )  # fmt: skip


def _saved(engine: Engine, reference_id: int, slots: Sequence[Span], *columns: Any) -> list:
    if not slots:
        return []
    wanted = set(slots)
    stmt = select(ws.window_start, ws.window_end, *columns).where(
        ws.reference_id == reference_id, ws.window_start.in_([s for s, _ in slots])
    )
    with storage_errors(engine, "read window sketches"), engine.connect() as conn:
        return [r for r in conn.execute(stmt) if (r[0], r[1]) in wanted]


def saved_rows(engine: Engine, reference_id: int, slots: Sequence[Span]) -> dict[Span, int]:
    """Events of the slots that have stored window sketches (blobs not read)."""
    return {(r[0], r[1]): int(r[2]) for r in _saved(engine, reference_id, slots, ws.row_count)}


def saved_sketches(
    engine: Engine, reference_id: int, slots: Sequence[Span]
) -> dict[Span, dict[str, Sketch]]:
    """The stored window sketches of the slots that have them."""
    return {(r[0], r[1]): unpack(r[2]) for r in _saved(engine, reference_id, slots, ws.sketch)}
