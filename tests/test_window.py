"""Window arithmetic, by table: alignment, catch-up after downtime, the catch-up cap."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.window import Window, WindowSpec, due_windows, floor_to, latest_closed

H = timedelta(hours=1)
M = timedelta(minutes=1)


def t(hh: int, mm: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "stride", "expected"),
    [
        (t(10, 59), H, t(10)),
        (t(11, 0), H, t(11)),
        (t(11, 7), 5 * M, t(11, 5)),
        (datetime(2026, 11, 23, 13, 30, tzinfo=timezone(timedelta(hours=1))), H, t(12)),
    ],
)
def test_floor_to(ts: datetime, stride: timedelta, expected: datetime) -> None:
    assert floor_to(ts, stride) == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        floor_to(datetime(2026, 1, 1), H)


def test_latest_closed_tumbling_and_sliding() -> None:
    tumbling = WindowSpec("tumbling", H)
    assert latest_closed(tumbling, t(11, 30)) == Window(t(10), t(11))
    sliding = WindowSpec("sliding", 24 * H, step=H)
    assert latest_closed(sliding, t(11, 30)) == Window(t(11, day=22), t(11))
    assert latest_closed(tumbling, t(11, 3), lateness=5 * M) == Window(t(9), t(10))


@pytest.mark.parametrize(
    ("last_end", "now", "cap", "ends", "skipped"),
    [
        (None, t(11, 30), 10, [t(11)], 0),  # first run: only the newest window
        (t(11), t(11, 30), 10, [], 0),  # up to date
        (t(10), t(11, 30), 10, [t(11)], 0),  # the next one
        (t(7), t(11, 30), 10, [t(8), t(9), t(10), t(11)], 0),  # catch up after downtime
        (t(1), t(11, 30), 3, [t(9), t(10), t(11)], 7),  # capped: the gap is reported
    ],
)
def test_due_windows(last_end, now, cap, ends, skipped) -> None:
    due = due_windows(WindowSpec("tumbling", H), last_end, now, max_catch_up=cap)
    assert [w.end for w in due.windows] == ends
    assert all(w.end - w.start == H for w in due.windows)
    assert due.skipped == skipped
    if skipped:
        assert due.skipped_range == Window(t(1), t(8))


def test_sliding_catch_up_overlaps() -> None:
    due = due_windows(WindowSpec("sliding", 3 * H, step=H), t(8), t(10, 1), max_catch_up=5)
    assert due.windows == (Window(t(6), t(9)), Window(t(7), t(10)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "tumbling", "size": timedelta(0)}, "positive"),
        ({"kind": "tumbling", "size": H, "step": M}, "tumbling"),
        ({"kind": "sliding", "size": H}, "positive step"),
        ({"kind": "sliding", "size": H, "step": 2 * H}, "cannot exceed"),
    ],
)
def test_bad_specs(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WindowSpec(**kwargs)


def test_window_contains_is_half_open() -> None:
    w = Window(t(10), t(11))
    assert w.contains(t(10)) and w.contains(t(10, 59)) and not w.contains(t(11))
