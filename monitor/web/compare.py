"""The compare page: two monitors of one model (versions or segments) side by side.

Split from pages.py; the same rule holds: every untrusted value passes through `html.e` or a
figure's JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.performance.versions import VersionComparison, compare_versions
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine
from monitor.storage.version_reads import load_version_rows
from monitor.web import charts
from monitor.web.html import badge, e, figure, fmt, fmt_share, fmt_ts, page, table, td
from monitor.web.monitor_view import preferred_metrics
from monitor.web.pages import (
    meta_list,
    monitor_label,
    monitor_link,
    run_link,
    run_status,
    window_text,
)


def _select(name: str, monitors: Sequence[MonitorSettings], chosen: str | None) -> str:
    options = "".join(
        f'<option value="{e(m.name)}"{" selected" if m.name == chosen else ""}>'
        f"{e(m.name)} ({e(monitor_label(m))})</option>"
        for m in monitors
    )
    return f'<select name="{e(name)}" id="pick-{e(name)}">{options}</select>'


def compare_form(monitors: Sequence[MonitorSettings], a: str | None, b: str | None) -> str:
    return (
        '<form method="get" action="/compare" class="pick">'
        f"<label>Monitor A {_select('a', monitors, a)}</label>"
        f"<label>Monitor B {_select('b', monitors, b)}</label>"
        '<button type="submit" class="primary">Compare</button></form>'
    )


def compare_page(
    monitors: Sequence[MonitorSettings],
    a: MonitorSettings | None,
    b: MonitorSettings | None,
    *,
    common: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    chosen: tuple[dict[str, Any], dict[str, Any]] | None,
    features: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    perf: tuple[Sequence[Any], Sequence[Any]],
    reference_perf: tuple[dict[str, float] | None, dict[str, float] | None],
    csrf: str | None,
    note: str | None = None,
    versions: VersionComparison | None = None,
) -> str:
    form = compare_form(monitors, a.name if a else None, b.name if b else None)
    head = f'<h1>Compare</h1><section class="card">{form}'
    if note:
        head += f'<p class="muted">{e(note)}</p>'
    head += "</section>"
    if a is None or b is None:
        return page("Compare", head, csrf=csrf, active="compare")
    same_model = a.model == b.model
    sides = _sides_html(a, b)
    warn = "" if same_model else '<p class="muted">These monitors watch different models.</p>'
    runs_a = [x for x, _ in common]
    runs_b = [y for _, y in common]
    share_fig = charts.drift_share_html(
        "cmp-share",
        [(f"A {a.name}", runs_a, charts.REF_COLOUR), (f"B {b.name}", runs_b, charts.CUR_COLOUR)],
        a.drift.drift_share,
    )
    if not common:
        body = f'{head}<div class="side">{sides}</div>{warn}<section class="card"><p class="muted">The two monitors have no finished run over the same window yet.</p></section>'
        return page("Compare", body, csrf=csrf, active="compare")
    window_form = _window_form(a, b, common, chosen)
    body = (
        f'{head}<div class="side">{sides}</div>{warn}'
        f'<section class="card" id="cmp-drift"><h2>Drift share over the same windows</h2>{share_fig}</section>'
        f'<section class="card" id="cmp-window"><h2>One window side by side</h2>{window_form}'
        f"{_side_by_side(chosen, features)}</section>"
        f'<section class="card" id="cmp-performance"><h2>Performance side by side</h2>'
        f"{_perf_side_by_side(a, b, common, chosen, perf, reference_perf)}</section>"
        f"{versions_section(versions, chosen)}"
    )
    return page("Compare", body, csrf=csrf, charts=True, active="compare")


def _sides_html(a: MonitorSettings, b: MonitorSettings) -> str:
    """The two monitors' settings, A then B."""
    return "".join(
        f'<section class="card"><h2>{badge(side, "none")} {monitor_link(m.name)}</h2>'
        + meta_list(
            [
                ("model", m.model),
                ("model version", m.model_version or "any"),
                ("segment", ", ".join(f"{k}={v}" for k, v in m.segment.items()) or "all traffic"),
                ("drift share threshold", fmt(m.drift.drift_share)),
            ]
        )
        + "</section>"
        for side, m in (("A", a), ("B", b))
    )


