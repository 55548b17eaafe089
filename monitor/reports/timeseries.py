"""Per-feature time series of the drift statistic over recent runs, as plotly figures.

Figures are plain plotly.js dicts ({"data", "layout"}): no plotly.graph_objects
validation, which costs ~0.1 s per figure and buys nothing for a fixed, known shape.
Names are HTML-escaped before they go into a figure: plotly renders a subset of HTML in
titles and hover labels, and escaped text keeps every `<` out of the embedded JSON too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.display import feature_label
from monitor.drift.registry import METHODS
from monitor.reports.escape import text

DRIFT_COLOR = "#d62728"
OK_COLOR = "#1f77b4"
THRESHOLD_COLOR = "#7f7f7f"
MARKER_SIZE, CURRENT_SIZE = 7, 13


@dataclass(frozen=True)
class HistoryPoint:
    """One past run of one feature.

    For p-value methods (ks, chisquare, z, ...) the threshold bounds the p-value, so give
    `p_value` too: the chart then plots the p-value against the threshold (drift below it).
    """

    window_end: datetime
    statistic: float | None
    threshold: float | None
    drifted: bool | None
    method: str
    p_value: float | None = None
    current: bool = False  # the run this report is about: drawn larger, outlined


def finite(value: float | None) -> float | None:
    """The value as a float, None when missing or not finite (what a chart can plot)."""
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _is_p_value(method: str) -> bool:
    m = METHODS.get(method)
    return bool(m and m.is_p_value)


def _plotted(point: HistoryPoint) -> float | None:
    if _is_p_value(point.method) and point.p_value is not None:
        return finite(point.p_value)
    return finite(point.statistic)


def _axis_title(points: Sequence[HistoryPoint]) -> str:
    methods = sorted({p.method for p in points})
    pvals = [_is_p_value(m) for m in methods]
    if all(pvals) and all(p.p_value is not None for p in points):
        return f"p-value ({', '.join(methods)}; drift below threshold)"
    return f"statistic ({', '.join(methods)})"


_PAD = timedelta(hours=12)


def feature_figure(name: str, points: Sequence[HistoryPoint]) -> dict[str, Any]:
    """One small chart: the statistic per run (drifted runs in red) and the threshold line;
    the reported run (`current`) is a larger outlined diamond."""
    pts = sorted(points, key=lambda p: p.window_end)
    x = [p.window_end.isoformat() for p in pts]
    y = [_plotted(p) for p in pts]
    colors = [DRIFT_COLOR if p.drifted else OK_COLOR for p in pts]
    hover = [
        f"{text(p.method)}<br>{'drift' if p.drifted else 'no drift' if p.drifted is False else 'n/a'}"
        + ("<br>this report's run" if p.current else "")
        for p in pts
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "statistic",
            "x": x,
            "y": y,
            "text": hover,
            "hovertemplate": "%{x}<br>%{y:.4g}<br>%{text}<extra></extra>",
            "marker": {
                "color": colors,
                "size": [CURRENT_SIZE if p.current else MARKER_SIZE for p in pts],
                "symbol": ["diamond" if p.current else "circle" for p in pts],
                "line": {"color": "#000000", "width": [2 if p.current else 0 for p in pts]},
            },
            "line": {"color": OK_COLOR, "width": 1.5},
            "connectgaps": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "threshold",
            "x": x,
            "y": [finite(p.threshold) for p in pts],
            "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 1.5, "shape": "hv"},
            "hovertemplate": "threshold %{y:.4g}<extra></extra>",
        },
    ]
    xaxis: dict[str, Any] = {"type": "date", "nticks": 5, "tickangle": 0, "automargin": True}
    layout = {
        "title": {"text": text(feature_label(name)), "font": {"size": 13}, "x": 0.02},
        "height": 240,
        "margin": {"l": 50, "r": 10, "t": 36, "b": 30},
        "showlegend": False,
        "xaxis": xaxis,
        "yaxis": {
            "title": {"text": text(_axis_title(pts)), "font": {"size": 10}},
            "automargin": True,
        },
    }
    if len(pts) == 1:  # plotly would zoom to microseconds around a lone point
        at = pts[0].window_end
        xaxis["range"] = [(at - _PAD).isoformat(), (at + _PAD).isoformat()]
    return {"data": data, "layout": layout}


def history_figures(
    history: Mapping[str, Sequence[HistoryPoint]],
) -> list[tuple[str, dict[str, Any]]]:
    """(feature, figure) for every feature with at least one point, in the given order."""
    return [(name, feature_figure(name, pts)) for name, pts in history.items() if pts]
