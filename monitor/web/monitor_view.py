"""A monitor's dashboard page: its settings, the drift heatmap, drift share and performance
over time, its alerts with their deliveries, and its runs.

Every untrusted value passes through `html.e` or a figure's JSON (as in pages.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.deployments import Deployment
from monitor.settings import MonitorSettings
from monitor.storage.dashboard import Heatmap
from monitor.web import charts, episodes_view
from monitor.web.calibrate_view import mark_form
from monitor.web.html import (
    badge,
    e,
    figure,
    fmt,
    fmt_duration,
    fmt_share,
    fmt_ts,
    page,
    table,
    td,
    url,
)
from monitor.web.pages import (
    meta_list,
    run_link,
    run_status,
    version_text,
    window_text,
)

CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc", "pr_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")


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


def alerts_html(alerts: Sequence[dict[str, Any]], csrf: str | None = None) -> str:
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
            f"<div>{mark_form(a, csrf)}{_alert_detail_html(a)}</div></details>"
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


def preferred_metrics(
    m: MonitorSettings, docs: Sequence[dict[str, Any] | None], *, known_only: bool = True
) -> list[str]:
    """The task's usual metrics, the rules' metrics first; `known_only`: only those some
    performance run document has."""
    task = next((d.get("task") for d in docs if d and d.get("task")), None)
    wanted = list(REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS)
    for rule in m.rules:
        if rule.metric and rule.metric not in wanted:
            wanted.insert(0, rule.metric)
    return charts.metric_names(docs, wanted) if known_only else wanted


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


def estimates_html(m: MonitorSettings, estimates: Sequence[Any], prefix: str) -> str:
    """Estimated performance per window (oldest first, `WindowEstimateRow`s): each metric's
    estimate with its band shaded and the realised value beside it where labels arrived."""
    if not estimates:
        return ""
    docs = [r.estimate for r in estimates]
    names = charts.estimate_metric_names(docs, preferred_metrics(m, docs, known_only=False))
    if not names:
        return '<p class="muted">No window has a defined estimate yet.</p>'
    figs = [
        figure(f"{prefix}-{i}", charts.estimate_figure(name, estimates), "chart small")
        for i, name in enumerate(names)
    ]
    note = (
        "estimated before the labels arrive (shaded: the band); "
        "diamonds: the realised value once the window's labels arrived "
        "(green: inside the band, red: outside; hover for the gap)"
    )
    return (
        f'<h3>Estimated performance</h3><p class="muted small">{e(note)}</p>'
        f'<div class="charts">{"".join(figs)}</div>'
    )


def monitor_page(
    m: MonitorSettings,
    *,
    last: dict[str, Any] | None,
    reference_version: int | None,
    hm: Heatmap,
    history: list[dict[str, Any]],
    perf: Sequence[Any],
    reference_perf: dict[str, float] | None,
    estimates: Sequence[Any] = (),
    alerts: Sequence[dict[str, Any]],
    runs: Sequence[dict[str, Any]],
    reports: set[int],
    csrf: str | None,
    deployment: Deployment | None = None,
    calibration_html: str = "",
    episodes: Sequence[Any] = (),
) -> str:
    label, kind = run_status(last)
    w = m.window
    window = (
        f"{w.events} events"
        if w.events is not None
        else f"{w.kind} {fmt_duration(w.size)}"
        + (f", step {fmt_duration(w.step)}" if w.step and w.step != w.size else "")
    )
    meta = meta_list(
        [
            ("status", badge(label, kind)),
            ("model", m.model),
            ("model version", version_text(m, deployment)),
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
{performance_html(m, perf, reference_perf, "perf")}
{estimates_html(m, estimates, "estimate")}</section>
{episodes_view.section(m, episodes)}
<section class="card" id="alerts"><h2>Alerts</h2>{alerts_html(alerts, csrf)}</section>
{calibration_html}
<section class="card" id="runs"><h2>Runs</h2>{runs_html(runs, reports)}</section>"""
    return page(m.name, body, csrf=csrf, charts=True)
