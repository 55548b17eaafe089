"""Assemble one self-contained HTML report (works offline, safe with untrusted names).

Layout: header (title, meta, row counts, generation time), our engine's summary table,
per-feature statistic time series (plotly.js inlined once), Evidently's data-drift report
in a sandboxed iframe (`srcdoc`, attribute-escaped; no allow-same-origin, so nothing in
it can touch this page). Every untrusted string goes through `escape.text` or
`escape.script_json`; a Content-Security-Policy forbids any network access, so a report
that renders has, by construction, no external dependency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache

import pandas as pd

from monitor.display import feature_label
from monitor.drift.result import DriftReport
from monitor.reports.escape import script_json, text
from monitor.reports.evidently_section import EvidentlyResult, evidently_report
from monitor.reports.sample import sample_pair, sampling_note
from monitor.reports.summary import summary_html
from monitor.reports.timeseries import HistoryPoint, history_figures

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-src 'self' about:"
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#fff;border-bottom:1px solid #ddd;padding:16px 24px}
h1{font-size:22px;margin:0 0 8px}
h2{font-size:18px;margin:0 0 10px}
section{background:#fff;margin:16px 24px;padding:16px 20px;border:1px solid #e3e3e3;border-radius:6px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;font-size:14px}
dl.meta dt{color:#666}dl.meta dd{margin:0;word-break:break-all}
table.summary{border-collapse:collapse;font-size:13px;width:100%}
table.summary th,table.summary td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
table.summary td{word-break:break-word}
table.summary td.nw{white-space:nowrap}
table.summary td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.drifted{background:#fff4f4}
.drift{color:#c62828;font-weight:600}.ok{color:#2e7d32}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:8px}
.chart{min-height:240px}
p.note{color:#555;font-size:14px}
p.error{color:#b71c1c;font-size:14px}
iframe.evidently{width:100%;height:1400px;border:1px solid #ddd;resize:vertical}
"""

# Draws every figure from its JSON block; sizes the Evidently iframe from its own report.
BOOT = """
(function(){
  if (window.Plotly) {
    document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function(node){
      var fig = JSON.parse(node.textContent);
      var div = document.getElementById(node.getAttribute('data-figure'));
      Plotly.newPlot(div, fig.data, fig.layout, {displayModeBar:false, responsive:true});
    });
  }
  var frame = document.getElementById('evidently-frame'), updates = 0;
  if (frame) {
    window.addEventListener('message', function(ev){
      if (ev.source !== frame.contentWindow || !ev.data || updates > 200) return;
      var h = Number(ev.data.evidentlyHeight);
      if (!isFinite(h) || h <= 0) return;
      h = Math.min(Math.max(Math.ceil(h) + 32, 800), 30000);
      if (Math.abs(h - frame.getBoundingClientRect().height) > 4) {
        frame.style.height = h + 'px'; updates++;
      }
    });
  }
})();
"""

# Posted from inside the sandboxed Evidently page: its height (the only thing it can tell us).
HEIGHT_REPORTER = """<script>
(function(){
  function post(){
    var b = document.body, s = getComputedStyle(b);
    var h = b.getBoundingClientRect().height + parseFloat(s.marginTop) + parseFloat(s.marginBottom);
    parent.postMessage({evidentlyHeight: h}, '*');
  }
  new ResizeObserver(post).observe(document.body); window.addEventListener('load', post);
})();
</script>"""


@cache
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    if "</script" in js.lower():  # never seen; would end our <script> element early
        js = js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    return js


def _columns(reference: pd.DataFrame, current: pd.DataFrame, drift: DriftReport | None) -> list:
    """Column labels shown by Evidently: the engine's features, else those in both frames."""
    in_current = set(current.columns)
    common = [c for c in reference.columns if c in in_current]
    if drift is None:
        return common
    wanted = {f.name for f in drift.features}
    return [c for c in common if str(c) in wanted]


def _meta_html(meta: Mapping[str, str], reference_rows: int, current_rows: int, now: str) -> str:
    items = [(str(k), str(v)) for k, v in meta.items()]
    given = {k.lower() for k, _ in items}
    for key, value in (
        ("reference rows", f"{reference_rows:,}"),
        ("current rows", f"{current_rows:,}"),
        ("generated", now),
    ):
        if key not in given:
            items.append((key, value))
    body = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in items)
    return f'<dl class="meta">{body}</dl>'


