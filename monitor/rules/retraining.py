"""Rule `retraining_ineffective`: did the retrained version fix what the alert was about?

After a deployment (`monitor deploy`, `POST /models/{model}/deployments`) the monitor
compares the new version's traffic with the new version's reference. The rule looks at the
first `windows` (N, default 3) finished drift windows on that reference and fires when the
dataset still drifts on at least `min_drifted` (M, default a majority: N // 2 + 1) of them,
or, when the rule names a `metric` and labels exist, when the new version's realised metric
over its first N performance windows (their labelled-row-weighted mean: for accuracy the
pooled accuracy) is worse than the rule's `threshold` (or the new reference's value minus
`max_drop`). Fewer than N judged windows: no verdict yet ("too early"; an open alert holds).

The subject is the deployment (`deployment <id>`): a later deployment starts a new subject and
the old alert resolves (the rule's family, `retraining`, is also superseded by deployments).
The hit's details carry the episode (`retraining`: deployment, version, the alert and the
trigger delivery that caused it, the windows judged), which the notification payload copies.

Pure: the scheduler (`monitor.scheduler.retraining`) reads the context from storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.rules.facts import RuleHit, RunFacts, hit, short_name
from monitor.rules.performance import bound_of, worse
from monitor.settings import RuleSettings
from monitor.verdict import number

DEFAULT_WINDOWS = 3

Verdict = Literal["helped", "did not help", "too early"]


@dataclass(frozen=True)
class EpisodeWindow:
    """One drift window of the deployed version (on the deployment's reference)."""

    window_start: datetime
    window_end: datetime
    run_id: int | None
    dataset_drift: bool | None
    drift_share: float | None


@dataclass(frozen=True)
class PerformanceWindow:
    """One performance window (newest revision): labelled rows and the overall metrics."""

    window_start: datetime
    window_end: datetime
    labelled: int
    metrics: Mapping[str, Any]


@dataclass(frozen=True)
class RetrainingContext:
    """The model's newest deployment as this monitor sees it, and its first windows."""

    deployment_id: int
    version: str
    deployed_at: datetime
    alert_id: int | None  # the alert whose trigger led to it (None: deployed without one)
    delivery_id: str | None
    windows: tuple[EpisodeWindow, ...] = ()  # oldest first, the current run included
    performance: tuple[PerformanceWindow, ...] = ()  # first windows after the deployment
    reference_performance: Mapping[str, float] | None = None  # the new reference's


@dataclass(frozen=True)
class Judgement:
    """What the first N windows say (shared by the rule and the monitor page)."""

    verdict: Verdict
    windows: int  # N
    min_drifted: int  # M
    judged: tuple[EpisodeWindow, ...]  # the first N with a drift verdict (fewer: too early)
    drifted: int
    performance: dict[str, Any] | None  # {metric, value, reference, threshold, labelled}
    worse: bool  # the performance is past the bound


def window_counts(rule: RuleSettings | None) -> tuple[int, int]:
    """(N, M) of a rule (defaults without one)."""
    n = (rule.windows if rule is not None else None) or DEFAULT_WINDOWS
    m = (rule.min_drifted if rule is not None else None) or n // 2 + 1
    return n, min(m, n)


def pooled_metric(
    windows: Sequence[PerformanceWindow], metric: str, n: int, min_rows: int | None = None
) -> tuple[float, int] | None:
    """The labelled-row-weighted mean of `metric` over the first `n` windows that have it
    (with at least `min_rows` labelled rows), and the labelled rows behind it; None: none."""
    total, rows = 0.0, 0
    for w in [w for w in windows if _usable(w, metric, min_rows)][:n]:
        total += float(w.metrics[metric]) * w.labelled
        rows += w.labelled
    return (total / rows, rows) if rows else None


def _usable(w: PerformanceWindow, metric: str, min_rows: int | None) -> bool:
    if number(w.metrics.get(metric)) is None or w.labelled <= 0:
        return False
    return min_rows is None or w.labelled >= min_rows


def judge(
    windows: Sequence[EpisodeWindow],
    performance: Sequence[PerformanceWindow],
    rule: RuleSettings | None,
    reference_performance: Mapping[str, float] | None = None,
) -> Judgement:
    """The verdict on a deployed version's first windows: "too early" until N windows have a
    drift verdict; "did not help" when M of them drift or the metric is past the bound;
    else "helped"."""
    n, m = window_counts(rule)
    judged = tuple(w for w in windows if w.dataset_drift is not None)[:n]
    drifted = sum(bool(w.dataset_drift) for w in judged)
    perf, is_worse = _performance(rule, performance, n, reference_performance)
    if len(judged) < n:
        verdict: Verdict = "too early"
    elif drifted >= m or is_worse:
        verdict = "did not help"
    else:
        verdict = "helped"
    return Judgement(verdict, n, m, judged, drifted, perf, is_worse)


def _performance(
    rule: RuleSettings | None,
    windows: Sequence[PerformanceWindow],
    n: int,
    reference: Mapping[str, float] | None,
) -> tuple[dict[str, Any] | None, bool]:
    if rule is None or not rule.metric:
        return None, False
    pooled = pooled_metric(windows, rule.metric, n, rule.min_rows)
    if pooled is None:
        return None, False  # no labels yet: judged on drift alone
    value, rows = pooled
    ref_value = number((reference or {}).get(rule.metric))
    bound = bound_of(rule, rule.metric, ref_value)
    if bound is None:
        return None, False
    perf = {"metric": rule.metric, "value": value, "reference": ref_value,
            "threshold": bound, "labelled_rows": rows}  # fmt: skip
    return perf, worse(rule.metric, value, bound)


def retraining_ineffective(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """The rule on one drift run: one hit for the newest deployment, or none (too early, or
    no deployment)."""
    ctx = facts.retraining
    if ctx is None:
        return []
    j = judge(ctx.windows, ctx.performance, rule, ctx.reference_performance)
    if j.verdict == "too early":
        return []
    summary = (
        f"version {short_name(ctx.version)} (deployment {ctx.deployment_id}): dataset drift on "
        f"{j.drifted} of its first {j.windows} windows ({'>=' if j.drifted >= j.min_drifted else '<'} "
        f"{j.min_drifted})"
    )
    if j.performance is not None:
        p = j.performance
        word = "worse than" if j.worse else "not worse than"
        summary += f"; {p['metric']} {p['value']:.4g} {word} {p['threshold']:.4g}"
    episode = {
        "deployment_id": ctx.deployment_id,
        "version": ctx.version,
        "deployed_at": ctx.deployed_at.isoformat(),
        "alert_id": ctx.alert_id,
        "delivery_id": ctx.delivery_id,
        "windows": j.windows,
        "min_drifted": j.min_drifted,
        "drifted": j.drifted,
        "runs": [w.run_id for w in j.judged],
        "verdict": j.verdict,
    }
    details: dict[str, Any] = {"retraining": episode}
    if j.performance is not None:
        details["performance"] = j.performance
    condition = j.verdict == "did not help"
    return [hit(rule, f"deployment {ctx.deployment_id}", condition, summary, **details)]


__all__ = [
    "DEFAULT_WINDOWS",
    "EpisodeWindow",
    "Judgement",
    "PerformanceWindow",
    "RetrainingContext",
    "Verdict",
    "judge",
    "pooled_metric",
    "retraining_ineffective",
    "window_counts",
]
