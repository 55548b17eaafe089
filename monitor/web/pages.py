"""The dashboard's pages as functions of what they show (HTML strings; reads in routes.py).

Every untrusted value (feature, category, model names, error texts, alert details) passes
through `html.e` or a figure's JSON; links carry only ids and config monitor names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.performance.classification import SCALARS as CLASSIFICATION_SCALARS
from monitor.performance.regression import SCALARS as REGRESSION_SCALARS
from monitor.settings import MonitorSettings
from monitor.storage.dashboard import Heatmap
from monitor.web import charts
from monitor.web.data import Distributions
from monitor.web.html import (
    badge,
    e,
    figure,
    fmt,
    fmt_duration,
    fmt_share,
    fmt_ts,
    page,
    seg,
    share,
    table,
    td,
    url,
)

SCALAR_METRICS = frozenset(CLASSIFICATION_SCALARS) | frozenset(REGRESSION_SCALARS)
CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc", "pr_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")


def run_status(run: dict[str, Any] | None) -> tuple[str, str]:
    """(label, css kind) of a monitor's state from its newest finished run."""
    if run is None:
        return "no runs", "none"
    status = run["status"]
    if status == "succeeded":
        return ("drift", "drift") if run["dataset_drift"] else ("ok", "ok")
    return status.replace("_", " "), status


def monitor_label(m: MonitorSettings) -> str:
    parts = [m.model]
    if m.model_version is not None:
        parts.append(f"v{m.model_version}")
    if m.segment:
        parts.append(", ".join(f"{k}={v}" for k, v in m.segment.items()))
    return " · ".join(parts)


def window_text(run: dict[str, Any]) -> str:
    return f"{fmt_ts(run['window_start'])} → {fmt_ts(run['window_end'])}"


def run_link(run_id: int | None, text: str | None = None) -> str:
    if run_id is None:
        return e("–")
    return f'<a href="/runs/{int(run_id)}">{e(text or f"run {run_id}")}</a>'


def monitor_link(name: str) -> str:
    return f'<a href="/monitors/{seg(name)}">{e(name)}</a>'


def _meta(items: Sequence[tuple[str, str]], raw: Sequence[str] = ()) -> str:
    body = "".join(
        f"<dt>{e(k)}</dt><dd>{v if k in raw else e(v)}</dd>" for k, v in items if v is not None
    )
    return f'<dl class="meta">{body}</dl>'


# --- login ---------------------------------------------------------------------------------