def _history_html(history: Mapping[str, Sequence[HistoryPoint]]) -> tuple[str, str]:
    """(section HTML, figure JSON blocks); both empty when there is no point to draw."""
    figures = history_figures(history)
    if not figures:
        return "", ""
    divs, blocks = [], []
    for i, (name, fig) in enumerate(figures):
        divs.append(f'<div class="chart" id="ts-{i}" title="{text(feature_label(name))}"></div>')
        blocks.append(
            f'<script type="application/json" data-figure="ts-{i}">{script_json(fig)}</script>'
        )
    section = (
        '<section id="history"><h2>Drift statistic over recent runs</h2>'
        '<p class="note">One point per run (red: drifted); dashed line: threshold.</p>'
        f'<div class="charts">{"".join(divs)}</div></section>'
    )
    return section, "\n".join(blocks)


def _evidently_html(result: EvidentlyResult, note: str | None) -> str:
    note_html = f'<p class="note sampling">{text(note)}</p>' if note else ""
    if result.html is None:
        detail = f": {text(result.error)}" if result.error else ""
        return (
            '<section id="evidently"><h2>Evidently data drift</h2>'
            f'<p class="error">Evidently\'s section could not be computed '
            f"({text(result.error_type)}{detail}). The summary above is unaffected.</p>"
            "</section>"
        )
    page = result.html
    cut = page.rfind("</body>")
    if cut >= 0:
        page = page[:cut] + HEIGHT_REPORTER + page[cut:]
    return (
        '<section id="evidently"><h2>Evidently data drift</h2>'
        '<p class="note">A second opinion: Evidently applies its own default tests and '
        "thresholds per column, so its verdicts may differ from the summary above.</p>"
        f"{note_html}"
        '<iframe id="evidently-frame" class="evidently" sandbox="allow-scripts" '
        f'title="Evidently data drift report" srcdoc="{text(page)}"></iframe></section>'
    )


def _evidently_run(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    drift: DriftReport | None,
    column_kinds: Mapping[str, str] | None,
    max_rows: int,
    seed: int,
) -> tuple[EvidentlyResult, str | None]:
    """Evidently's result on the sampled common columns and the sampling note: apart from
    the page, as it is the one costly step and the only one that samples."""
    labels = _columns(reference, current, drift)
    names = [str(c) for c in labels]
    ref_side, cur_side = sample_pair(reference, current, max_rows, seed)  # rows first: no
    if names:  # full-size copy of a 1M-row frame just to pick columns
        share = drift.drift_share_threshold if drift is not None else None
        evidently = evidently_report(
            ref_side.frame.loc[:, labels].set_axis(names, axis=1),
            cur_side.frame.loc[:, labels].set_axis(names, axis=1),
            names,
            column_kinds,
            share,
        )
    else:
        evidently = EvidentlyResult(None, "NoCommonColumns", "no column is in both inputs")
    note = sampling_note(ref_side, cur_side)
    if note:
        note = f"{note[:-1]} (seed {seed}, without replacement)."
        if drift is not None:
            note += " The summary above was computed by our engine on the full data."
    return evidently, note


def render_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    title: str,
    meta: Mapping[str, str],
    drift: DriftReport | None = None,
    history: Mapping[str, Sequence[HistoryPoint]] | None = None,
    max_rows: int = 20_000,
    seed: int = 0,
    column_kinds: Mapping[str, str] | None = None,
    performance_html: str | None = None,
) -> str:
    """One self-contained HTML document comparing `current` with `reference`.

    `drift` (our engine's report on the full data) fills the summary table; `history`
    ({feature: points}) the time series; Evidently runs on at most `max_rows` rows per side
    (seeded sample without replacement, stated in the report). `column_kinds`
    ({column: "numeric"|"categorical"}, default: the kinds in `drift`) tells Evidently how to
    treat each column. `performance_html` (`performance_section.performance_section`) is
    placed after the summary.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if column_kinds is None and drift is not None:
        column_kinds = {f.name: f.kind for f in drift.features}
    evidently, note = _evidently_run(reference, current, drift, column_kinds, max_rows, seed)
    summary = ""
    if drift is not None:
        summary = f'<section id="summary"><h2>Drift summary</h2>{summary_html(drift)}</section>'
    history_section, figure_blocks = _history_html(history or {})
    charts = bool(figure_blocks) or 'data-figure="' in (performance_html or "")
    plotly = f"<script>{plotly_js()}</script>" if charts else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{text(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{text(title)}</h1>{_meta_html(meta, len(reference), len(current), now)}</header>
{summary}
{performance_html or ""}
{history_section}
{_evidently_html(evidently, note)}
{plotly}
{figure_blocks}
<script>{BOOT}</script>
</body>
</html>
"""
