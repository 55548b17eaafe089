"""The report's model-performance section: recent windows over time, the newest labelled
window in detail.

Pure: stored performance runs (`StoredRun`s or their dicts, newest revision of each window as
`latest_runs` returns them) and the reference's metrics in, one HTML fragment out. Shown:
metric time series with the reference as a dashed line and the label coverage per window;
for the newest window with metrics its coverage, label delay, confusion matrix and
calibration curve (classification) or error histogram (regression), and per model version
and per segment value a table sorted worst first (by the main metric) with the worst
highlighted. Class labels, segment values and version names come from events: every one
goes through `escape.text` (HTML and plotly titles) and figures through `script_json`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from monitor.reports.escape import script_json, text
from monitor.reports.summary import _num as num
from monitor.reports.timeseries import OK_COLOR, THRESHOLD_COLOR
from monitor.reports.timeseries import _finite as finite
from monitor.rules import lower_is_better

SERIES = {
    "classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "regression": ("mae", "rmse", "r2"),
}
DEFAULT_MAIN = {"classification": "f1", "regression": "mae"}
WORSE_COLOR = "#d62728"
STATUS_WORDS = {
    "ok": "ok",
    "insufficient_labels": "too few labels",
    "no_labels": "no labels",
}

STYLE = """<style>
#performance h3{font-size:15px;margin:18px 0 8px}
#performance table.summary{width:auto;min-width:50%}
#performance table.summary td.num{min-width:56px}
#performance table.cm th.corner{color:#666;font-weight:400;font-size:12px}
#performance .detail{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:8px 24px;align-items:start}
#performance .detail table.summary{min-width:0}
#performance tr.worst{background:#fff4f4}
#performance tr.worst td:first-child{box-shadow:inset 3px 0 #d62728}
#performance .muted{color:#777}
</style>"""


def _get(run: Any, name: str) -> Any:
    """A field of a `StoredRun` or of its dict."""
    return run.get(name) if isinstance(run, Mapping) else getattr(run, name)


def _overall(run: Any) -> dict[str, Any] | None:
    """The overall metrics dict of a run, or None when it has none."""
    doc = _get(run, "metrics") or {}
    return (doc.get("overall") or {}).get("metrics")


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def duration_text(seconds: float | None) -> str:
    """Label delays span seconds to weeks: one unit that reads at a glance."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = abs(seconds)
    sign = "−" if seconds < 0 else ""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{sign}{s / size:.3g} {unit}"
    return f"{sign}{s:.3g} s"


def _figure(fig_id: str, fig: dict[str, Any]) -> str:
    """A chart div and its JSON block (drawn by the report's boot script)."""
    return (
        f'<div class="chart" id="{fig_id}"></div>'
        f'<script type="application/json" data-figure="{fig_id}">{script_json(fig)}</script>'
    )


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": text(title), "font": {"size": 13}, "x": 0.02},
        "height": 240,
        "margin": {"l": 50, "r": 10, "t": 36, "b": 30},
        "showlegend": False,
        "yaxis": {"title": {"text": text(y_title), "font": {"size": 10}}, "automargin": True},
        **extra,
    }


# -- time series -----------------------------------------------------------------------------


def metric_figure(
    metric: str, runs: Sequence[Any], reference: float | None
) -> dict[str, Any] | None:
    """One metric per window (oldest first) and the reference as a dashed line; None when
    no window has a value."""
    pts = sorted(runs, key=lambda r: _get(r, "window_end"))
    y = [finite((_overall(r) or {}).get(metric)) for r in pts]
    if all(v is None for v in y):
        return None
    x = [_iso(_get(r, "window_end")) for r in pts]
    hover = [
        f"rev {_get(r, 'revision')} · {_get(r, 'labelled'):,} labelled"
        + ("" if v is not None else f" · {STATUS_WORDS.get(_status(r), _status(r))}")
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
        first = min(_get(r, "window_start") for r in pts)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "reference",
                "x": [_iso(first), x[-1]],
                "y": [ref, ref],
                "line": {"color": THRESHOLD_COLOR, "dash": "dash", "width": 1.5},
                "hovertemplate": "reference %{y:.4g}<extra></extra>",
            }
        )
    better = "lower is better" if lower_is_better(metric) else "higher is better"
    return {
        "data": data,
        "layout": _layout(
            metric,
            better,
            xaxis={"type": "date", "nticks": 5, "tickangle": 0, "automargin": True},
        ),
    }


