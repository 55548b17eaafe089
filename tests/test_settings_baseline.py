"""The `baseline:` section of a monitor: defaults to the fixed reference, validated at load
with the key named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.errors import ConfigError
from monitor.settings import parse_settings
from monitor.settings.baseline import BaselineSettings


def _monitor(**extra: Any):
    doc = {
        "database": {"url": "sqlite://"},
        "monitors": [{"name": "m", "model": "m", "reference": "ref.parquet", **extra}],
    }
    return parse_settings(doc).monitors[0]


def test_default_is_the_fixed_reference() -> None:
    m = _monitor()
    assert m.baseline == BaselineSettings() and m.baseline.fixed


def test_trailing_and_seasonal_forms() -> None:
    trailing = _monitor(baseline={"kind": "trailing", "windows": 168}).baseline
    assert (trailing.count, trailing.needed, trailing.candidates, trailing.step) == (
        168,
        84,
        336,
        None,
    )
    weeks = _monitor(baseline={"kind": "seasonal", "weeks": 4}).baseline
    assert (weeks.count, weeks.step) == (4, timedelta(days=7))
    days = _monitor(baseline={"kind": "seasonal", "period": "1d", "lags": 7}).baseline
    assert (days.count, days.step, days.needed) == (7, timedelta(days=1), 4)
    excluded = _monitor(
        baseline={
            "kind": "trailing",
            "windows": 24,
            "min_windows": 12,
            "exclude": [
                {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "xmas"}
            ],
        }
    ).baseline
    assert excluded.exclude[0].start == datetime(2026, 12, 24, tzinfo=UTC)
    assert excluded.needed == 12


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"baseline": {"kind": "trailing"}},
            "monitors[0].baseline: kind trailing needs windows",
        ),
        (
            {"baseline": {"kind": "trailing", "windows": 3, "weeks": 2}},
            "monitors[0].baseline: weeks: only for kind seasonal",
        ),
        (
            {"baseline": {"kind": "seasonal", "period": "2d", "lags": 3}},
            "monitors[0].baseline: period must be 1d (same hour of day) or 1w",
        ),
        (
            {"baseline": {"kind": "seasonal", "weeks": 2, "days": 3}},
            "monitors[0].baseline: kind seasonal needs exactly one of weeks, days or period",
        ),
        (
            {"baseline": {"kind": "reference", "windows": 3}},
            "monitors[0].baseline: windows: only for kind trailing or seasonal",
        ),
        (
            {"baseline": {"kind": "trailing", "windows": 3, "min_windows": 4}},
            "monitors[0].baseline: min_windows (4) exceeds the windows (3)",
        ),
        (
            {"baseline": {"kind": "trailing", "windows": 3, "window": 2}},
            "monitors[0].baseline: unknown key 'window'",
        ),
        (
            {"baseline": {"kind": "moving"}},
            "monitors[0].baseline.kind",
        ),
        (
            {
                "baseline": {
                    "kind": "trailing",
                    "windows": 3,
                    "exclude": [{"start": "2026-12-27T00:00:00Z", "end": "2026-12-24T00:00:00Z"}],
                }
            },
            "monitors[0].baseline.exclude[0]: end must be after start",
        ),
        (
            {"baseline": {"kind": "trailing", "windows": 3}, "window": {"events": 500}},
            "monitors[0]: baseline: kind trailing needs a time window (window.size)",
        ),
        (
            {
                "baseline": {"kind": "trailing", "windows": 168},
                "window": {"size": "1h"},
                "rules": [{"name": "slow", "condition": "sequential_drift"}],
            },
            "monitors[0]: baseline.kind: trailing cannot feed rule 'slow' (condition "
            "sequential_drift)",
        ),
        (
            {"baseline": {"kind": "seasonal", "days": 3}, "window": {"size": "2d", "bucket": "1h"}},
            "monitors[0]: baseline: the window (2 days, 0:00:00) is longer than the period",
        ),
    ],
)
def test_bad_baselines_name_the_key(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _monitor(**extra)
    assert message in str(err.value)


def test_a_seasonal_baseline_may_feed_the_sequential_rule() -> None:
    """Seasonal scores stay within the budget on streams whose windows share no rows
    (bench/RESULTS.md, s23-baseline); trailing ones follow the daily cycle and are refused."""
    m = _monitor(
        baseline={"kind": "seasonal", "days": 7},
        window={"size": "1h"},
        rules=[{"name": "slow", "condition": "sequential_drift"}],
    )
    assert m.baseline.kind == "seasonal"
