"""The rule `retraining_ineffective`'s view of a drift run: the newest deployment's windows.

`with_retraining` adds a `RetrainingContext` to a run's facts when the monitor has such a
rule: the model's newest deployment, the first succeeded drift windows on the reference it
materialised for this monitor (the run being judged appended while fewer than N are stored
and it runs on that reference), the first performance windows after it and the new
reference's performance. No rule, no deployment: the facts as they were (no query).
"""

from __future__ import annotations

from dataclasses import replace

from monitor.reference import Reference
from monitor.rules import RunFacts
from monitor.rules.retraining import EpisodeWindow, window_counts
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine
from monitor.storage.retraining import retraining_context


def with_retraining(
    engine: Engine, monitor: MonitorSettings, ref: Reference, facts: RunFacts
) -> RunFacts:
    """`facts` with the retraining context the monitor's retraining_ineffective rules need."""
    wanted = [
        window_counts(rule)[0]
        for rule in monitor.rules
        if rule.condition == "retraining_ineffective"
    ]
    if not wanted or facts.status != "succeeded" or facts.dataset_drift is None:
        return facts
    n = max(wanted)
    found = retraining_context(engine, monitor.name, monitor.model, n)
    if found is None:
        return facts
    ctx, reference_version = found
    windows = ctx.windows
    if reference_version == ref.version and len(windows) < n:
        current = EpisodeWindow(
            facts.window_start, facts.window_end, facts.run_id,
            facts.dataset_drift, facts.drift_share,
        )  # fmt: skip
        windows = tuple(sorted((*windows, current), key=lambda w: w.window_start))
    ctx = replace(ctx, windows=windows, reference_performance=ref.performance)
    return replace(facts, retraining=ctx)


__all__ = ["with_retraining"]
