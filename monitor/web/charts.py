"""Chart data for the dashboard: plotly figure dicts, inline SVG sparklines and heatmap
colours (reference-vs-current distributions are in distributions.py).

Figures are plain dicts (drawn in the browser from JSON); every name inside one is
HTML-escaped (`plot_text`) because plotly renders a subset of HTML in labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from monitor.display import PREDICTION_FEATURE, feature_label
from monitor.drift.registry import METHODS
from monitor.performance.estimation.gap import metric_gap
from monitor.web.html import e, figure, plot_text

REF_COLOUR = "#4c78a8"
CUR_COLOUR = "#f58518"
B_COLOUR = "#54a24b"
RED = "#c62828"
PREDICTION = PREDICTION_FEATURE
label = feature_label  # one display name for the prediction (monitor/display.py)


TITLE_CHARS = 48  # a chart title longer than this is shortened (the full name is on hover)
SINGLE_POINT_PAD = timedelta(hours=1)


def short(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` cut to `limit` characters with an ellipsis: SVG text does not wrap, and a
    241-character feature name would run past its chart and widen the page."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def time_range(xs: Sequence[str]) -> list[str] | None:
    """An x-axis range for a chart whose points all share one time: plotly would zoom into
    that instant (sub-millisecond ticks); an hour either side reads as a time axis."""
    if not xs or len(set(xs)) > 1:
        return None
    at = datetime.strptime(xs[0], "%Y-%m-%d %H:%M:%S")
    return [ts(at - SINGLE_POINT_PAD), ts(at + SINGLE_POINT_PAD)]


def ts(value: datetime) -> str:
    """Plotly reads date strings without an offset (it would ignore one): UTC, stated in axes."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def chart_layout(title: str | None = None, **extra: Any) -> dict[str, Any]:
    """The dashboard's plotly layout (margins, legend below, transparent paper), `extra` on top."""
    out: dict[str, Any] = {
        "margin": {"l": 50, "r": 16, "t": 34 if title else 12, "b": 40},
        "height": 280,
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.22},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#fff",
        "font": {"size": 11},
    }
    if title:
        out["title"] = {"text": plot_text(title), "font": {"size": 13}, "x": 0.01}
    out.update(extra)
    return out


# --- drift scores and heatmap colours -------------------------------------------------------


def score(row: dict[str, Any]) -> float | None:
    """How far past its threshold a result is, in units of the threshold (>= 1: over).

    Distances: statistic / threshold. p-value tests (drift when p < threshold): threshold / p.
    """
    method = METHODS.get(row.get("method") or "")
    thr = row.get("threshold")
    if method is None or thr is None or thr <= 0:
        return None
    if method.is_p_value:
        p = row.get("p_value")
        if p is None or math.isnan(p):
            return None
        return math.inf if p <= 0 else thr / p
    stat = row.get("statistic")
    if stat is None or math.isnan(stat):
        return None
    return stat / thr


