"""What decided a feature's drift verdict, for payloads and one-line texts (pure).

Tests (ks, chisquare, z, ...) compare their p-value with the threshold (drift below it);
distances (psi, wasserstein, ...) compare their statistic (drift at or above it). Every
feature entry of a notification therefore carries `threshold_on` ("p_value" | "statistic")
next to method, statistic, p-value and threshold, and texts print the compared number:
"p = 0.0003 < 0.05" for a test, "0.21 ≥ 0.1" for a distance.

With auto thresholds (issue 14) an entry also says what decided it (`decided_by`): the null
quantile (`null`: threshold, level, window size, reference rows), the calibrated, guarded
and corrected p-values and the correction; texts append it briefly:
"0.21 ≥ 0.13 (null q0.99986 at 500 rows; p 2.1e-05, holm 0.00019)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from monitor.drift.registry import METHODS

ThresholdOn = Literal["p_value", "statistic"]


def threshold_on(method: str) -> ThresholdOn:
    """What the method's threshold bounds (unknown methods: the statistic)."""
    m = METHODS.get(method)
    return "p_value" if m is not None and m.is_p_value else "statistic"


def number(value: Any) -> float | None:
    """A finite float, or None (bools, NaN, infinities, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def at_least(holds: bool) -> str:
    """How rule summaries print a value against its threshold: ">=" when it reached it, else
    "<" (drift and data-quality conditions fire at the threshold itself)."""
    return ">=" if holds else "<"


def fmt(value: Any) -> str:
    f = number(value)
    if f is None:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return "n/a"
    return f"{f:.4g}"


def comparison(entry: Mapping[str, Any]) -> str:
    """The compared number against the threshold: "p = 0.0003 < 0.05" / "0.21 ≥ 0.1", and
    for auto thresholds what decided it (`decision_note`)."""
    note = decision_note(entry)
    return _compared(entry) + (f" ({note})" if note else "")


def decision_note(entry: Mapping[str, Any]) -> str:
    """ "null q0.99986 at 500 rows; p 2.1e-05, holm 0.00019" (auto thresholds), else ""."""
    null = entry.get("null")
    parts = []
    if isinstance(null, Mapping):
        level = number(null.get("level"))
        rows = number(null.get("window_size"))
        head = f"null q{level:.6g}" if level is not None else "null quantile"
        parts.append(head + (f" at {rows:.0f} rows" if rows is not None else ""))
    elif entry.get("decided_by") == "p_value":
        parts.append("budget level")
    else:
        return ""
    p = number(entry.get("p_value_calibrated"))
    tail = [f"p {fmt(p)}"] if p is not None else []
    corrected = number(entry.get("p_value_corrected"))
    if corrected is not None and entry.get("correction"):
        tail.append(f"{entry['correction']} {fmt(corrected)}")
    return "; ".join([parts[0], ", ".join(tail)] if tail else parts)


def _compared(entry: Mapping[str, Any]) -> str:
    thr = number(entry.get("threshold"))
    on = entry.get("threshold_on") or threshold_on(str(entry.get("method", "")))
    if on == "p_value":
        p = number(entry.get("p_value"))
        if p is None or thr is None:
            return f"p = {fmt(entry.get('p_value'))}, threshold {fmt(thr)}"
        return f"p = {fmt(p)} {'<' if p < thr else '≥'} {fmt(thr)}"
    raw = entry.get("statistic")
    stat = number(raw)
    if stat is None and isinstance(raw, float) and math.isinf(raw):
        stat = raw
    if stat is None or thr is None:
        return f"{fmt(raw)}, threshold {fmt(thr)}"
    return f"{fmt(raw)} {'≥' if stat >= thr else '<'} {fmt(thr)}"


def how_far(entry: Mapping[str, Any]) -> float:
    """How far past its threshold a feature is (larger: more drifted; unknown: -inf).
    Distances: statistic / threshold; tests: threshold / p-value."""
    thr = number(entry.get("threshold"))
    on = entry.get("threshold_on") or threshold_on(str(entry.get("method", "")))
    if on == "p_value":
        p = number(entry.get("p_value"))
        if p is None:
            return -math.inf
        if thr is None or thr <= 0:
            return -p
        return math.inf if p == 0 else thr / p
    raw = entry.get("statistic")
    if isinstance(raw, float) and raw == math.inf:
        return math.inf
    stat = number(raw)
    if stat is None:
        return -math.inf
    return stat / thr if thr is not None and thr > 0 else stat


def feature_entry(
    name: str,
    method: str,
    statistic: Any,
    p_value: Any,
    threshold: Any,
    decided_by: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One feature as notification payloads list it; with auto thresholds (`decided_by`,
    `monitor.drift.auto_verdict`) also what decided it."""
    entry: dict[str, Any] = {
        "name": name,
        "method": method,
        "statistic": number(statistic),
        "p_value": number(p_value),
        "threshold": number(threshold),
        "threshold_on": threshold_on(method),
    }
    if isinstance(decided_by, Mapping):
        entry.update(decision_fields(decided_by))
    return entry


def decision_fields(d: Mapping[str, Any]) -> dict[str, Any]:
    """The payload fields of an auto verdict: rule, null quantile, p-values, correction."""
    out: dict[str, Any] = {"decided_by": str(d.get("rule", ""))}
    if d.get("rule") == "null_quantile":
        raw = d.get("guard")
        guard: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        out["null"] = {
            "method": d.get("method"),
            "threshold": number(d.get("threshold")),
            "level": number(d.get("level")),
            "window_size": number(d.get("window_size")),
            "reference_rows": number(d.get("reference_rows")),
            "z": number(d.get("z")),
            "guard_delta": number(guard.get("delta")),
            "guard_rho": number(guard.get("rho")),
        }
        base = d.get("baseline")  # a trailing/seasonal baseline's leave-one-out null
        if isinstance(base, Mapping):
            out["null"]["source"] = str(base.get("null", ""))
            out["null"]["baseline_windows"] = number(base.get("windows"))
            out["null"]["df"] = number(base.get("df"))
    if d.get("rule") == "fixed" and d.get("reason"):
        out["decided_reason"] = str(d["reason"])
    for key, name in (
        ("p_value", "p_value_calibrated"),
        ("p_value_conditional", "p_value_conditional"),
        ("p_value_corrected", "p_value_corrected"),
        ("alpha", "alpha"),
        ("correction_alpha", "correction_alpha"),
    ):
        if key in d:
            out[name] = number(d.get(key))
    if "correction" in d:
        out["correction"] = str(d["correction"])
    return out
