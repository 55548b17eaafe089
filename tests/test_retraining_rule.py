"""The pure verdict of `retraining_ineffective` (monitor.rules.retraining): too early until N
windows have a drift verdict, M of N drifting fires, the pooled metric is the
labelled-row-weighted mean (the pooled accuracy), and windows below `min_rows` do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.rules import RunFacts, evaluate
from monitor.rules.retraining import (
    EpisodeWindow,
    PerformanceWindow,
    RetrainingContext,
    judge,
    pooled_metric,
)
from monitor.settings import RuleSettings

T0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


def _w(i: int, drift: bool | None) -> EpisodeWindow:
    return EpisodeWindow(T0 + i * H, T0 + (i + 1) * H, 100 + i, drift, 0.5 if drift else 0.0)


def _p(i: int, labelled: int, acc: float) -> PerformanceWindow:
    return PerformanceWindow(T0 + i * H, T0 + (i + 1) * H, labelled, {"accuracy": acc})


def _rule(**kw) -> RuleSettings:
    return RuleSettings(name="r", condition="retraining_ineffective", **kw)


@pytest.mark.parametrize(
    ("drifts", "verdict"),
    [
        ([True, True], "too early"),  # N = 3 by default
        ([True, None, True], "too early"),  # an insufficient-data window has no verdict
        ([True, False, True], "did not help"),  # M = 2 of 3 by default
        ([True, False, False], "helped"),
        ([True, False, False, True], "helped"),  # only the first N count
    ],
)
def test_verdict_on_drift(drifts, verdict) -> None:
    windows = [_w(i, d) for i, d in enumerate(drifts)]
    assert judge(windows, [], _rule()).verdict == verdict


def test_min_drifted_and_windows() -> None:
    windows = [_w(i, d) for i, d in enumerate([False, True, False, False])]
    assert judge(windows, [], _rule(windows=4, min_drifted=1)).verdict == "did not help"
    assert judge(windows, [], _rule(windows=4)).verdict == "helped"  # M = 3


def test_pooled_metric_is_the_pooled_accuracy_and_min_rows_drops_small_windows() -> None:
    # 90 of 100 right, then 30 of 60 right: pooled 120 / 160
    windows = [_p(0, 100, 0.9), _p(1, 60, 0.5), _p(2, 1000, 0.1)]
    assert pooled_metric(windows, "accuracy", 2) == (120 / 160, 160)
    assert pooled_metric(windows, "accuracy", 2, min_rows=80) == ((90 + 100) / 1100, 1100)
    assert pooled_metric(windows, "f1", 2) is None


def test_performance_decides_when_drift_is_clean_and_max_drop_uses_the_reference() -> None:
    clean = [_w(i, False) for i in range(3)]
    perf = [_p(0, 100, 0.7), _p(1, 100, 0.8)]
    j = judge(clean, perf, _rule(metric="accuracy", threshold=0.8))
    assert (j.verdict, j.worse, j.performance["value"]) == ("did not help", True, 0.75)
    j = judge(clean, perf, _rule(metric="accuracy", max_drop=0.1), {"accuracy": 0.8})
    assert (j.verdict, j.performance["threshold"]) == ("helped", pytest.approx(0.7))
    no_labels = judge(clean, [], _rule(metric="accuracy", threshold=0.8))
    assert (no_labels.verdict, no_labels.performance) == ("helped", None)


def _facts(ctx: RetrainingContext | None) -> RunFacts:
    return RunFacts("mon", "m", "2", 1, T0, T0 + H, "succeeded", dataset_drift=True,
                    drift_share=0.5, retraining=ctx)  # fmt: skip


def test_hit_subject_and_episode_details() -> None:
    rule = _rule(windows=2)
    assert evaluate([rule], _facts(None)) == []  # no deployment: no verdict
    ctx = RetrainingContext(7, "4", T0, 42, "d-1", (_w(0, True),))
    assert evaluate([rule], _facts(ctx)) == []  # too early
    ctx = RetrainingContext(7, "4<b>", T0, 42, "d-1", (_w(0, True), _w(1, True)))
    [hit] = evaluate([rule], _facts(ctx))
    assert (hit.subject, hit.condition) == ("deployment 7", True)
    ep = hit.details["retraining"]
    assert (ep["alert_id"], ep["delivery_id"], ep["version"], ep["runs"]) == (
        42,
        "d-1",
        "4<b>",
        [100, 101],
    )
    assert hit.details["summary"].startswith("version '4<b>' (deployment 7): dataset drift on 2 of")
