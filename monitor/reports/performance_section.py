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
from typing import Any

from monitor.reports.escape import text
from monitor.reports.performance_figures import (
    STATUS_WORDS,
    calibration_figure,
    coverage_figure,
    error_histogram_figure,
    figure_html,
    iso,
    metric_figure,
    overall_metrics,
    run_field,
    run_status,
)
from monitor.reports.summary import num
from monitor.reports.timeseries import finite
from monitor.rules import lower_is_better

SERIES = {
    "classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "regression": ("mae", "rmse", "r2"),
}
DEFAULT_MAIN = {"classification": "f1", "regression": "mae"}

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


def _window_facts(run: Any, main: str, value: Any, reference: Mapping[str, Any]) -> str:
    doc = run_field(run, "metrics") or {}
    delay = doc.get("label_delay") or {}
    coverage = (doc.get("coverage") or {}).get("share")
    ref = reference.get(main)
    items = [
        ("window", f"{iso(run_field(run, 'window_start'))} .. {iso(run_field(run, 'window_end'))}"),
        (
            "revision",
            f"{run_field(run, 'revision')} (computed {iso(run_field(run, 'computed_at'))})",
        ),
        (
            "label coverage",
            f"{_share(coverage)} ({run_field(run, 'labelled'):,} of {run_field(run, 'predictions'):,} "
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
    newest_first = sorted(runs, key=lambda r: run_field(r, "window_end"), reverse=True)
    task = next(
        (t for r in newest_first if (t := (run_field(r, "metrics") or {}).get("task"))),
        "classification",
    )
    parts = ['<section id="performance"><h2>Model performance</h2>', STYLE]
    parts.append(_series_html(newest_first, task, reference))
    detail = next((r for r in newest_first if overall_metrics(r) is not None), None)
    newest = newest_first[0]
    if detail is not newest:
        doc = run_field(newest, "metrics") or {}
        why = (doc.get("overall") or {}).get("reason") or run_status(newest)
        parts.append(
            f'<p class="note">Newest window {text(iso(run_field(newest, "window_start")))} .. '
            f"{text(iso(run_field(newest, 'window_end')))}: no metrics yet ({text(why)}).</p>"
        )
    if detail is None:
        parts.append('<p class="note">No window has enough labelled rows for metrics yet.</p>')
    else:
        parts.append(_detail_html(detail, task, reference, main_metric))
    parts.append("</section>")
    return "".join(parts)


def _series_html(newest_first: Sequence[Any], task: str, reference: Mapping[str, Any]) -> str:
    """The note and the time-series charts (the task's metrics, then label coverage)."""
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
    return (
        f'<p class="note">{text(note)}</p>'
        '<div class="charts">'
        + "".join(figure_html(f"perf-{i}", fig) for i, fig in enumerate(figures))
        + "</div>"
    )


def _detail_html(
    detail: Any, task: str, reference: Mapping[str, Any], main_metric: str | None
) -> str:
    """The newest labelled window: facts, tables and chart, per version, per segment."""
    overall = overall_metrics(detail) or {}
    main = main_metric if finite(overall.get(main_metric or "")) is not None else None
    main = main or DEFAULT_MAIN.get(task, "f1")
    parts = ["<h3>Newest labelled window</h3>"]
    parts.append(_window_facts(detail, main, overall.get(main), reference))
    if task == "classification":
        tables = confusion_html(overall) + per_class_html(overall)
        fig = calibration_figure(overall)
    else:
        tables = quantiles_html(overall)
        fig = error_histogram_figure(overall)
    chart = figure_html("perf-detail", fig) if fig is not None else ""
    parts.append(f'<div class="detail"><div>{tables}</div><div>{chart}</div></div>')
    doc = run_field(detail, "metrics") or {}
    main_value = finite(overall.get(main))
    versions = doc.get("versions") or []
    if versions:
        parts.append("<h3>By model version (worst first)</h3>")
        parts.append(slices_html(versions, main, main_value, segment=False, table_id="versions"))
    segments = run_field(detail, "segments") or []
    if segments:
        parts.append("<h3>By segment (worst first)</h3>")
        parts.append(slices_html(segments, main, main_value, segment=True, table_id="segments"))
        omitted = doc.get("segments_omitted") or 0
        if omitted:
            parts.append(
                f'<p class="note">{omitted:,} less frequent segment value(s) not evaluated.</p>'
            )
    return "".join(parts)


__all__ = [
    "DEFAULT_MAIN",
    "SERIES",
    "confusion_html",
    "duration_text",
    "per_class_html",
    "performance_section",
    "quantiles_html",
    "slices_html",
    "worst_first",
]
