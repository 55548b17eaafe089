"""`estimation_gap`: the estimate keeps missing the realised value (a concept-shift signal).

An estimator (CBPE, AC, ATC, DLE) assumes P(label | model inputs) is the reference's. When
the labels of a window arrive, its realised value lands beside the estimate; if the relation
between inputs and labels changed, the realised value leaves the band while covariate shift
alone keeps it inside (the band is what the window's label noise and the reference's own
noise allow). The rule: over the last `windows` (N, default 5) evaluable windows, the realised
value of `metric` fell outside the band on at least `outside` (M, default 3) of them
(`performance.estimation.gap.gap_verdict`; evaluable = a defined estimate with a band, a
realised value, and at least `min_rows` (default 50) labelled rows). Fewer than N evaluable
windows: no verdict. With bands that cover ≥ 90% of windows when there is no concept shift,
3 of 5 happens by chance with probability < 0.9% per evaluation (binomial, p = 0.1).
"""

from __future__ import annotations

from typing import Any

from monitor.performance.estimation.gap import (
    DEFAULT_MIN_LABELLED,
    DEFAULT_OUTSIDE,
    DEFAULT_WINDOWS,
    GapVerdict,
    gap_verdict,
)
from monitor.rules.facts import RuleHit, RunFacts, hit
from monitor.settings import RuleSettings


def _details(verdict: GapVerdict, facts: RunFacts) -> dict[str, Any]:
    """The payload's `performance` object: the newest judged window's numbers and band, the
    count against M of N, the mean |gap|, and every judged window (oldest first)."""
    newest = verdict.gaps[-1]
    return {
        "metric": verdict.metric,
        "value": newest.realised,
        "estimate": newest.estimate,
        "gap": newest.gap,
        "mean_abs_gap": verdict.mean_abs_gap,
        "reference": None,
        "threshold": None,
        "method": facts.estimator,
        "band": {"lower": newest.lower, "upper": newest.upper},
        "outside": verdict.outside,
        "needed": verdict.needed,
        "of": verdict.windows,
        "windows": [g.to_dict() for g in verdict.gaps],
    }


def estimation_gap(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """The estimation_gap condition over the monitor's recent window estimates (one hit, or
    none while fewer than N windows are evaluable)."""
    if facts.estimate_history is None:
        return []
    metric = rule.metric or ""
    verdict = gap_verdict(
        facts.estimate_history,
        metric,
        windows=rule.windows or DEFAULT_WINDOWS,
        outside=rule.outside or DEFAULT_OUTSIDE,
        min_labelled=rule.min_rows or DEFAULT_MIN_LABELLED,
    )
    if verdict is None:
        return []
    newest = verdict.gaps[-1]
    summary = (
        f"{metric}: realised outside the estimate's band on {verdict.outside} of the last "
        f"{verdict.windows} labelled windows ({'>=' if verdict.fires else '<'} "
        f"{verdict.needed}); newest realised {newest.realised:.4g} vs estimated "
        f"{newest.estimate:.4g} (gap {newest.gap:+.4g}), mean |gap| {verdict.mean_abs_gap:.4g}"
    )
    return [hit(rule, "", verdict.fires, summary, performance=_details(verdict, facts))]


__all__ = ["estimation_gap"]
