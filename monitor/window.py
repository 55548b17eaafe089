"""Window bounds for scheduled drift runs: tumbling or sliding, by time; pure arithmetic.

Windows are half-open [start, end) and aligned to the epoch on their step, so every replica
computes the same bounds for the same instant: that makes (monitor, start, end) a run key that
several schedulers can agree on without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end


@dataclass(frozen=True)
class WindowSpec:
    """`size` of each window; `step` between consecutive window ends (tumbling: step == size)."""

    kind: Literal["tumbling", "sliding"]
    size: timedelta
    step: timedelta | None = None

    def __post_init__(self) -> None:
        if self.size <= timedelta(0):
            raise ValueError("window size must be positive")
        if self.kind == "tumbling" and self.step not in (None, self.size):
            raise ValueError("a tumbling window's step is its size")
        if self.kind == "sliding" and (self.step is None or self.step <= timedelta(0)):
            raise ValueError("a sliding window needs a positive step")
        if self.kind == "sliding" and self.step is not None and self.step > self.size:
            raise ValueError(
                "a sliding window's step cannot exceed its size (rows would be skipped)"
            )

    @property
    def stride(self) -> timedelta:
        return self.size if self.kind == "tumbling" or self.step is None else self.step


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("window arithmetic needs timezone-aware datetimes")
    return ts.astimezone(UTC)


def floor_to(ts: datetime, stride: timedelta) -> datetime:
    """The latest multiple of `stride` since the epoch that is <= ts."""
    elapsed = _utc(ts) - _EPOCH
    return _EPOCH + stride * (elapsed // stride)


def window_ending_at(spec: WindowSpec, end: datetime) -> Window:
    end = _utc(end)
    return Window(end - spec.size, end)


def latest_closed(spec: WindowSpec, now: datetime, lateness: timedelta = timedelta(0)) -> Window:
    """The newest window that is complete at `now`, allowing `lateness` for stragglers."""
    return window_ending_at(spec, floor_to(_utc(now) - lateness, spec.stride))


@dataclass(frozen=True)
class DueWindows:
    """Windows to compute now, oldest first, and how many older ones were beyond the catch-up cap."""

    windows: tuple[Window, ...]
    skipped: int
    skipped_range: Window | None


def due_windows(
    spec: WindowSpec,
    last_end: datetime | None,
    now: datetime,
    *,
    max_catch_up: int,
    lateness: timedelta = timedelta(0),
) -> DueWindows:
    """Every closed window after `last_end` up to now, capped to the newest `max_catch_up`.

    A scheduler that was down computes the windows it missed instead of skipping them; beyond
    the cap the gap is returned (not hidden) so the caller can record it.
    """
    if max_catch_up < 1:
        raise ValueError("max_catch_up must be at least 1")
    newest = latest_closed(spec, now, lateness)
    if last_end is None:
        return DueWindows((newest,), 0, None)
    last_end = _utc(last_end)
    if newest.end <= last_end:
        return DueWindows((), 0, None)
    total = (newest.end - last_end) // spec.stride
    kept = min(total, max_catch_up)
    ends = [newest.end - spec.stride * i for i in range(kept)][::-1]
    skipped = total - kept
    skipped_range = Window(last_end, ends[0] - spec.stride) if skipped else None
    return DueWindows(tuple(window_ending_at(spec, e) for e in ends), skipped, skipped_range)
