"""The alert lifecycle, run by run: for-N, one notification per episode, repeats, silences."""

from datetime import UTC, datetime, timedelta

import pytest

from monitor.lifecycle import AlertState, step

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def run(conditions, *, for_runs=1, repeat=None, silenced=()):
    """Feed one condition per 10-minute run; return (status, notify) per run."""
    state, out = AlertState(), []
    for i, cond in enumerate(conditions):
        d = step(
            state,
            cond,
            T0 + timedelta(minutes=10 * i),
            for_runs=for_runs,
            repeat_interval=repeat,
            silenced=i in silenced,
        )
        state = d.state
        out.append((state.status, d.notify))
    return out


def test_fires_once_then_resolves_once() -> None:
    assert run([True, True, True, False, False]) == [
        ("firing", "firing"),
        ("firing", None),
        ("firing", None),
        ("inactive", "resolved"),
        ("inactive", None),
    ]


def test_for_n_consecutive_runs() -> None:
    assert run([True, True, False, True, True, True], for_runs=3) == [
        ("pending", None),
        ("pending", None),
        ("inactive", None),
        ("pending", None),
        ("pending", None),
        ("firing", "firing"),
    ]


def test_repeat_interval() -> None:
    got = run([True] * 5, repeat=timedelta(minutes=20))
    assert [n for _, n in got] == ["firing", None, "repeat", None, "repeat"]


def test_silence_suppresses_then_owes_the_notice() -> None:
    got = run([True, True, True, False], silenced={0, 1})
    assert got == [
        ("firing", None),
        ("firing", None),
        ("firing", "firing"),
        ("inactive", "resolved"),
    ]


def test_resolved_during_silence_sends_nothing() -> None:
    assert run([True, False], silenced={0, 1}) == [("firing", None), ("inactive", None)]


def test_transitions_are_reported_for_history() -> None:
    s = AlertState()
    d1 = step(s, True, T0, for_runs=2)
    d2 = step(d1.state, True, T0, for_runs=2)
    d3 = step(d2.state, True, T0, for_runs=2)
    d4 = step(d3.state, False, T0, for_runs=2)
    assert [d.transition for d in (d1, d2, d3, d4)] == [
        ("inactive", "pending"),
        ("pending", "firing"),
        None,
        ("firing", "inactive"),
    ]
    assert d2.state.fired_at == T0


def test_for_runs_must_be_positive() -> None:
    with pytest.raises(ValueError):
        step(AlertState(), True, T0, for_runs=0)
