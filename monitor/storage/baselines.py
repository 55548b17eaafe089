"""Reads behind trailing and seasonal baselines (issue 14 item 4): how many events each
candidate window holds in the bucket sketches, those windows' merged sketches, and the
monitor's runs that alarmed. Nothing is written here: a baseline is built per run from the
bucket deltas ingestion already stores, and a run records whether it alarmed in its summary.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from monitor.drift.sketch import Sketch, from_bytes, merge_all
from monitor.storage.db import storage_errors
from monitor.storage.tables import drift_runs, feature_sketches

fs = feature_sketches.c
dr = drift_runs.c

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
