"""A run's dashboard page: its verdict, every per-feature result, the reference and current
distributions from the stored sketches, data quality and the window's performance.

Every untrusted value passes through `html.e` or a figure's JSON (as in pages.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.performance.classification import SCALARS as CLASSIFICATION_SCALARS
from monitor.performance.regression import SCALARS as REGRESSION_SCALARS
from monitor.web import charts
from monitor.web.data import Distributions
from monitor.web.distributions import distribution_figure
from monitor.web.html import badge, e, figure, fmt, fmt_share, fmt_ts, page, share, table, td
from monitor.web.pages import meta_list, monitor_link, run_status, window_text

SCALAR_METRICS = frozenset(CLASSIFICATION_SCALARS) | frozenset(REGRESSION_SCALARS)


def _features_table(features: Sequence[dict[str, Any]], quality: dict[str, Any]) -> str:
    rows = []
    for x in features:
        drifted = bool(x["drifted"])
        q = quality.get(x["feature"]) or {}
        rows.append(
            f'<tr class="{"drifted" if drifted else ""}" data-feature="{e(x["feature"])}">'
            + td(charts.label(x["feature"]), "feat")
            + td(x["kind"], "word")
            + td(x["method"], "word")
            + td(fmt(x["statistic"]), "num", sort=x["statistic"])
            + td(fmt(x["threshold"]), "num", sort=x["threshold"])
            + td(fmt(x["p_value"]), "num", sort=x["p_value"])
            + td(charts.score_text(charts.score(x)), "num", sort=charts.score(x))
            + td(
                badge("drift", "drift") if drifted else badge("ok", "ok"),
                raw=True,
                sort=int(drifted),
            )
            + td(share(q.get("missing_share_current")), "num", sort=q.get("missing_share_current"))
            + "</tr>"
        )
    return table(
        [
            ("Feature", "text"),
            ("Kind", "text"),
            ("Method", "text"),
            ("Statistic", "num"),
            ("Threshold", "num"),
            ("p-value", "num"),
            ("Score", "num"),
            ("Drifted", "num"),
            ("Missing", "num"),
        ],
        rows,
        sortable=True,
        empty="This run has no per-feature results.",
    )


def _quality_table(quality: dict[str, Any]) -> str:
    rows = []
    for name, q in quality.items():
        vanished = q.get("vanished_categories")
        if isinstance(vanished, dict):
            vanished = ", ".join(f"{k} ({fmt(v)})" for k, v in vanished.items())
        elif isinstance(vanished, list):
            vanished = ", ".join(str(v) for v in vanished)
        rows.append(
            "<tr>"
            + td(charts.label(name))
            + td(share(q.get("missing_share_reference")), "num")
            + td(share(q.get("missing_share_current")), "num")
            + td(share(q.get("out_of_range_share")), "num")
            + td(share(q.get("new_category_share")), "num")
            + td(vanished or "")
            + td(q.get("error") or "")
            + "</tr>"
        )
    return table(
        [
            "Feature",
            "Missing (reference)",
            "Missing (current)",
            "Outside reference range",
            "New categories",
            "Vanished categories",
            "Error",
        ],
        rows,
        empty="No data-quality figures were stored for this run.",
    )


def _distributions_html(run: dict[str, Any], dist: Distributions | None) -> str:
    if run.get("reference_id") is None:  # skipped, or failed before loading its reference
        return f'<p class="muted">This run compared nothing: it was {e(run["status"])}.</p>'
    if dist is None:
        return '<p class="muted">The reference of this run is no longer stored.</p>'
    order = [x["feature"] for x in run["features"]] or list(dist.specs)
    figs = []
    for i, name in enumerate(order):
        spec = dist.specs.get(name)
        ref = dist.reference.get(name)
        if spec is None or ref is None:
            continue
        fig = distribution_figure(name, spec, ref, dist.current.get(name))
        if fig is not None:
            full = charts.label(name)
            hover = full if charts.short(full) != full else None
            figs.append(figure(f"dist-{i}", fig, "dist", title=hover))
    if not figs:
        return '<p class="muted">No sketch is stored for this run\'s features.</p>'
    missing = "" if dist.current else " (no window sketch is stored: reference only)"
    return (
        f'<p class="muted small">Share of rows per bin, from the stored sketches{e(missing)}; '
        "numeric bins are regrouped from the reference's fine grid (approximate).</p>"
        f'<div class="charts">{"".join(figs)}</div>'
    )


def _performance_table(perf: dict[str, Any] | None, reference: dict[str, float] | None) -> str:
    if not perf:
        return '<p class="muted">No performance run for this window.</p>'
    doc = perf.get("metrics") or {}
    overall = doc.get("overall") or {}
    metrics = overall.get("metrics") or {}
    rows = [
        "<tr>"
        + td(k)
        + td(fmt(v, 4), "num")
        + td(fmt((reference or {}).get(k), 4), "num")
        + "</tr>"
        for k, v in metrics.items()
        if k in SCALAR_METRICS or k.startswith("abs_error_")
    ]
    note = (
        f"{fmt(perf['labelled'])} of {fmt(perf['predictions'])} predictions labelled, "
        f"status {perf['status']}, revision {perf['revision']}"
    )
    return f'<p class="muted small">{e(note)}</p>' + table(
        ["Metric", "This window", "Reference"], rows, empty="No metric (too few labels)."
    )


def run_page(
    run: dict[str, Any],
    *,
    dist: Distributions | None,
    has_report: bool,
    threshold: float | None,
    csrf: str | None,
) -> str:
    label, kind = run_status(run)
    quality = run.get("data_quality") or {}
    report = (
        f'<a href="/runs/{int(run["id"])}/report">open the stored report</a>'
        if has_report
        else "none"
    )
    meta = meta_list(
        [
            ("monitor", monitor_link(run["monitor"])),
            ("status", badge(label, kind)),
            ("window (UTC)", window_text(run)),
            ("rows", f"{fmt(run['current_rows'])} current, {fmt(run['reference_rows'])} reference"),
            ("reference version", fmt(run["reference_version"])),
            (
                "drift share",
                f"{fmt_share(run['drift_share'])} (threshold {fmt(threshold)}), "
                f"{fmt(run['n_drifted'])} of {fmt(run['n_features'])} features drifted"
                if run["drift_share"] is not None
                else f"none: this run was {label} (threshold {fmt(threshold)})",
            ),
            ("finished (UTC)", fmt_ts(run["finished_at"], seconds=True)),
            (
                "duration",
                "–" if run["duration_seconds"] is None else f"{fmt(run['duration_seconds'], 3)} s",
            ),
            ("report", report),
            ("error", run["error"] or "none"),
        ],
        raw=("monitor", "status", "report"),
    )
    body = f"""<h1>Run {int(run["id"])} · {e(run["monitor"])}</h1>
<section class="card">{meta}</section>
<section class="card" id="features"><h2>Features</h2>
<p class="muted small">Click a column to sort. Score: statistic / threshold (distances) or threshold / p-value (tests).</p>
{_features_table(run["features"], quality)}</section>
<section class="card" id="distributions"><h2>Reference vs current</h2>{_distributions_html(run, dist)}</section>
<section class="card" id="quality"><h2>Data quality</h2>{_quality_table(quality)}</section>
<section class="card" id="run-performance"><h2>Performance</h2>
{_performance_table(run.get("performance"), dist.reference_performance if dist else None)}</section>"""
    return page(f"Run {run['id']}", body, csrf=csrf, charts=True)
