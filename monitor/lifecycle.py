"""Alert lifecycle as a pure state machine: pending for N runs, firing, repeat, resolved.

Each evaluated run feeds one boolean per alert fingerprint (monitor + rule + subject); `step`
returns the next state and whether a notification is owed. Storage and delivery live
elsewhere: keeping the decision pure makes the subtle cases (silences, repeats, flapping)
testable by table. The rows storage returns for alerts and silences (`Alert`, `AlertEvent`,
`Silence`, `ActiveSilences`) are defined here, in the pure layer storage may import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Status = Literal["inactive", "pending", "firing"]
Notify = Literal["firing", "repeat", "resolved"]


@dataclass(frozen=True)
class AlertState:
    status: Status = "inactive"
    consecutive: int = 0  # consecutive runs with the condition true
    fired_at: datetime | None = None
    last_notified_at: datetime | None = None  # None while firing: the firing notice is still owed


@dataclass(frozen=True)
class Decision:
    state: AlertState
    notify: Notify | None
    transition: tuple[Status, Status] | None  # stored in the alert's state history when set


def step(
    state: AlertState,
    condition: bool,
    at: datetime,
    *,
    for_runs: int = 1,
    repeat_interval: timedelta | None = None,
    silenced: bool = False,
) -> Decision:
    """Advance one alert by one evaluated run."""
    if for_runs < 1:
        raise ValueError("for_runs must be at least 1")
    before = state.status
    if not condition:
        if before == "firing":
            owed = state.last_notified_at is not None  # resolve only what people were told
            return Decision(AlertState(), "resolved" if owed else None, ("firing", "inactive"))
        return Decision(AlertState(), None, (before, "inactive") if before != "inactive" else None)

    consecutive = state.consecutive + 1
    if before != "firing" and consecutive < for_runs:
        new = AlertState("pending", consecutive)
        return Decision(new, None, (before, "pending") if before != "pending" else None)

    if before != "firing":
        new = AlertState("firing", consecutive, fired_at=at)
        if silenced:
            return Decision(new, None, (before, "firing"))
        return Decision(replace(new, last_notified_at=at), "firing", (before, "firing"))

    new = replace(state, consecutive=consecutive)
    if silenced:
        return Decision(new, None, None)
    if state.last_notified_at is None:  # fired during a silence that has since ended
        return Decision(replace(new, last_notified_at=at), "firing", None)
    if repeat_interval is not None and at - state.last_notified_at >= repeat_interval:
        return Decision(replace(new, last_notified_at=at), "repeat", None)
    return Decision(new, None, None)


# --- the stored rows (returned by monitor.storage.alerts and monitor.storage.silences) ----


@dataclass(frozen=True)
class Alert:
    """One alert episode (one row of `alerts`)."""

    id: int
    fingerprint: str
    monitor: str
    rule: str
    subject: str
    state: str
    severity: str
    consecutive: int
    last_run_id: int | None
    details: dict[str, Any] | None
    created_at: datetime
    fired_at: datetime | None
    last_seen_at: datetime | None
    last_notified_at: datetime | None
    resolved_at: datetime | None

    def lifecycle_state(self) -> AlertState:
        """The state `step` continues from."""
        return AlertState(
            status=self.state,  # type: ignore[arg-type]  # an open row: pending or firing
            consecutive=int(self.consecutive),
            fired_at=self.fired_at,
            last_notified_at=self.last_notified_at,
        )


@dataclass(frozen=True)
class AlertEvent:
    """One entry of an alert's history: a state change, or an acknowledgement."""

    id: int
    alert_id: int
    state: str
    at: datetime
    run_id: int | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class Silence:
    id: int
    monitor: str
    rule: str | None  # None: every rule of the monitor
    until: datetime
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class ActiveSilences:
    """The silences of one monitor running at one instant."""

    monitor_wide: bool
    rules: frozenset[str]

    def covers(self, rule: str) -> bool:
        return self.monitor_wide or rule in self.rules
