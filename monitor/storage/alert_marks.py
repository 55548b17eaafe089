"""Operators' marks on alerts: a false alarm or a true one (issue 14 item 5).

A mark is stored twice in one transaction: a row of `alert_marks` (by monitor and rule, for
the measured false-alarm share) and an `alert_events` row with state "marked" (the alert's
history keeps every mark). An alert's verdict is its newest mark; the share over a period is
marked false / marked among the alerts whose newest mark falls in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, func, insert, select

from monitor.storage.alerts import add_alert_event
from monitor.storage.db import storage_errors
from monitor.storage.tables import alerts
from monitor.storage.tables_alarms import alert_marks

Verdict = Literal["false", "true"]
VERDICTS: tuple[str, ...] = ("false", "true")
k, a = alert_marks.c, alerts.c

__all__ = ["VERDICTS", "Mark", "MarkShare", "last_marks", "mark_alert", "marked_share"]


@dataclass(frozen=True)
class Mark:
    alert_id: int
    monitor: str
    rule: str
    verdict: str
    note: str | None
    by: str | None
    marked_at: datetime


@dataclass(frozen=True)
class MarkShare:
    """Alerts of a monitor marked in a period: how many, how many false, per rule."""

    marked: int
    false: int
    by_rule: dict[str, tuple[int, int]]  # rule -> (marked, false)

    @property
    def share(self) -> float | None:
        return self.false / self.marked if self.marked else None


def mark_alert(
    engine: Engine, alert_id: int, verdict: str, at: datetime, by: str | None, note: str | None
) -> Mark | None:
    """Store a mark; None when there is no such alert."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be false or true, got {verdict!r}")
    with storage_errors(engine, "mark alert"), engine.begin() as conn:
        row = conn.execute(select(a.monitor, a.rule).where(a.id == alert_id)).first()
        if row is None:
            return None
        monitor, rule = str(row[0]), str(row[1])
        conn.execute(
            insert(alert_marks).values(
                alert_id=alert_id, monitor=monitor, rule=rule, verdict=verdict, note=note,
                by=by, marked_at=at,
            )
        )  # fmt: skip
        detail = {"verdict": verdict, "by": by, "note": note}
        add_alert_event(conn, alert_id, "marked", at, None, detail)
    return Mark(alert_id, monitor, rule, verdict, note, by, at)


def _newest(since: datetime | None, monitor: str | None, ids: list[int] | None = None):
    newest = select(k.alert_id, func.max(k.id).label("id")).group_by(k.alert_id)
    if ids is not None:
        newest = newest.where(k.alert_id.in_(ids))
    if monitor is not None:
        newest = newest.where(k.monitor == monitor)
    sub = newest.subquery()
    stmt = select(alert_marks).join(sub, sub.c.id == k.id)
    if since is not None:
        stmt = stmt.where(k.marked_at >= since)
    return stmt


def last_marks(engine: Engine, alert_ids: list[int]) -> dict[int, Mark]:
    """The newest mark of each given alert that has one."""
    if not alert_ids:
        return {}
    with storage_errors(engine, "load alert marks"), engine.connect() as conn:
        rows = conn.execute(_newest(None, None, alert_ids)).mappings()
        return {int(r["alert_id"]): _mark(r) for r in rows}


def marked_share(engine: Engine, monitor: str, since: datetime) -> MarkShare:
    """Marked and marked-false alerts of `monitor` whose newest mark is at or after `since`."""
    by_rule: dict[str, list[int]] = {}
    with storage_errors(engine, "load alert marks"), engine.connect() as conn:
        for r in conn.execute(_newest(since, monitor)).mappings():
            counts = by_rule.setdefault(str(r["rule"]), [0, 0])
            counts[0] += 1
            counts[1] += r["verdict"] == "false"
    marked = sum(c[0] for c in by_rule.values())
    false = sum(c[1] for c in by_rule.values())
    return MarkShare(marked, false, {n: (c[0], c[1]) for n, c in sorted(by_rule.items())})


def _mark(r) -> Mark:
    return Mark(
        int(r["alert_id"]), str(r["monitor"]), str(r["rule"]), str(r["verdict"]), r["note"],
        r["by"], r["marked_at"],
    )  # fmt: skip
