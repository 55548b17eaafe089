"""Materialised references in storage: each monitor's versions, newest first.

A version row holds the spec document (per-feature sketch specs, their order, reference
metrics) and the packed sketches as one blob; `monitor.reference` encodes and decodes both.
A new version takes the next number within the same transaction as its insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from monitor.storage.db import storage_errors
from monitor.storage.tables import reference_datasets

r = reference_datasets.c


@dataclass(frozen=True)
class ReferenceRow:
    """One stored reference version, its spec document and sketch blob still encoded."""

    id: int
    monitor: str
    version: int
    created_at: datetime
    source: str
    row_count: int
    spec: dict[str, Any]
    sketch: bytes


def store_reference(
    engine: Engine,
    monitor: str,
    *,
    created_at: datetime,
    source: str,
    row_count: int,
    spec: dict[str, Any],
    sketch: bytes,
) -> ReferenceRow:
    """Store a new version of the monitor's reference (the next version number)."""
    with storage_errors(engine, "store reference"), engine.begin() as conn:
        newest = conn.execute(select(func.max(r.version)).where(r.monitor == monitor)).scalar_one()
        version = (newest or 0) + 1
        ref_id = conn.execute(
            insert(reference_datasets)
            .values(
                monitor=monitor,
                version=version,
                created_at=created_at,
                source=source,
                row_count=row_count,
                spec=spec,
                sketch=sketch,
            )
            .returning(r.id)
        ).scalar_one()
    return ReferenceRow(ref_id, monitor, version, created_at, source, row_count, spec, sketch)


def latest_reference(
    engine: Engine, monitor: str, version: int | None = None
) -> ReferenceRow | None:
    """The newest (or the given) version of a monitor's reference, or None."""
    stmt = select(reference_datasets).where(r.monitor == monitor)
    stmt = stmt.where(r.version == version) if version else stmt.order_by(r.version.desc())
    with storage_errors(engine, "load reference"), engine.connect() as conn:
        row = conn.execute(stmt.limit(1)).mappings().first()
    if row is None:
        return None
    return ReferenceRow(
        id=row["id"],
        monitor=row["monitor"],
        version=row["version"],
        created_at=row["created_at"],
        source=row["source"],
        row_count=row["row_count"],
        spec=row["spec"],
        sketch=row["sketch"],
    )


def reference_versions(engine: Engine, monitor: str) -> list[dict[str, Any]]:
    """Id, version, creation time, source and row count of each version, newest first (the
    API's and CLI's listing)."""
    stmt = (
        select(r.id, r.version, r.created_at, r.source, r.row_count)
        .where(r.monitor == monitor)
        .order_by(r.version.desc())
    )
    with storage_errors(engine, "list references"), engine.connect() as conn:
        return [dict(m) for m in conn.execute(stmt).mappings()]
