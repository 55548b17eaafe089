"""What decided a feature's drift verdict, for payloads and one-line texts (pure).

Tests (ks, chisquare, z, ...) compare their p-value with the threshold (drift below it);
distances (psi, wasserstein, ...) compare their statistic (drift at or above it). Every
feature entry of a notification therefore carries `threshold_on` ("p_value" | "statistic")
next to method, statistic, p-value and threshold, and texts print the compared number:
"p = 0.0003 < 0.05" for a test, "0.21 ≥ 0.1" for a distance.
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
    """The compared number against the threshold: "p = 0.0003 < 0.05" / "0.21 ≥ 0.1"."""
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
    name: str, method: str, statistic: Any, p_value: Any, threshold: Any
) -> dict[str, Any]:
    """One feature as notification payloads list it."""
    return {
        "name": name,
        "method": method,
        "statistic": number(statistic),
        "p_value": number(p_value),
        "threshold": number(threshold),
        "threshold_on": threshold_on(method),
    }