def login_page(csrf: str, next_path: str, error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""<div class="login"><section class="card">
<h1>Sign in</h1>
<p class="muted">Use an API token (a read or admin token of this service).</p>
{message}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{e(csrf)}">
<input type="hidden" name="next" value="{e(next_path)}">
<label for="token">Token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<button type="submit" class="primary">Sign in</button>
</form></section></div>"""
    return page("Sign in", body, csrf=None, hide_nav=True)


def message_page(title: str, text: str, csrf: str | None) -> str:
    body = f'<h1>{e(title)}</h1><section class="card"><p>{e(text)}</p><p><a href="/">Back to the overview</a></p></section>'
    return page(title, body, csrf=csrf)


# --- overview ------------------------------------------------------------------------------


def overview_page(
    monitors: Sequence[MonitorSettings],
    last: dict[str, dict[str, Any]],
    history: dict[str, list[dict[str, Any]]],
    firing_counts: dict[str, int],
    firing: Sequence[dict[str, Any]],
    csrf: str | None,
) -> str:
    rows = []
    drifting = 0
    for m in monitors:
        run = last.get(m.name)
        label, kind = run_status(run)
        drifting += kind == "drift"
        n_firing = firing_counts.get(m.name, 0)
        alerts = badge(f"{n_firing} firing", "firing") if n_firing else badge("none", "none")
        rows.append(
            "<tr>"
            + td(monitor_link(m.name), raw=True, sort=m.name)
            + td(monitor_label(m))
            + td(badge(label, kind), raw=True, sort=kind)
            + td(
                run_link(run["id"], fmt_ts(run["window_end"])) if run else "–",
                raw=True,
                sort=run["window_end"].isoformat() if run else "",
            )
            + td(
                fmt_share(run["drift_share"]) if run else "–",
                "num",
                sort=(run or {}).get("drift_share"),
            )
            + td(charts.sparkline(history.get(m.name, []), m.drift.drift_share), raw=True)
            + td(alerts, raw=True, sort=n_firing)
            + "</tr>"
        )
    monitors_table = table(
        [
            "Monitor",
            "Model",
            "Status",
            ("Last window end (UTC)", "text"),
            ("Drift share", "num"),
            "Drift share, recent runs",
            ("Alerts", "num"),
        ],
        rows,
        sortable=True,
        empty="No monitor is configured.",
    )
    alert_rows = [
        "<tr>"
        + td(monitor_link(a["monitor"]), raw=True)
        + td(a["rule"])
        + td(a["subject"] or "dataset")
        + td(badge(a["severity"], a["severity"]), raw=True)
        + td(fmt_ts(a["fired_at"]))
        + td(run_link(a["last_run_id"]), raw=True)
        + td((a.get("details") or {}).get("summary") or "")
        + "</tr>"
        for a in firing
    ]
    alerts_table = table(
        ["Monitor", "Rule", "Subject", "Severity", "Firing since (UTC)", "Last run", "Summary"],
        alert_rows,
        empty="No alert is firing.",
    )
    total_firing = sum(firing_counts.values())
    body = f"""<h1>Monitors</h1>
<section class="card"><div class="kpis">
<div><span class="muted">monitors</span><b>{len(monitors)}</b></div>
<div><span class="muted">drifting now</span><b>{drifting}</b></div>
<div><span class="muted">alerts firing</span><b>{total_firing}</b></div>
</div></section>
<section class="card" id="monitors"><h2>Every monitor</h2>{monitors_table}</section>
<section class="card" id="firing"><h2>Alerts firing</h2>{alerts_table}</section>"""
    return page("Overview", body, csrf=csrf, active="overview")


# --- monitor -------------------------------------------------------------------------------


def heatmap_html(hm: Heatmap) -> str:
    if not hm.runs or not hm.features:
        return '<p class="muted">No succeeded run yet.</p>'
    head = "".join(
        f'<th title="{e(window_text(x))} UTC">{e(x["window_end"].strftime("%m-%d %H:%M"))}</th>'
        for x in hm.runs
    )
    rows = []
    for feature in hm.features:
        cells = []
        for run in hm.runs:
            cell = hm.cells.get((feature, run["id"]))
            if cell is None:
                cells.append('<td class="none"><span>·</span></td>')
                continue
            value = charts.score(cell)
            drifted = bool(cell["drifted"])
            if (
                cell["p_value"] is not None
                and cell["method"] in charts.METHODS
                and charts.METHODS[cell["method"]].is_p_value
            ):
                detail = f"p-value {fmt(cell['p_value'])} vs threshold {fmt(cell['threshold'])}"
            else:
                detail = f"statistic {fmt(cell['statistic'])} / threshold {fmt(cell['threshold'])}"
            title = (
                f"{charts.label(feature)} · {window_text(run)} UTC · {cell['method']}: {detail}"
                f" · {'DRIFTED' if drifted else 'no drift'} · run {run['id']}"
            )
            cells.append(
                f'<td class="{"drifted" if drifted else "ok"}" data-feature="{e(feature)}" '
                f'data-run="{int(run["id"])}"><a href="/runs/{int(run["id"])}" title="{e(title)}" '
                f'style="background:{charts.heat_colour(value, drifted)}">'
                f"{e(charts.score_text(value))}</a></td>"
            )
        rows.append(
            f'<tr><th class="feat" title="{e(charts.label(feature))}">{e(charts.label(feature))}'
            f"</th>{''.join(cells)}</tr>"
        )
    legend = (
        '<div class="legend"><span>cell: statistic / threshold (distances) or threshold / '
        "p-value (tests); ≥ 1× is past the threshold; click a cell to open its run</span>"
        f'<span><i style="background:{charts.heat_colour(0.1, False)}"></i>far below</span>'
        f'<span><i style="background:{charts.heat_colour(0.9, False)}"></i>near</span>'
        f'<span><i style="background:{charts.heat_colour(1, True)}"></i>drifted</span>'
        f'<span><i style="background:{charts.heat_colour(100, True)}"></i>≥ 100×</span></div>'
    )
    return (
        '<div class="heat-wrap"><table class="heat" id="heatmap"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{legend}"
    )


def _alert_detail_html(a: dict[str, Any]) -> str:
    history = table(
        ["State", "At (UTC)", "Run", "Detail"],
        (
            "<tr>"
            + td(badge(h["state"], h["state"]), raw=True)
            + td(fmt_ts(h["at"], seconds=True))
            + td(run_link(h["run_id"]), raw=True)
            + td(_detail_text(h.get("detail")))
            + "</tr>"
            for h in a["history"]
        ),
        empty="No state change recorded.",
    )
    deliveries = table(
        ["Channel", "Route", "Event", "Status", "Attempts", "Created (UTC)", "Delivered", "Error"],
        (
            "<tr>"
            + td(d["channel"])
            + td(d["route"])
            + td(d["event"])
            + td(badge(d["status"], d["status"]), raw=True)
            + td(fmt(d["attempts"]), "num")
            + td(fmt_ts(d["created_at"], seconds=True))
            + td(fmt_ts(d["delivered_at"], seconds=True))
            + td(d["last_error"] or "")
            + "</tr>"
            for d in a["deliveries"]
        ),
        empty="No notification was sent for this alert.",
    )
    return f"<h3 class=small>History</h3>{history}<h3 class=small>Deliveries</h3>{deliveries}"


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, dict):
        return ""
    if detail.get("summary"):
        return str(detail["summary"])
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v is not None)


def alerts_html(alerts: Sequence[dict[str, Any]]) -> str:
    if not alerts:
        return '<p class="muted">No alert yet.</p>'
    items = []
    for a in alerts:
        summary = (a.get("details") or {}).get("summary") or ""
        items.append(
            f'<details class="alert" data-alert="{int(a["id"])}"><summary>'
            f"{badge(a['state'], a['state'])} {badge(a['severity'], a['severity'])} "
            f"<b>{e(a['rule'])}</b> {e(a['subject'] or '')} · fired {e(fmt_ts(a['fired_at']))}"
            f"{' · resolved ' + e(fmt_ts(a['resolved_at'])) if a['resolved_at'] else ''}"
            f" · last run {run_link(a['last_run_id'])} · {e(summary)}</summary>"
            f"<div>{_alert_detail_html(a)}</div></details>"
        )
    return "".join(items)


def runs_html(runs: Sequence[dict[str, Any]], reports: set[int]) -> str:
    rows = []
    for x in runs:
        label, kind = run_status(x)
        report = f'<a href="/runs/{int(x["id"])}/report">report</a>' if x["id"] in reports else ""
        drifted = f"{x['n_drifted']} / {x['n_features']}" if x["n_features"] is not None else "–"
        rows.append(
            f'<tr class="{"drifted" if kind == "drift" else ""}">'
            + td(run_link(x["id"], f"#{x['id']}"), raw=True, sort=x["id"])
            + td(window_text(x), sort=x["window_end"].isoformat())
            + td(badge(label, kind), raw=True, sort=kind)
            + td(fmt_share(x["drift_share"]), "num", sort=x["drift_share"])
            + td(drifted, "num", sort=x["n_drifted"])
            + td(fmt(x["current_rows"]), "num", sort=x["current_rows"])
            + td(fmt(x["duration_seconds"], 2), "num", sort=x["duration_seconds"])
            + td(report, raw=True)
            + td(x["error"] or "")
            + "</tr>"
        )
    return table(
        [
            ("Run", "num"),
            ("Window (UTC)", "text"),
            ("Status", "text"),
            ("Drift share", "num"),
            ("Drifted", "num"),
            ("Rows", "num"),
            ("Seconds", "num"),
            "Report",
            "Error",
        ],
        rows,
        sortable=True,
        empty="No finished run yet.",
    )


def preferred_metrics(m: MonitorSettings, docs: Sequence[dict[str, Any] | None]) -> list[str]:
    task = next((d.get("task") for d in docs if d and d.get("task")), None)
    wanted = list(REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS)
    for rule in m.rules:
        if rule.metric and rule.metric not in wanted:
            wanted.insert(0, rule.metric)
    return charts.metric_names(docs, wanted)


def performance_html(
    m: MonitorSettings, perf: Sequence[Any], reference: dict[str, float] | None, prefix: str
) -> str:
    if not perf:
        note = (
            "enabled, but no window has been evaluated yet"
            if m.performance_enabled
            else ("not enabled for this monitor (performance.enabled or a performance rule)")
        )
        return f'<p class="muted">Performance: {e(note)}.</p>'
    names = preferred_metrics(m, [x.metrics for x in perf])
    if not names:
        return '<p class="muted">No window had enough labelled rows for metrics yet.</p>'
    figs = [
        figure(
            f"{prefix}-{i}",
            charts.metric_figure(
                name, [(m.name, perf, (reference or {}).get(name), charts.REF_COLOUR)]
            ),
            "chart small",
        )
        for i, name in enumerate(names)
    ]
    last = perf[-1]
    note = (
        f"latest window: {fmt(last.labelled)} of {fmt(last.predictions)} predictions labelled "
        f"(revision {last.revision}); dashed: the metric on the reference data"
    )
    return f'<p class="muted small">{e(note)}</p><div class="charts">{"".join(figs)}</div>'


def monitor_page(
    m: MonitorSettings,
    *,
    last: dict[str, Any] | None,
    reference_version: int | None,
    hm: Heatmap,
    history: list[dict[str, Any]],
    perf: Sequence[Any],
    reference_perf: dict[str, float] | None,
    alerts: Sequence[dict[str, Any]],
    runs: Sequence[dict[str, Any]],
    reports: set[int],
    csrf: str | None,
) -> str:
    label, kind = run_status(last)
    w = m.window
    window = (
        f"{w.events} events"
        if w.events is not None
        else f"{w.kind} {fmt_duration(w.size)}"
        + (f", step {fmt_duration(w.step)}" if w.step and w.step != w.size else "")
    )
    meta = _meta(
        [
            ("status", badge(label, kind)),
            ("model", m.model),
            ("model version", m.model_version or "any"),
            ("segment", ", ".join(f"{k}={v}" for k, v in m.segment.items()) or "all traffic"),
            ("reference version", fmt(reference_version)),
            ("window", window),
            ("drift share threshold", fmt(m.drift.drift_share)),
            ("rules", ", ".join(r.name for r in m.rules) or "none"),
            ("compare", f'<a href="{e(url("/compare", a=m.name))}">with another monitor</a>'),
        ],
        raw=("status", "compare"),
    )
    share_html = charts.drift_share_html(
        "drift-share", [(m.name, history, charts.REF_COLOUR)], m.drift.drift_share
    )
    body = f"""<h1>{e(m.name)}</h1>
<section class="card">{meta}</section>
<section class="card" id="heat"><h2>Drift by feature and window</h2>{heatmap_html(hm)}</section>
<section class="card" id="share"><h2>Drift share over time</h2>{share_html}</section>
<section class="card" id="performance"><h2>Performance over time</h2>
{performance_html(m, perf, reference_perf, "perf")}</section>
<section class="card" id="alerts"><h2>Alerts</h2>{alerts_html(alerts)}</section>
<section class="card" id="runs"><h2>Runs</h2>{runs_html(runs, reports)}</section>"""
    return page(m.name, body, csrf=csrf, charts=True)


# --- run -----------------------------------------------------------------------------------


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
        fig = charts.distribution_figure(name, spec, ref, dist.current.get(name))
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
    meta = _meta(
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