def coverage_figure(runs: Sequence[Any]) -> dict[str, Any]:
    """Share of each window's predictions that have a label."""
    pts = sorted(runs, key=lambda r: _get(r, "window_end"))
    predictions = [_get(r, "predictions") or 0 for r in pts]
    labelled = [_get(r, "labelled") or 0 for r in pts]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "label coverage",
                "x": [_iso(_get(r, "window_end")) for r in pts],
                "y": [lab / n if n else None for lab, n in zip(labelled, predictions, strict=True)],
                "text": [f"{lab:,} of {n:,}" for lab, n in zip(labelled, predictions, strict=True)],
                "hovertemplate": "%{x}<br>%{y:.1%}<br>%{text}<extra></extra>",
                "marker": {"color": OK_COLOR, "size": 7},
                "line": {"color": OK_COLOR, "width": 1.5},
            }
        ],
        "layout": _layout(
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


# -- the newest labelled window --------------------------------------------------------------


def confusion_html(metrics: Mapping[str, Any]) -> str:
    """Rows = label, columns = prediction; cells shaded by their share of the row."""
    classes = metrics.get("classes") or []
    cm = metrics.get("confusion_matrix") or []
    if not classes or len(cm) != len(classes):
        return ""
    head = "".join(f"<th>{text(c)}</th>" for c in classes)
    rows = []
    for label, row in zip(classes, cm, strict=True):
        total = sum(row)
        cells = []
        for count in row:
            share = count / total if total else 0.0
            style = f"background:rgba(31,119,180,{0.08 + 0.6 * share:.3f})" if count else ""
            title = f"{share:.1%} of rows labelled {label}"
            cells.append(
                f'<td class="num" data-count="{int(count)}" style="{style}" '
                f'title="{text(title)}">{int(count):,}</td>'
            )
        rows.append(f"<tr><th>{text(label)}</th>{''.join(cells)}</tr>")
    return (
        f"<h3>Confusion matrix ({metrics.get('n', 0):,} rows)</h3>"
        '<table class="summary cm" id="confusion-matrix">'
        f'<thead><tr><th class="corner">label ↓ / prediction →</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def per_class_html(metrics: Mapping[str, Any]) -> str:
    per_class = metrics.get("per_class") or []
    if not per_class:
        return ""
    rows = "".join(
        f"<tr><td>{text(c.get('label'))}</td><td class='num'>{num(c.get('precision'))}</td>"
        f"<td class='num'>{num(c.get('recall'))}</td><td class='num'>{num(c.get('f1'))}</td>"
        f"<td class='num'>{c.get('support', 0):,}</td>"
        f"<td class='num'>{c.get('predicted', 0):,}</td></tr>"
        for c in per_class
    )
    return (
        '<h3>Per class</h3><table class="summary" id="per-class"><thead><tr><th>class</th><th>precision</th>'
        "<th>recall</th><th>F1</th><th>labelled</th><th>predicted</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def quantiles_html(metrics: Mapping[str, Any]) -> str:
    """Regression: bias and quantiles of the absolute error."""
    q = metrics.get("abs_error_quantiles") or {}
    rows = [("mean error (bias)", num(finite(metrics.get("mean_error"))))]
    rows += [(f"|error| {k}", num(finite(v))) for k, v in q.items()]
    rows.append(("MAPE", _share(finite(metrics.get("mape")))))
    body = "".join(f'<tr><td>{text(k)}</td><td class="num">{v}</td></tr>' for k, v in rows)
    return (
        f"<h3>Errors ({metrics.get('n', 0):,} rows)</h3>"
        f'<table class="summary" id="errors"><tbody>{body}</tbody></table>'
    )


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
    layout = _layout(
        f"Calibration ({what}), ECE {num(cal.get('ece'))}",
        "observed rate",
        height=320,
        xaxis={"title": {"text": x_title, "font": {"size": 10}}, "range": [0, 1]},
    )
    layout["yaxis"]["range"] = [0, 1]
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
        "layout": layout,
    }


def error_histogram_figure(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Regression: counts of prediction − label per equal-width bin."""
    hist = metrics.get("error_histogram") or {}
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    if len(edges) != len(counts) + 1 or not counts:
        return None
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    layout = _layout(
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
        "layout": layout,
    }


def _status(run_or_group: Any) -> str:
    return str(_get(run_or_group, "status") or "")


def _window_facts(run: Any, main: str, value: Any, reference: Mapping[str, Any]) -> str:
    doc = _get(run, "metrics") or {}
    delay = doc.get("label_delay") or {}
    coverage = (doc.get("coverage") or {}).get("share")
    ref = reference.get(main)
    items = [
        ("window", f"{_iso(_get(run, 'window_start'))} .. {_iso(_get(run, 'window_end'))}"),
        ("revision", f"{_get(run, 'revision')} (computed {_iso(_get(run, 'computed_at'))})"),
        (
            "label coverage",
            f"{_share(coverage)} ({_get(run, 'labelled'):,} of {_get(run, 'predictions'):,} "
            "predictions labelled)",
        ),
        (
            "label delay",
            f"p50 {duration_text(delay.get('p50_s'))}, p95 {duration_text(delay.get('p95_s'))}, "
            f"max {duration_text(delay.get('max_s'))}",
        ),
        (main, f"{num(finite(value))} (reference {num(finite(ref))})"),
    ]
    body = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in items)
    return f'<dl class="meta">{body}</dl>'


# -- per version / per segment ---------------------------------------------------------------


def _slice_value(group: Mapping[str, Any], metric: str) -> float | None:
    if group.get("status") != "ok":
        return None
    return finite((group.get("metrics") or {}).get(metric))


def worst_first(groups: Sequence[Mapping[str, Any]], metric: str) -> list[Mapping[str, Any]]:
    """Groups with a value of `metric`, worst first; then the rest (too few labels), the
    most labelled first: a small segment is reported as such, not ranked."""
    sign = -1.0 if lower_is_better(metric) else 1.0
    ranked = sorted(
        (g for g in groups if _slice_value(g, metric) is not None),
        key=lambda g: sign * _slice_value(g, metric),  # type: ignore[operator]
    )
    rest = sorted(
        (g for g in groups if _slice_value(g, metric) is None),
        key=lambda g: -(g.get("labelled") or 0),
    )
    return ranked + rest


def slices_html(
    groups: Sequence[Mapping[str, Any]],
    metric: str,
    overall: float | None,
    *,
    segment: bool,
    table_id: str,
) -> str:
    """One row per group, worst first; the worst highlighted when two or more are ranked."""
    rows = worst_first(groups, metric)
    ranked = sum(_slice_value(g, metric) is not None for g in rows)
    out = []
    for i, g in enumerate(rows):
        value = _slice_value(g, metric)
        delta = "" if value is None or overall is None else f"{value - overall:+.4g}"
        status = str(g.get("status"))
        word = STATUS_WORDS.get(status, status)
        reason = g.get("reason")
        status_html = f'<span class="{"ok" if status == "ok" else "muted"}">{text(word)}</span>'
        if reason:
            status_html += f' <span class="muted">({text(reason)})</span>'
        if segment:
            name = f"<td>{text(g.get('key'))}</td><td>{text(g.get('value'))}</td>"
        else:
            version = g.get("model_version")
            name = "<td>(none)</td>" if version is None else f"<td>{text(version)}</td>"
        cls = ' class="worst"' if i == 0 and ranked >= 2 else ""
        out.append(
            f"<tr{cls}>{name}"
            f'<td class="num">{g.get("predictions") or 0:,}</td>'
            f'<td class="num">{g.get("labelled") or 0:,}</td>'
            f'<td class="num">{_share(finite(g.get("coverage")))}</td>'
            f'<td class="num">{num(value)}</td><td class="num">{delta}</td>'
            f"<td>{status_html}</td></tr>"
        )
    names = "<th>segment</th><th>value</th>" if segment else "<th>model version</th>"
    head = (
        f"<tr>{names}<th>predictions</th><th>labelled</th><th>coverage</th>"
        f"<th>{text(metric)}</th><th>vs overall</th><th>status</th></tr>"
    )
    return (
        f'<table class="summary" id="{table_id}"><thead>{head}</thead>'
        f"<tbody>{''.join(out)}</tbody></table>"
    )


# -- the section -----------------------------------------------------------------------------


def performance_section(
    runs: Sequence[Any],
    reference: Mapping[str, Any] | None = None,
    *,
    main_metric: str | None = None,
) -> str:
    """The section's HTML ("" without runs). `runs`: the newest revision of each recent
    window, any order; `reference`: metric -> value on the reference (dashed lines);
    `main_metric` ranks the per-version and per-segment rows (default F1 / MAE, or when the
    newest labelled window lacks it)."""
    if not runs:
        return ""
    reference = reference or {}
    newest_first = sorted(runs, key=lambda r: _get(r, "window_end"), reverse=True)
    task = next(
        (t for r in newest_first if (t := (_get(r, "metrics") or {}).get("task"))),
        "classification",
    )
    parts = ['<section id="performance"><h2>Model performance</h2>', STYLE]
    figures = [
        fig
        for m in SERIES.get(task, ())
        if (fig := metric_figure(m, newest_first, reference.get(m))) is not None
    ]
    figures.append(coverage_figure(newest_first))
    note = f"{len(newest_first)} recent window(s), newest revision of each; " + (
        "dashed line: the reference's value; red points are worse than the reference."
        if reference
        else "no reference metrics (the reference carries no labels)."
    )
    parts.append(f'<p class="note">{text(note)}</p>')
    parts.append(
        '<div class="charts">'
        + "".join(_figure(f"perf-{i}", fig) for i, fig in enumerate(figures))
        + "</div>"
    )

    detail = next((r for r in newest_first if _overall(r) is not None), None)
    newest = newest_first[0]
    if detail is not newest:
        doc = _get(newest, "metrics") or {}
        why = (doc.get("overall") or {}).get("reason") or _status(newest)
        parts.append(
            f'<p class="note">Newest window {text(_iso(_get(newest, "window_start")))} .. '
            f"{text(_iso(_get(newest, 'window_end')))}: no metrics yet ({text(why)}).</p>"
        )
    if detail is None:
        parts.append('<p class="note">No window has enough labelled rows for metrics yet.</p>')
        parts.append("</section>")
        return "".join(parts)

    overall = _overall(detail) or {}
    main = main_metric if finite(overall.get(main_metric or "")) is not None else None
    main = main or DEFAULT_MAIN.get(task, "f1")
    parts.append("<h3>Newest labelled window</h3>")
    parts.append(_window_facts(detail, main, overall.get(main), reference))

    if task == "classification":
        tables = confusion_html(overall) + per_class_html(overall)
        fig = calibration_figure(overall)
    else:
        tables = quantiles_html(overall)
        fig = error_histogram_figure(overall)
    chart = _figure("perf-detail", fig) if fig is not None else ""
    parts.append(f'<div class="detail"><div>{tables}</div><div>{chart}</div></div>')

    doc = _get(detail, "metrics") or {}
    main_value = finite(overall.get(main))
    versions = doc.get("versions") or []
    if versions:
        parts.append("<h3>By model version (worst first)</h3>")
        parts.append(slices_html(versions, main, main_value, segment=False, table_id="versions"))
    segments = _get(detail, "segments") or []
    if segments:
        parts.append("<h3>By segment (worst first)</h3>")
        parts.append(slices_html(segments, main, main_value, segment=True, table_id="segments"))
        omitted = doc.get("segments_omitted") or 0
        if omitted:
            parts.append(
                f'<p class="note">{omitted:,} less frequent segment value(s) not evaluated.</p>'
            )
    parts.append("</section>")
    return "".join(parts)


__all__ = [
    "calibration_figure",
    "confusion_html",
    "coverage_figure",
    "duration_text",
    "error_histogram_figure",
    "metric_figure",
    "performance_section",
    "quantiles_html",
    "slices_html",
    "worst_first",
]
