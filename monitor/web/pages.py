"""The dashboard's pages as functions of what they show (HTML strings; reads in routes.py):
the pieces every page shares, sign-in, messages and the overview. A monitor's page is in
monitor_view.py, a run's in run_view.py, the compare page in compare.py.

Every untrusted value (feature, category, model names, error texts, alert details) passes
through `html.e` or a figure's JSON; links carry only ids and config monitor names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.deployments import Deployment
from monitor.settings import MonitorSettings
from monitor.web import charts
from monitor.web.html import (
    badge,
    e,
    fmt_share,
    fmt_ts,
    page,
    seg,
    table,
    td,
)


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


def version_text(m: MonitorSettings, deployment: Deployment | None) -> str:
    """The version a monitor runs on: the configured one, or the deployed one with its
    deployment when that replaced the configuration's."""
    if deployment is None:
        return m.model_version or "any"
    return (
        f"{deployment.version} (deployment {deployment.id}, {fmt_ts(deployment.deployed_at)} UTC;"
        f" configured: {m.model_version or 'any'})"
    )


def window_text(run: dict[str, Any]) -> str:
    return f"{fmt_ts(run['window_start'])} → {fmt_ts(run['window_end'])}"


def run_link(run_id: int | None, text: str | None = None) -> str:
    if run_id is None:
        return e("–")
    return f'<a href="/runs/{int(run_id)}">{e(text or f"run {run_id}")}</a>'


def monitor_link(name: str) -> str:
    return f'<a href="/monitors/{seg(name)}">{e(name)}</a>'


def meta_list(items: Sequence[tuple[str, str]], raw: Sequence[str] = ()) -> str:
    """A definition list of (label, value); values escaped unless their label is in `raw`."""
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
    rows = [
        _monitor_row(m, last.get(m.name), history.get(m.name, []), firing_counts.get(m.name, 0))
        for m in monitors
    ]
    drifting = sum(run_status(last.get(m.name))[1] == "drift" for m in monitors)
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
    total_firing = sum(firing_counts.values())
    body = f"""<h1>Monitors</h1>
<section class="card"><div class="kpis">
<div><span class="muted">monitors</span><b>{len(monitors)}</b></div>
<div><span class="muted">drifting now</span><b>{drifting}</b></div>
<div><span class="muted">alerts firing</span><b>{total_firing}</b></div>
</div></section>
<section class="card" id="monitors"><h2>Every monitor</h2>{monitors_table}</section>
<section class="card" id="firing"><h2>Alerts firing</h2>{_firing_table(firing)}</section>"""
    return page("Overview", body, csrf=csrf, active="overview")


def _monitor_row(
    m: MonitorSettings, run: dict[str, Any] | None, history: list[dict[str, Any]], n_firing: int
) -> str:
    """One monitor's row of the overview: state, newest window, drift share, sparkline, alerts."""
    label, kind = run_status(run)
    alerts = badge(f"{n_firing} firing", "firing") if n_firing else badge("none", "none")
    return (
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
        + td(charts.sparkline(history, m.drift.drift_share), raw=True)
        + td(alerts, raw=True, sort=n_firing)
        + "</tr>"
    )


def _firing_table(firing: Sequence[dict[str, Any]]) -> str:
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
    return table(
        ["Monitor", "Rule", "Subject", "Severity", "Firing since (UTC)", "Last run", "Summary"],
        alert_rows,
        empty="No alert is firing.",
    )