def score_text(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return "≥100×"
    return f"{value:.2g}×"


def _mix(a: str, b: str, t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def heat_colour(value: float | None, drifted: bool | None) -> str:
    """Green far below the threshold, yellow near it, red (deeper with the score) when drifted."""
    if drifted:
        t = 0.0 if value is None or value <= 1 else math.log10(min(value, 100.0)) / 2
        return _mix("#e57373", "#8e0000", t)
    if value is None:
        return "#eef0f3"
    t = 1 + math.log10(max(value, 0.1))  # 0.1 -> 0, 1 -> 1
    return _mix("#dff1e3", "#ffe08a", t)


# --- sparklines (inline SVG: no script needed) ---------------------------------------------


def sparkline(runs: Sequence[dict[str, Any]], threshold: float, width=160, height=34) -> str:
    """Drift share of recent runs (0 to 1.5 x threshold, or the largest share), dashed
    threshold, red dots for drifted windows."""
    points = [(x["drift_share"], bool(x["dataset_drift"])) for x in runs]
    if not points:
        return '<span class="muted">no runs</span>'
    pad = 3
    n = len(points)
    values = [v for v, _ in points if v is not None]
    top = min(max([threshold * 1.5, *values]), 1.0) or 1.0  # small shares stay visible

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return round(x, 1), round(height - pad - (height - 2 * pad) * min(max(v, 0) / top, 1), 1)

    coords = [xy(i, v) for i, (v, _) in enumerate(points) if v is not None]
    line = " ".join(f"{x},{y}" for x, y in coords)
    ty = xy(0, threshold)[1]
    dots = "".join(
        f'<circle cx="{xy(i, v)[0]}" cy="{xy(i, v)[1]}" r="2.6" fill="{RED}"/>'
        for i, (v, d) in enumerate(points)
        if d and v is not None
    )
    if len(coords) == 1 and not dots:  # one point makes no line: draw it as a dot
        dots = f'<circle cx="{coords[0][0]}" cy="{coords[0][1]}" r="2.6" fill="{REF_COLOUR}"/>'
    newest = runs[-1]  # insufficient_data, skipped and failed runs have no share
    latest = (
        f"latest {newest['drift_share']:.2f}"
        if newest["drift_share"] is not None
        else f"latest run {newest['status'].replace('_', ' ')}, no share"
    )
    title = f"drift share of the last {n} runs ({latest}); threshold {threshold:g}"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{e(title)}"><title>{e(title)}</title>'
        f'<line x1="0" x2="{width}" y1="{ty}" y2="{ty}" stroke="#999" stroke-dasharray="3,3"/>'
        f'<polyline points="{line}" fill="none" stroke="{REF_COLOUR}" stroke-width="1.6"/>'
        f"{dots}</svg>"
    )


# --- time series ---------------------------------------------------------------------------


def drift_share_figure(
    series: Sequence[tuple[str, Sequence[dict[str, Any]], str]], threshold: float
) -> dict[str, Any]:
    """Drift share per run for one or more monitors; click a point to open its run."""
    data: list[dict[str, Any]] = []
    xs: list[str] = []
    for name, runs, colour in series:
        pts = [x for x in runs if x["drift_share"] is not None]
        x = [ts(p["window_end"]) for p in pts]
        xs += x
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": plot_text(name),
                "x": x,
                "y": [p["drift_share"] for p in pts],
                "customdata": [p["id"] for p in pts],
                "line": {"color": colour},
                "marker": {
                    "size": 9,
                    "color": [RED if p["dataset_drift"] else colour for p in pts],
                },
                "hovertemplate": "%{x} UTC<br>drift share %{y:.2f}<br>run %{customdata}"
                "<extra></extra>",
            }
        )
    padded = time_range(xs)
    if xs:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"threshold {threshold:g}",
                "x": padded or [min(xs), max(xs)],
                "y": [threshold, threshold],
                "line": {"color": "#888", "dash": "dash"},
                "hoverinfo": "skip",
            }
        )
    xaxis: dict[str, Any] = {"title": {"text": "window end (UTC)"}, "type": "date"}
    if padded:
        xaxis["range"] = padded
    layout = chart_layout(xaxis=xaxis, yaxis={"title": {"text": "drift share"}, "range": [0, 1.05]})
    return {"data": data, "layout": layout, "open_runs": True}


def drift_share_html(
    element_id: str, series: Sequence[tuple[str, Sequence[dict[str, Any]], str]], threshold: float
) -> str:
    """The drift-share chart, or a sentence when there is nothing to draw (plotly draws an
    empty date axis as January to November 2000)."""
    runs = [x for _, rs, _ in series for x in rs]
    if not runs:
        return '<p class="muted">No runs yet.</p>'
    if all(x["drift_share"] is None for x in runs):
        kinds = sorted({x["status"].replace("_", " ") for x in runs})
        return (
            f'<p class="muted">No run has a drift share yet (the last {len(runs)} runs: '
            f"{e(', '.join(kinds))}).</p>"
        )
    return (
        '<p class="muted small">Red points: dataset drift. Click a point to open its run.</p>'
        + figure(element_id, drift_share_figure(series, threshold))
    )


def as_number(value: Any) -> float | None:
    """A stored JSON number as a float; anything else (None, a bool, a string) as None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def metric_value(doc: dict[str, Any] | None, metric: str) -> float | None:
    """A scalar metric from a performance_runs.metrics document (None when not computed)."""
    metrics = ((doc or {}).get("overall") or {}).get("metrics") or {}
    value = metrics.get(metric)
    return as_number(value)


def metric_names(docs: Sequence[dict[str, Any] | None], wanted: Sequence[str]) -> list[str]:
    """The metrics worth a chart: the preferred ones that some window really has."""
    return [m for m in wanted if any(metric_value(d, m) is not None for d in docs)]


def metric_figure(
    metric: str,
    series: Sequence[tuple[str, Sequence[Any], float | None, str]],
) -> dict[str, Any]:
    """One metric over windows per monitor, with that monitor's reference value dashed."""
    data: list[dict[str, Any]] = []
    padded = time_range(
        [
            ts(x.window_end)
            for _, runs, _, _ in series
            for x in runs
            if metric_value(x.metrics, metric) is not None
        ]
    )
    for name, runs, reference, colour in series:
        pts = [(ts(x.window_end), metric_value(x.metrics, metric)) for x in runs]
        pts = [(x, y) for x, y in pts if y is not None]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": plot_text(name),
                "x": [x for x, _ in pts],
                "y": [y for _, y in pts],
                "line": {"color": colour},
                "hovertemplate": "%{x} UTC<br>%{y:.4f}<extra></extra>",
            }
        )
        if reference is not None and pts:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": plot_text(f"{name} reference {reference:.3f}"),
                    "x": padded or [pts[0][0], pts[-1][0]],
                    "y": [reference, reference],
                    "line": {"color": colour, "dash": "dash", "width": 1.5},
                    "hoverinfo": "skip",
                }
            )
    layout = chart_layout(
        metric,
        height=240,
        xaxis={"type": "date", **({"range": padded} if padded else {})},
        yaxis={"title": {"text": plot_text(metric)}},
    )
    return {"data": data, "layout": layout}


