"""Our engine's verdict as an HTML table: the numbers the alert was decided on."""

from __future__ import annotations

import math

from monitor.drift.result import DriftReport, FeatureResult
from monitor.reports.escape import text

MAX_CATEGORIES_SHOWN = 5


def num(value: float | None) -> str:
    """A number for a table cell: 4 significant digits, "–" for missing, ∞ for infinite."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.4g}"


def _share(value: float) -> str:
    return f"{value:.1%}"


def _new_categories(f: FeatureResult) -> str:
    if f.kind != "categorical":
        return ""
    listed = f.stats.get("new_categories") or {}
    count = int(f.stats.get("new_category_count", len(listed)))
    if not count:
        return "0"
    shown = list(listed.items())[:MAX_CATEGORIES_SHOWN]
    items = ", ".join(f"<code>{text(name)}</code> ({_share(share)})" for name, share in shown)
    more = f", … {count - len(shown)} more" if count > len(shown) else ""
    cap = f.stats.get("new_categories_listed_max")
    if cap and count > len(listed):
        more += f" (names kept for the {cap} largest)"
    return f"{count}: {items}{more}"


def _approximate(f: FeatureResult) -> str | None:
    """Why the verdict's number is approximate (sketch with pooled categories), if it is."""
    reason = f.quality.get("approximate_reason")
    if not reason or f.method not in f.quality.get("approximate_from_sketch", ()):
        return None
    what = "p-value" if f.p_value is not None else "statistic"
    return f"approximate {what}: {reason}"


def _row(f: FeatureResult) -> str:
    note = f.quality.get("error") or _approximate(f)
    verdict = '<td class="drift">drift</td>' if f.drifted else '<td class="ok">ok</td>'
    cells = [
        f"<td>{text(f.name)}</td>",
        f'<td class="nw">{text(f.kind)}</td>',
        f'<td class="nw">{text(f.method)}</td>',
        f'<td class="num">{num(f.statistic)}</td>',
        f'<td class="num">{num(f.threshold)}</td>',
        f'<td class="num">{num(f.p_value)}</td>',
        verdict,
        f'<td class="num">{_share(f.missing_share_reference)}</td>',
        f'<td class="num">{_share(f.missing_share_current)}</td>',
        f"<td>{_new_categories(f)}</td>",
        f"<td>{text(note) if note else ''}</td>",
    ]
    cls = ' class="drifted"' if f.drifted else ""
    return f"<tr{cls}>{''.join(cells)}</tr>"


def summary_html(report: DriftReport) -> str:
    """The dataset verdict line and one table row per feature."""
    drifted = sum(f.drifted for f in report.features)
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    cls = "drift" if report.dataset_drift else "ok"
    head = (
        "<tr><th>feature</th><th>kind</th><th>method</th><th>statistic</th><th>threshold</th>"
        "<th>p-value</th><th>drift</th><th>missing ref</th><th>missing cur</th>"
        "<th>new categories</th><th>note</th></tr>"
    )
    rows = "\n".join(_row(f) for f in report.features)
    return (
        f'<p class="verdict">Dataset: <span class="{cls}">{verdict}</span> — '
        f"{drifted} of {len(report.features)} features drifted (share "
        f"{report.drift_share:.2f}, threshold {report.drift_share_threshold:.2f}); rows: "
        f"reference {report.reference_rows:,}, current {report.current_rows:,}.</p>\n"
        f'<table class="summary">\n<thead>{head}</thead>\n<tbody>\n{rows}\n</tbody>\n</table>'
    )