def _window_form(
    a: MonitorSettings,
    b: MonitorSettings,
    common: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    chosen: tuple[dict[str, Any], dict[str, Any]] | None,
) -> str:
    """The picker of one window both monitors ran, newest first."""
    options = "".join(
        f'<option value="{int(x["id"])}"{" selected" if chosen and x["id"] == chosen[0]["id"] else ""}>'
        f"{e(window_text(x))}</option>"
        for x, _ in reversed(common)
    )
    return (
        '<form method="get" action="/compare" class="pick">'
        f'<input type="hidden" name="a" value="{e(a.name)}">'
        f'<input type="hidden" name="b" value="{e(b.name)}">'
        f'<label>Window (UTC) <select name="run" id="pick-run">{options}</select></label>'
        '<button type="submit" class="primary">Show</button></form>'
    )


def _side_by_side(
    chosen: tuple[dict[str, Any], dict[str, Any]] | None,
    features: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> str:
    if chosen is None:
        return ""
    ra, rb = chosen
    la, ka = run_status(ra)
    lb, kb = run_status(rb)
    summary = (
        f"<p>A: {run_link(ra['id'])} {badge(la, ka)} share {e(fmt_share(ra['drift_share']))} · "
        f"B: {run_link(rb['id'])} {badge(lb, kb)} share {e(fmt_share(rb['drift_share']))}</p>"
    )
    by_b = {x["feature"]: x for x in features[1]}
    names = [x["feature"] for x in features[0]] + [
        n for n in by_b if n not in {x["feature"] for x in features[0]}
    ]
    by_a = {x["feature"]: x for x in features[0]}
    rows = []
    for name in names:
        fa, fb = by_a.get(name), by_b.get(name)
        cells = td(charts.label(name), "feat")
        for x in (fa, fb):
            if x is None:
                cells += td("–") + td("–", "num") + td("–", "num") + td("–")
                continue
            drifted = bool(x["drifted"])
            cells += (
                td(x["method"])
                + td(fmt(x["statistic"]), "num", sort=x["statistic"])
                + td(charts.score_text(charts.score(x)), "num", sort=charts.score(x))
                + td(
                    badge("drift", "drift") if drifted else badge("ok", "ok"),
                    raw=True,
                    sort=int(drifted),
                )
            )
        rows.append(f"<tr>{cells}</tr>")
    tbl = table(
        [
            ("Feature", "text"),
            ("A method", "text"),
            ("A statistic", "num"),
            ("A score", "num"),
            ("A drifted", "num"),
            ("B method", "text"),
            ("B statistic", "num"),
            ("B score", "num"),
            ("B drifted", "num"),
        ],
        rows,
        sortable=True,
    )
    return summary + tbl


def _perf_side_by_side(
    a: MonitorSettings,
    b: MonitorSettings,
    common: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    chosen: tuple[dict[str, Any], dict[str, Any]] | None,
    perf: tuple[Sequence[Any], Sequence[Any]],
    reference_perf: tuple[dict[str, float] | None, dict[str, float] | None],
) -> str:
    windows = {(x["window_start"], x["window_end"]) for x, _ in common}
    pa = [x for x in perf[0] if (x.window_start, x.window_end) in windows]
    pb = [x for x in perf[1] if (x.window_start, x.window_end) in windows]
    if not pa and not pb:
        return '<p class="muted">Neither monitor has performance results for these windows.</p>'
    names = preferred_metrics(a, [x.metrics for x in [*pa, *pb]])
    figs = [
        figure(
            f"cmp-perf-{i}",
            charts.metric_figure(
                name,
                [
                    (f"A {a.name}", pa, (reference_perf[0] or {}).get(name), charts.REF_COLOUR),
                    (f"B {b.name}", pb, (reference_perf[1] or {}).get(name), charts.CUR_COLOUR),
                ],
            ),
            "chart small",
        )
        for i, name in enumerate(names)
    ]
    key = (chosen[0]["window_start"], chosen[0]["window_end"]) if chosen else None

    def at_window(runs: Sequence[Any]) -> Any:
        found = [x for x in runs if (x.window_start, x.window_end) == key]
        return found[-1] if found else None

    last_a, last_b = at_window(pa), at_window(pb)
    rows = [
        "<tr>"
        + td(name)
        + td(fmt(charts.metric_value(last_a.metrics if last_a else None, name), 4), "num")
        + td(fmt(charts.metric_value(last_b.metrics if last_b else None, name), 4), "num")
        + td(fmt((reference_perf[0] or {}).get(name), 4), "num")
        + td(fmt((reference_perf[1] or {}).get(name), 4), "num")
        + "</tr>"
        for name in names
    ]
    when = _latest_label(last_a or last_b)
    tbl = table(["Metric", "A", "B", "A reference", "B reference"], rows, empty="No metric yet.")
    return (
        f'<div class="charts">{"".join(figs)}</div><h3 class="small">The window above'
        f" ({e(when)})</h3>{tbl}"
    )


def _latest_label(run: Any) -> str:
    if run is None:
        return "–"
    start: datetime = run.window_start
    end: datetime = run.window_end
    return f"{fmt_ts(start)} → {fmt_ts(end)} UTC"


def version_comparison(
    engine: Engine,
    a: MonitorSettings | None,
    b: MonitorSettings | None,
    chosen: tuple[dict[str, Any], dict[str, Any]] | None,
) -> VersionComparison | None:
    """Champion vs challenger on the chosen window when A and B watch two versions of one
    model on the same traffic (same segment); None otherwise."""
    if a is None or b is None or chosen is None or a.model != b.model:
        return None
    if a.model_version is None or b.model_version is None or a.model_version == b.model_version:
        return None
    if dict(a.segment) != dict(b.segment):
        return None
    start, end = chosen[0]["window_start"], chosen[0]["window_end"]
    seg = dict(a.segment) or None
    rows_a = load_version_rows(engine, a.model, a.model_version, start, end, segment=seg)
    rows_b = load_version_rows(engine, b.model, b.model_version, start, end, segment=seg)
    return compare_versions(rows_a, rows_b)


_TESTS = {
    "mcnemar_exact": "McNemar's exact test on the discordant pairs",
    "mcnemar_chi2": "McNemar's test (chi-square, continuity correction) on the discordant pairs",
    "two_proportion_z": "two-proportion z-test",
}


def versions_section(
    cmp: VersionComparison | None, chosen: tuple[dict[str, Any], dict[str, Any]] | None
) -> str:
    """The champion/challenger card: the accuracy test and B − A with its interval."""
    if cmp is None:
        return ""
    head = (
        '<section class="card" id="cmp-versions"><h2>Champion and challenger: version '
        f"{e(cmp.version_a)} (A) vs {e(cmp.version_b)} (B)</h2>"
    )
    when = f" ({e(window_text(chosen[0]))})" if chosen else ""
    design = (
        f"paired: {cmp.pairs:,} requests scored by both versions (shadow traffic)"
        if cmp.design == "paired"
        else "unpaired: each request scored by one version (split traffic)"
    )
    facts = meta_list(
        [
            ("window", window_text(chosen[0]) if chosen else "–"),
            ("design", design),
            ("labelled rows", f"A {cmp.rows_a:,} of {cmp.predictions[0]:,} · "
                              f"B {cmp.rows_b:,} of {cmp.predictions[1]:,}"),
        ]
    )  # fmt: skip
    if cmp.reason:
        return f'{head}{facts}<p class="muted">No comparison{when}: {e(cmp.reason)}.</p></section>'
    test = ""
    if cmp.test is not None:
        t = cmp.test
        disc = ""
        if t.discordant is not None:
            b, c = t.discordant
            disc = f" (A right, B wrong: {b:,}; A wrong, B right: {c:,})"
        test = (
            f'<p id="cmp-versions-test">Accuracy: {e(_TESTS[t.name])}'
            f"{e(disc)}, statistic {e(fmt(t.statistic, 4))}, "
            f"p = {e(fmt(t.p_value, 4))}</p>"
        )
    pct = f"{cmp.confidence:.0%}"
    rows = [
        "<tr>"
        + td(m.metric)
        + td(fmt(m.a, 4), "num")
        + td(fmt(m.b, 4), "num")
        + td(fmt(m.diff, 4), "num", sort=m.diff)
        + td(f"[{fmt(m.low, 4)}, {fmt(m.high, 4)}]", "num")
        + "</tr>"
        for m in cmp.metrics
    ]
    tbl = table(
        ["Metric", "A", "B", "B − A", f"{pct} bootstrap interval"], rows, empty="No metric."
    )
    note = (
        f'<p class="muted">Interval: {cmp.resamples:,} bootstrap resamples of the '
        f"{'pairs' if cmp.design == 'paired' else 'rows of each version'}.</p>"
    )
    return f"{head}{facts}{test}{tbl}{note}</section>"
