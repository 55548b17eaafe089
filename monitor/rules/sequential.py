"""The `sequential_drift` condition: a feature's CUSUM over its bound (docs/drift.md,
"In monitors: the sequential rule").

Pure: the scheduler advances the stored CUSUM state in the run's transaction and hands the
result over as `RunFacts.sequential` (`monitor.scheduler.sequential.view`); this module
only reads it. Subjects: without `feature`, one dataset hit (subject "", any feature over
the bound); with `feature`, that feature's CUSUM; with `per_feature: true`, one hit per
feature. No hits (alerts hold as they are) when the run has no sequential state or did not
apply its window (an older window than the newest applied).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.rules.facts import RuleHit, RunFacts, hit, short_name
from monitor.settings import RuleSettings
from monitor.verdict import number


def sequential_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    seq = facts.sequential
    if not seq:
        return []
    if seq.get("judged") is False:
        # a sliding window's run between judged ones: the state as it is (the last judged
        # verdict, so alerts neither resolve nor re-fire); `for` > 1 counts judged windows
        if rule.for_runs > 1:
            return []
    elif not seq.get("applied"):
        return []
    features: Mapping[str, Mapping[str, Any]] = seq.get("features") or {}
    if rule.feature is not None:
        one = features.get(rule.feature)
        return [] if one is None else [_feature_hit(rule, seq, rule.feature, one)]
    if rule.per_feature:
        return [_feature_hit(rule, seq, n, f) for n, f in features.items() if _judged(f)]
    judged = {n: f for n, f in features.items() if _judged(f)}
    if not judged:
        return []
    return [_dataset_hit(rule, seq, judged)]


def _judged(f: Mapping[str, Any]) -> bool:
    """A feature with a verdict: its sum is known (a feature never scored has none)."""
    return number(f.get("statistic")) is not None and int(f.get("since") or 0) > 0


def _over(seq: Mapping[str, Any], f: Mapping[str, Any]) -> bool:
    return not f.get("warming_up") and float(f["statistic"]) > float(seq["bound"])


def _entry(seq: Mapping[str, Any], name: str, f: Mapping[str, Any]) -> dict[str, Any]:
    """What the payload states for one feature: sum, bound, windows since (re)start, warm-up
    and windows learned after it, the CUSUM's settings (k, cap, delta, learn), the expected
    delay for the stated shift."""
    return {
        "feature": name,
        "statistic": float(f["statistic"]),
        "bound": float(seq["bound"]),
        "windows_since_start": int(f.get("since") or 0),
        "warming_up": bool(f.get("warming_up")),
        "warmup_windows": int(f.get("warmup_seen") or 0),
        "warmup": int(seq.get("warmup") or 0),
        "learned_windows": int(f.get("learned") or 0),
        # what decided it: the CUSUM's settings (docs/drift.md, "In monitors")
        "k": number(seq.get("k")),
        "cap": number(seq.get("cap")),
        "delta": number(seq.get("delta")),
        "learn": bool(seq.get("learn")),
        # average | learned | warmup: what the bound was sized for (docs/drift.md)
        "bound_for": seq.get("bound_for"),
        "budget_share": number(seq.get("budget_share")),
        "reference_share": number(seq.get("reference_share")),
        "z": number(f.get("z")),
        "restarts": int(f.get("restarts") or 0),
        "expected_delay": seq.get("expected_delay"),
        "expected_run_length": seq.get("expected_run_length"),
        # sliding windows only: judged every n-th run (disjoint windows, docs/drift.md)
        **({"judged": seq["judged"], "judged_every": seq.get("judged_every")}
           if "judged" in seq else {}),
    }  # fmt: skip


def _delay(seq: Mapping[str, Any]) -> str:
    d = seq.get("expected_delay") or {}
    windows, shift = number(d.get("windows")), number(d.get("shift"))
    if windows is None or shift is None:
        return ""
    return f"; expected delay {windows:.1f} windows for a {shift:g} sd shift"


def _state_text(seq: Mapping[str, Any], f: Mapping[str, Any]) -> str:
    if f.get("warming_up"):
        return f"warming up ({int(f.get('warmup_seen') or 0)} of {int(seq['warmup'])} windows)"
    s, h = float(f["statistic"]), float(seq["bound"])
    cmp = ">" if s > h else "≤"
    return f"CUSUM {s:.2f} {cmp} bound {h:.2f} ({int(f.get('since') or 0)} windows since start)"


def _feature_hit(
    rule: RuleSettings, seq: Mapping[str, Any], name: str, f: Mapping[str, Any]
) -> RuleHit:
    holds = _over(seq, f)
    summary = f"feature {short_name(name)}: {_state_text(seq, f)}{_delay(seq)}"
    return hit(rule, name, holds, summary, sequential=_entry(seq, name, f))


def _dataset_hit(
    rule: RuleSettings, seq: Mapping[str, Any], judged: Mapping[str, Mapping[str, Any]]
) -> RuleHit:
    over = sorted((n for n, f in judged.items() if _over(seq, f)),
                  key=lambda n: -float(judged[n]["statistic"]))  # fmt: skip
    top = over[0] if over else max(judged, key=lambda n: float(judged[n]["statistic"]))
    warming = [n for n, f in judged.items() if f.get("warming_up")]
    if over:
        head = f"{len(over)} of {len(judged)} features over the sequential bound; largest "
    elif len(warming) == len(judged):
        head = "all features warming up; e.g. "
    else:
        head = "no feature over the sequential bound; largest "
    summary = f"{head}{short_name(top)}: {_state_text(seq, judged[top])}{_delay(seq)}"
    entry = _entry(seq, top, judged[top])
    entry["features_over"] = over
    entry["features"] = len(judged)
    return hit(rule, "", bool(over), summary, sequential=entry)
