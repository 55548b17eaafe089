"""The report's model-performance charts (plotly figures as dicts) and stored-run accessors.

Pure: stored performance runs (`StoredRun`s or their dicts) in, figures out; every text from
events goes through `escape.text`, figures are embedded with `script_json`. The section that
lays them out: `performance_section.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from monitor.reports.escape import script_json, text
from monitor.reports.summary import num
from monitor.reports.timeseries import OK_COLOR, THRESHOLD_COLOR, finite
from monitor.rules import lower_is_better

WORSE_COLOR = "#d62728"
STATUS_WORDS = {
    "ok": "ok",
    "insufficient_labels": "too few labels",
    "no_labels": "no labels",
}


def run_field(run: Any, name: str) -> Any:
    """A field of a `StoredRun` or of its dict."""
    return run.get(name) if isinstance(run, Mapping) else getattr(run, name)


def overall_metrics(run: Any) -> dict[str, Any] | None:
    """The overall metrics dict of a run, or None when it has none."""
    doc = run_field(run, "metrics") or {}
    return (doc.get("overall") or {}).get("metrics")


def iso(value: Any) -> str:
    """A datetime as ISO 8601; anything else (already a string in a run dict) as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def run_status(run_or_group: Any) -> str:
    """The status of a run or group (StoredRun or dict), "" when it has none."""
    return str(run_field(run_or_group, "status") or "")


def figure_html(fig_id: str, fig: dict[str, Any]) -> str:
    """A chart div and its JSON block (drawn by the report's boot script)."""
    return (
        f'<div class="chart" id="{fig_id}"></div>'
        f'<script type="application/json" data-figure="{fig_id}">{script_json(fig)}</script>'
    )


def layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    """The section's common chart layout; `extra` keys replace or add layout entries."""
    return {
        "title": {"text": text(title), "font": {"size": 13}, "x": 0.02},
        "height": 240,
        "margin": {"l": 50, "r": 10, "t": 36, "b": 30},
        "showlegend": False,
        "yaxis": {"title": {"text": text(y_title), "font": {"size": 10}}, "automargin": True},
        **extra,
    }


def metric_figure(
    metric: str, runs: Sequence[Any], reference: float | None
) -> dict[str, Any] | None:
    """One metric per window (oldest first) and the reference as a dashed line; None when
    no window has a value."""
    pts = sorted(runs, key=lambda r: run_field(r, "window_end"))
    y = [finite((overall_metrics(r) or {}).get(metric)) for r in pts]
    if all(v is None for v in y):
        return None
    x = [iso(run_field(r, "window_end")) for r in pts]
    hover = [
        f"rev {run_field(r, 'revision')} · {run_field(r, 'labelled'):,} labelled"
        + ("" if v is not None else f" · {STATUS_WORDS.get(run_status(r), run_status(r))}")
        for r, v in zip(pts, y, strict=True)
    ]
    ref = finite(reference)
    worse = [
        v is not None and ref is not None and (v > ref if lower_is_better(metric) else v < ref)
        for v in y
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": metric,
            "x": x,
            "y": y,
            "text": [text(h) for h in hover],
            "hovertemplate": "%{x}<br>%{y:.4g}<br>%{text}<extra></extra>",
            "marker": {"color": [WORSE_COLOR if w else OK_COLOR for w in worse], "size": 7},
            "line": {"color": OK_COLOR, "width": 1.5},
            "connectgaps": False,
        }
    ]
    if ref is not None:  # spans the windows' full extent, so one window still shows a line
        first = min(run_field(r, "window_start") for r in pts)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "reference",
                "x": [iso(first), x[-1]],
                "y": [ref, ref],
                "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 1.5},
                "hovertemplate": "reference %{y:.4g}<extra></extra>",
            }
        )
    better = "lower is better" if lower_is_better(metric) else "higher is better"
    return {
        "data": data,
        "layout": layout(
            metric,
            better,
            xaxis={"type": "date", "nticks": 5, "tickangle": 0, "automargin": True},
        ),
    }