# --- estimated performance (issue #15 item 5) -----------------------------------------------

METHOD_COLOURS = (CUR_COLOUR, B_COLOUR, "#b279a2", "#9d755d")
COVERED = "#2ca02c"  # a realised value inside the estimate's band (RED: outside)


def estimate_value(doc: dict[str, Any] | None, metric: str, field: str) -> float | None:
    """One field (value, lower, upper, realised) of a metric in a stored window estimate."""
    entry = (((doc or {}).get("metrics") or {}).get(metric)) or {}
    value = entry.get(field) if isinstance(entry, dict) else None
    return as_number(value)


def estimate_metric_names(
    docs: Sequence[dict[str, Any] | None], wanted: Sequence[str]
) -> list[str]:
    """The estimated metrics worth a chart: the preferred ones first, then the others, each
    only where some window has an estimate."""
    names = list(wanted) + [k for d in docs for k in ((d or {}).get("metrics") or {})]
    names = list(dict.fromkeys(names))
    return [m for m in names if any(estimate_value(d, m, "value") is not None for d in docs)]


def _band_traces(
    method: str, pts: list[tuple[str, float, float]], colour: str
) -> list[dict[str, Any]]:
    """The band as a shaded area: the upper edge, then the lower edge filled up to it."""
    edge = {"type": "scatter", "mode": "lines", "line": {"width": 0, "color": colour}}
    return [
        {**edge, "x": [x for x, _, _ in pts], "y": [u for _, _, u in pts],
         "showlegend": False, "hoverinfo": "skip", "name": plot_text(f"{method} upper")},
        {**edge, "x": [x for x, _, _ in pts], "y": [lo for _, lo, _ in pts],
         "fill": "tonexty", "fillcolor": _fill(colour), "hoverinfo": "skip",
         "name": plot_text(f"{method} band")},
    ]  # fmt: skip


def _fill(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.2)"


def estimate_figure(metric: str, rows: Sequence[Any]) -> dict[str, Any]:
    """One estimated metric over windows (oldest first, `WindowEstimateRow`s) per estimator:
    the band shaded, the estimate as a line, the realised value as points where labels arrived."""
    data: list[dict[str, Any]] = []
    methods = list(dict.fromkeys(str(r.estimate.get("method", "")) for r in rows))
    for i, method in enumerate(methods):
        colour = METHOD_COLOURS[i % len(METHOD_COLOURS)]
        mine = [r for r in rows if str(r.estimate.get("method", "")) == method]
        value = [(ts(r.window_end), estimate_value(r.estimate, metric, "value")) for r in mine]
        band = [
            (ts(r.window_end), lo, hi)
            for r in mine
            if (lo := estimate_value(r.estimate, metric, "lower")) is not None
            and (hi := estimate_value(r.estimate, metric, "upper")) is not None
        ]
        real = [
            (ts(r.window_end), g) for r in mine if (g := metric_gap(r.estimate, metric)) is not None
        ]
        if band:
            data += _band_traces(method, band, colour)
        data.append(
            {"type": "scatter", "mode": "lines+markers", "name": plot_text(f"{method} estimate"),
             "x": [x for x, y in value if y is not None], "y": [y for _, y in value if y is not None],
             "line": {"color": colour}, "hovertemplate": "%{x} UTC<br>estimated %{y:.4f}<extra></extra>"}
        )  # fmt: skip
        data.append(
            {"type": "scatter", "mode": "markers", "name": plot_text(f"{method} realised"),
             "x": [x for x, _ in real], "y": [g.realised for _, g in real],
             "customdata": [[g.gap, "inside" if g.covered else "outside"] for _, g in real],
             "marker": {"color": [COVERED if g.covered else RED for _, g in real],
                        "symbol": "diamond", "size": 9, "line": {"color": "#333", "width": 1}},
             "hovertemplate": "%{x} UTC<br>realised %{y:.4f}<br>gap %{customdata[0]:+.4f}, "
                              "%{customdata[1]} the band<extra></extra>"}
        )  # fmt: skip
    padded = time_range([ts(r.window_end) for r in rows])
    layout = chart_layout(
        f"{metric} (estimated)",
        height=260,
        xaxis={"type": "date", **({"range": padded} if padded else {})},
        yaxis={"title": {"text": plot_text(metric)}},
    )
    return {"data": data, "layout": layout}
