"""The monitor page's false-alarm panel and the alerts' mark form (issue 14 item 5).

The panel shows the budget (`alarm.expected_run_length`) next to the measured false-alarm
share of the last 30 days (operators' marks) and, once simulated (`monitor.calibrate`, a
few seconds: on request, then cached), the expected false alarms per rule and feature and
the median detection delays. Every untrusted value goes through `html.e`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.calibrate import calibration, measured_share, window_rows
from monitor.errors import MonitorError
from monitor.settings import MonitorSettings
from monitor.web.html import badge, e, fmt_duration, seg, table, td, url

SIMULATED_WINDOWS = 1000
MAX_VALUES = 5_000_000  # windows × rows simulated for the page


def _n(value: Any, digits: int = 3) -> str:
    if not isinstance(value, int | float):
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _share(measured: dict[str, Any]) -> str:
    if not measured["marked"]:
        return "no alert marked in the last 30 days"
    return (
        f"{measured['false']} of {measured['marked']} marked alerts were false alarms "
        f"({measured['share']:.0%}) in the last 30 days"
    )


def _budget(m: MonitorSettings) -> str:
    erl = m.alarm.expected_run_length
    every = m.run_every
    if isinstance(erl, int):
        return f"1 false alarm per {erl} runs" + (
            f" (a run every {fmt_duration(every)})" if every else ""
        )
    return f"1 false alarm per {fmt_duration(erl)}"


def _rules(doc: dict[str, Any]) -> str:
    return table(
        ["Rule", "Condition", "Expected per day", "Per 30 days", "Note"],
        (
            "<tr>" + td(r["name"]) + td(r["condition"]) + td(_n(r.get("per_day")), "num")
            + td(_n(r.get("per_30d")), "num") + td(r.get("note") or "") + "</tr>"
            for r in doc["rules"]
        ),
        empty="The monitor has no rule.",
    )  # fmt: skip


def _features(doc: dict[str, Any]) -> str:
    return table(
        ["Feature", "Method", "Threshold", "Flagged windows", "If alone, per 30 days"],
        (
            "<tr>" + td(f["name"]) + td(f["method"])
            + td(("auto " if f["auto"] else "") + _n(f["threshold"], 4), "num")
            + td(f"{f['per_window']:.2%}", "num") + td(_n(f["per_30d"]), "num") + "</tr>"
            for f in doc["features"]
        ),
    )  # fmt: skip


def _delays(doc: dict[str, Any]) -> str:
    def hours(d: dict[str, Any]) -> str:
        return "never" if d["seconds"] is None else f"{d['seconds'] / 3600:.3g} h"

    return table(
        ["Feature", "Shift", "Median delay (windows)", "Time", "First rule"],
        (
            "<tr>" + td(d["feature"]) + td(d["shift"])
            + td("never" if d["windows"] is None else _n(d["windows"]), "num")
            + td(hours(d), "num") + td(d["rule"] or "–") + "</tr>"
            for d in doc["delays"]
        ),
        empty="No input feature to shift.",
    )  # fmt: skip


def _simulated(doc: dict[str, Any]) -> str:
    b, x = doc["budget"], doc["expected"]
    within = x["per_run"] <= b["per_run"]
    head = (
        f'<p id="calibration-expected">Expected {badge("within budget" if within else "over budget", "ok" if within else "drift")} '
        f"<b>{e(_n(x['per_30d']))}</b> false alarms per 30 days "
        f"({e(_n(x['per_day']))} per day) against a budget of <b>{e(_n(b['per_30d']))}</b>; "
        f"{doc['windows']} healthy windows of {doc['window_rows']} rows drawn from reference "
        f"version {doc['reference_version']}.</p>"
    )
    return (
        head + "<h3 class=small>Per rule</h3>" + _rules(doc)
        + "<h3 class=small>Per feature</h3>" + _features(doc)
        + "<h3 class=small>Detection delay of a persistent shift</h3>" + _delays(doc)
    )  # fmt: skip


def section(engine: Any, m: MonitorSettings, *, compute: bool) -> str:
    """The panel; the simulation runs only when asked (`compute`) or already cached."""
    now = datetime.now(UTC)
    measured = measured_share(engine, m.name, now)
    body = (
        f'<p id="calibration-budget">Budget: <b>{e(_budget(m))}</b>. Measured: '
        f'<span id="false-alarm-share">{e(_share(measured))}</span>.</p>'
    )
    try:
        rows = window_rows(engine, m, None, now)
        windows = max(100, min(SIMULATED_WINDOWS, MAX_VALUES // rows))  # seconds, not minutes
        doc = calibration(engine, m, windows=windows, rows=rows, now=now, compute=compute)
    except MonitorError as exc:
        doc, body = None, body + f'<p class="muted">{e(str(exc))}</p>'
    if doc is not None:
        body += _simulated(doc)
    elif compute is False:
        body += (
            f'<form method="get" action="{e(url("/monitors/" + seg(m.name)))}#calibration">'
            '<input type="hidden" name="calibrate" value="1">'
            '<button type="submit">Simulate expected false alarms (a few seconds)</button></form>'
        )
    return f'<section class="card" id="calibration"><h2>False-alarm budget</h2>{body}</section>'


def mark_form(alert: dict[str, Any], csrf: str | None) -> str:
    """Buttons to mark an alert a false alarm or a true one, and its newest mark."""
    marks = [h for h in alert.get("history", []) if h.get("state") == "marked"]
    last = ""
    if marks:
        d = marks[-1].get("detail") or {}
        what = "a false alarm" if d.get("verdict") == "false" else "a true alarm"
        last = f'<span class="muted" data-mark="{e(d.get("verdict"))}">marked {what}</span> '
    alert_id = int(alert["id"])
    return (
        f'<form class="mark" method="post" action="/alerts/{alert_id}/mark">{last}'
        f'<input type="hidden" name="csrf" value="{e(csrf or "")}">'
        '<input type="text" name="note" maxlength="1000" placeholder="note (optional)">'
        '<button type="submit" name="verdict" value="false">False alarm</button> '
        '<button type="submit" name="verdict" value="true">True alarm</button></form>'
    )