def coverage_figure(runs: Sequence[Any]) -> dict[str, Any]:
    """Share of each window's predictions that have a label."""
    pts = sorted(runs, key=lambda r: run_field(r, "window_end"))
    predictions = [run_field(r, "predictions") or 0 for r in pts]
    labelled = [run_field(r, "labelled") or 0 for r in pts]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "label coverage",
                "x": [iso(run_field(r, "window_end")) for r in pts],
                "y": [lab / n if n else None for lab, n in zip(labelled, predictions, strict=True)],
                "text": [f"{lab:,} of {n:,}" for lab, n in zip(labelled, predictions, strict=True)],
                "hovertemplate": "%{x}<br>%{y:.1%}<br>%{text}<extra></extra>",
                "marker": {"color": OK_COLOR, "size": 7},
                "line": {"color": OK_COLOR, "width": 1.5},
            }
        ],
        "layout": layout(
            "label coverage",
            "share labelled",
            xaxis={"type": "date", "nticks": 5, "tickangle": 0, "automargin": True},
            yaxis={
                "title": {"text": "share labelled", "font": {"size": 10}},
                "range": [0, 1.05],
                "tickformat": ".0%",
                "automargin": True,
            },
        ),
    }


def calibration_figure(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Mean predicted probability vs observed rate per non-empty bin, and the diagonal."""
    cal = metrics.get("calibration")
    if not cal:
        return None
    bins = [b for b in cal.get("bins", []) if b.get("count")]
    if not bins:
        return None
    biggest = max(b["count"] for b in bins)
    if cal.get("method") == "top_label":
        what, x_title = "top-label confidence", "mean confidence"
    else:
        what = f"positive class {metrics.get('positive_class')}"
        x_title = "mean predicted probability"
    lay = layout(
        f"Calibration ({what}), ECE {num(cal.get('ece'))}",
        "observed rate",
        height=320,
        xaxis={"title": {"text": x_title, "font": {"size": 10}}, "range": [0, 1]},
    )
    lay["yaxis"]["range"] = [0, 1]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "perfectly calibrated",
                "x": [0, 1],
                "y": [0, 1],
                "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 1},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "observed",
                "x": [finite(b.get("mean_predicted")) for b in bins],
                "y": [finite(b.get("observed_rate")) for b in bins],
                "text": [
                    f"({b['lower']:.2g}, {b['upper']:.2g}]: {b['count']:,} rows" for b in bins
                ],
                "hovertemplate": "predicted %{x:.3f}<br>observed %{y:.3f}<br>%{text}"
                "<extra></extra>",
                "marker": {
                    "color": OK_COLOR,
                    "size": [6 + 10 * math.sqrt(b["count"] / biggest) for b in bins],
                },
                "line": {"color": OK_COLOR, "width": 1.5},
            },
        ],
        "layout": lay,
    }


def error_histogram_figure(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Regression: counts of prediction − label per equal-width bin."""
    hist = metrics.get("error_histogram") or {}
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if len(edges) != len(counts) + 1 or not counts:
        return None
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    lay = layout(
        f"Error distribution (prediction − label), bias {num(metrics.get('mean_error'))}",
        "rows",
        height=280,
        xaxis={"title": {"text": "prediction − label", "font": {"size": 10}}},
        shapes=[
            {
                "type": "line",
                "x0": 0,
                "x1": 0,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 1},
                "layer": "above",
            }
        ],
    )
    return {
        "data": [
            {
                "type": "bar",
                "name": "rows",
                "x": centers,
                "y": counts,
                "width": widths,
                "marker": {"color": OK_COLOR},
                "hovertemplate": "error %{x:.4g}<br>%{y:,} rows<extra></extra>",
            }
        ],
        "layout": lay,
    }


__all__ = [
    "STATUS_WORDS",
    "WORSE_COLOR",
    "calibration_figure",
    "coverage_figure",
    "error_histogram_figure",
    "figure_html",
    "iso",
    "layout",
    "metric_figure",
    "overall_metrics",
    "run_field",
    "run_status",
]
