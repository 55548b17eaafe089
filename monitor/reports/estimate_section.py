"""The report's estimated-performance section: each window's estimate with its band and,
once the labels arrived, the realised value beside it, the gap and whether the band held it.

Pure: stored window estimates (`WindowEstimateRow`s or their dicts: `window_start`,
`window_end`, `estimate`) in, one HTML fragment out. Per metric (at most `MAX_CHARTS`) a
chart: the band shaded, the estimate as a line, the realised values as points (red where the
band missed them); then a table of the recent windows for the main metric. Method names,
metric names and notes are stored strings: every one goes through `escape.text` (HTML and
plotly titles), figures through `script_json` (`figure_html`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.performance.estimation.gap import metric_gap
from monitor.performance.estimation.result import DEFAULT_Z, LEVEL
from monitor.reports.escape import text
from monitor.reports.performance_figures import WORSE_COLOR, figure_html, iso, layout, run_field
from monitor.reports.summary import num
from monitor.reports.timeseries import OK_COLOR, finite

PREFERRED = ("accuracy", "f1", "f1_macro", "roc_auc", "mae", "rmse")
MAX_CHARTS = 4
MAX_TABLE_ROWS = 20
COVERED_COLOR = "#2ca02c"
BAND_FILL = "rgba(31,119,180,0.18)"

STYLE = """<style>
#estimates td.miss{color:#d62728;font-weight:600}
#estimates td.hit{color:#2ca02c}
#estimates .muted{color:#777}
</style>"""


def _doc(row: Any) -> Mapping[str, Any]:
    doc = run_field(row, "estimate")
    return doc if isinstance(doc, Mapping) else {}


def _entry(row: Any, metric: str) -> Mapping[str, Any]:
    entry = (_doc(row).get("metrics") or {}).get(metric)
    return entry if isinstance(entry, Mapping) else {}


def metric_names(rows: Sequence[Any], main: str | None = None) -> list[str]:
    """Metrics with a defined estimate in some window: `main` first, then the preferred ones,
    then the others in stored order."""
    stored = [str(k) for r in rows for k in (_doc(r).get("metrics") or {})]
    names = [n for n in ([main] if main else []) + list(PREFERRED) + stored if n]
    names = list(dict.fromkeys(names))
    return [n for n in names if any(finite(_entry(r, n).get("value")) is not None for r in rows)]


def estimate_figure(metric: str, rows: Sequence[Any]) -> dict[str, Any]:
    """One metric over the windows (`rows` oldest first): band, estimate, realised points."""
    x = [iso(run_field(r, "window_end")) for r in rows]
    value = [finite(_entry(r, metric).get("value")) for r in rows]
    lower = [finite(_entry(r, metric).get("lower")) for r in rows]
    upper = [finite(_entry(r, metric).get("upper")) for r in rows]
    gaps = [metric_gap(_doc(r), metric) for r in rows]
    real = [(xi, g) for xi, g in zip(x, gaps, strict=True) if g is not None]
    edge = {"type": "scatter", "mode": "lines", "line": {"width": 0, "color": OK_COLOR}}
    data: list[dict[str, Any]] = [
        {**edge, "name": "band upper", "x": x, "y": upper, "hoverinfo": "skip"},
        {**edge, "name": "band", "x": x, "y": lower, "fill": "tonexty", "fillcolor": BAND_FILL,
         "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines+markers", "name": "estimate", "x": x, "y": value,
         "line": {"color": OK_COLOR, "width": 1.5}, "marker": {"size": 5},
         "hovertemplate": "%{x}<br>estimated %{y:.4g}<extra></extra>", "connectgaps": False},
        {"type": "scatter", "mode": "markers", "name": "realised",
         "x": [xi for xi, _ in real], "y": [g.realised for _, g in real],
         "text": [text(f"gap {g.gap:+.4g}; " + ("inside" if g.covered else "outside") + " the band")
                  for _, g in real],
         "marker": {"symbol": "diamond", "size": 9,
                    "color": [COVERED_COLOR if g.covered else WORSE_COLOR for _, g in real]},
         "hovertemplate": "%{x}<br>realised %{y:.4g}<br>%{text}<extra></extra>"},
    ]  # fmt: skip
    return {
        "data": data,
        "layout": layout(
            f"{metric}: estimate, band and realised",
            metric,
            xaxis={"type": "date"},
        ),
    }


def _when(value: Any) -> str:
    """A window start for the table: minutes, UTC (a string as stored)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _covered_cell(covered: bool | None) -> str:
    if covered is None:
        return '<td class="muted">–</td>'
    return '<td class="hit">inside</td>' if covered else '<td class="miss">outside</td>'


