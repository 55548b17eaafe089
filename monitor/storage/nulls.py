"""Null quantiles of a reference version (issue 14): calibrated once, loaded by every run.

`reference_nulls` holds one row per (reference version, feature, method): the feature's
`monitor.drift.calibration.FeatureNull` as JSON (quantiles of its drift statistic under no
drift, on a grid of window sizes). A reference version is immutable, so its nulls are too:
they are written once, when the reference is materialised or, for a reference stored before
nulls existed, on its first auto-threshold run. Several replicas may calibrate at once; the
unique key lets the first writer win and every other one reads the winner's rows
(`store_nulls` returns what is stored, not what it was given).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy.exc as sa_exc
from sqlalchemy import Engine, insert, select

from monitor.drift.calibration import AUTO_METHOD, FeatureNull, NullCalibration
from monitor.jsonsafe import json_safe
from monitor.storage.db import storage_errors
from monitor.storage.tables_alarms import reference_nulls

n = reference_nulls.c

NullKey = tuple[str, str]  # (feature, method)

__all__ = ["NullKey", "StoredNulls", "load_null_table", "load_nulls", "store_nulls"]


@dataclass(frozen=True)
class StoredNulls:
    """A reference version's stored nulls by (feature, method); `created`: rows this call
    inserted (0 when they were there already or another writer won)."""

    reference_id: int
    nulls: dict[NullKey, FeatureNull]
    created: int = 0


def _decode(rows: Iterable[object]) -> dict[NullKey, FeatureNull]:
    out: dict[NullKey, FeatureNull] = {}
    for row in rows:
        doc = {"seed": row.seed, "features": {"f": row.null}}  # type: ignore[attr-defined]
        out[(row.feature, row.method)] = NullCalibration.from_dict(doc).features["f"]  # type: ignore[attr-defined]
    return out


def load_null_table(engine: Engine, reference_id: int) -> dict[NullKey, FeatureNull]:
    """Every stored null of reference version `reference_id`, by (feature, method)."""
    stmt = select(reference_nulls).where(n.reference_id == reference_id).order_by(n.id)
    with storage_errors(engine, "load nulls"), engine.connect() as conn:
        return _decode(conn.execute(stmt).all())


def load_nulls(engine: Engine, reference_id: int) -> dict[str, FeatureNull] | None:
    """Feature name -> its null (the default auto statistic's where a feature has several:
    wasserstein_normed for numerics, jensenshannon for categoricals); None when the
    reference version has no stored nulls. A stable entry point for other rules (the
    sequential rule reads z-scores through it)."""
    table = load_null_table(engine, reference_id)
    if not table:
        return None
    out: dict[str, FeatureNull] = {}
    for (feature, method), null in sorted(table.items()):
        if feature not in out or method == AUTO_METHOD[null.kind]:
            out[feature] = null
    return out


def store_nulls(
    engine: Engine, reference_id: int, nulls: Iterable[FeatureNull], seed: int, now: datetime
) -> StoredNulls:
    """Store the nulls not stored yet for this reference version, all in one transaction;
    when another writer stored any of them first, nothing of this call is kept and the
    stored rows are returned (first writer wins)."""
    given = {(f.name, f.method): f for f in nulls}
    with storage_errors(engine, "store nulls"):
        try:
            with engine.begin() as conn:
                stmt = select(n.feature, n.method).where(n.reference_id == reference_id)
                have = {(r.feature, r.method) for r in conn.execute(stmt)}
                rows = [
                    {
                        "reference_id": reference_id,
                        "feature": feature,
                        "method": method,
                        "null": json_safe(asdict(null)),
                        "seed": seed,
                        "created_at": now,
                    }
                    for (feature, method), null in given.items()
                    if (feature, method) not in have
                ]
                if rows:
                    conn.execute(insert(reference_nulls), rows)
            created = len(rows)
        except sa_exc.IntegrityError:
            created = 0  # a concurrent writer stored them first: read the winner's rows
    return StoredNulls(reference_id, load_null_table(engine, reference_id), created)