def windows_table(metric: str, newest_first: Sequence[Any]) -> str:
    """The recent windows of one metric: estimate, band, realised, gap, band held?"""
    body = []
    for r in newest_first[:MAX_TABLE_ROWS]:
        doc, e = _doc(r), _entry(r, metric)
        g = metric_gap(doc, metric)
        lo, hi = finite(e.get("lower")), finite(e.get("upper"))
        band = f"[{num(lo)}, {num(hi)}]" if lo is not None and hi is not None else "–"
        labelled = doc.get("labelled")
        lab = f"{int(labelled):,}" if isinstance(labelled, int) else "–"
        reason = e.get("reason") if finite(e.get("value")) is None else None
        estimate = num(finite(e.get("value"))) if reason is None else f"undefined ({text(reason)})"
        body.append(
            f"<tr><td>{text(_when(run_field(r, 'window_start')))}</td>"
            f"<td class='num'>{int(doc.get('rows') or 0):,}</td><td class='num'>{lab}</td>"
            f"<td class='num'>{estimate}</td><td class='num'>{text(band)}</td>"
            f"<td class='num'>{num(g.realised) if g else '–'}</td>"
            f"<td class='num'>{f'{g.gap:+.4f}' if g else '–'}</td>"
            f"{_covered_cell(g.covered if g else None)}</tr>"
        )
    return (
        f"<h3>{text(metric)} per window (newest first)</h3>"
        '<table class="summary" id="estimate-windows"><thead><tr><th>window start</th>'
        "<th>rows</th><th>labelled</th><th>estimate</th><th>band</th><th>realised</th>"
        "<th>gap (realised − estimate)</th><th>band held it?</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def estimate_section(rows: Sequence[Any], *, main_metric: str | None = None) -> str:
    """The section's HTML ("" without stored estimates). `rows`: stored window estimates of
    recent windows, any order; `main_metric` (an estimated_performance or estimation_gap
    rule's metric) is charted first and gets the table."""
    if not rows:
        return ""
    oldest_first = sorted(
        rows, key=lambda r: (run_field(r, "window_end"), run_field(r, "window_start"))
    )
    names = metric_names(oldest_first, main_metric)
    methods = sorted({str(_doc(r).get("method", "")) for r in rows})
    parts = ['<section id="estimates"><h2>Estimated performance</h2>', STYLE]
    gaps = [g for r in oldest_first if names and (g := metric_gap(_doc(r), names[0]))]
    outside = sum(1 for g in gaps if g.covered is False)
    note = (
        f"{len(rows)} recent window(s) estimated by {', '.join(methods)} before their labels "
        f"arrived; shaded: the band ({LEVEL:.0%} nominal: estimate ± {DEFAULT_Z:.2f} standard "
        "errors); diamonds: the realised "
        "value once labelled (red: outside the band)."
    )
    if gaps:
        mean = sum(abs(g.gap) for g in gaps) / len(gaps)
        note += (
            f" {names[0]}: {len(gaps)} labelled window(s), realised outside the band in "
            f"{outside}, mean |gap| {mean:.4f}."
        )
    parts.append(f'<p class="note">{text(note)}</p>')
    if not names:
        parts.append('<p class="note">No window has a defined estimate yet.</p></section>')
        return "".join(parts)
    figs = [estimate_figure(n, oldest_first) for n in names[:MAX_CHARTS]]
    parts.append(
        '<div class="charts">'
        + "".join(figure_html(f"est-{i}", f) for i, f in enumerate(figs))
        + "</div>"
    )
    parts.append(windows_table(names[0], oldest_first[::-1]))
    notes = list(dict.fromkeys(str(n) for n in _doc(oldest_first[-1]).get("notes") or []))
    if notes:
        parts.append("".join(f'<p class="note">{text(n)}</p>' for n in notes[:5]))
    parts.append("</section>")
    return "".join(parts)


__all__ = ["estimate_figure", "estimate_section", "metric_names", "windows_table"]
