"""Every dashboard page, in headless Chromium, over a Postgres store holding a drift run of
every status (succeeded with and without drift, insufficient_data, skipped, failed, running)
and a monitor with no run (tests/web/status_support.py).

Each page must answer 200, draw its charts, show no error text and log no console error.
Screenshots land in tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from status_support import BROKEN, CATCHUP, IDLE, SPARSE, STATUSES
from tab import Tab, find_chromium
from web_support import SCREENSHOTS

CHROMIUM = find_chromium()
CHARTS_DRAWN = (
    "document.querySelectorAll('.js-plotly-plot').length === "
    "document.querySelectorAll('script[data-figure]').length"
)
STATUS = "performance.getEntriesByType('navigation')[0].responseStatus"
ERROR_TEXT = ("Internal Server Error", "Traceback", "TypeError", "NoneType", "undefined", "NaN")


@pytest.fixture(scope="module")
def tab(status_site, tmp_path_factory) -> Iterator[Tab]:
    if CHROMIUM is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    browser = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-pg"))
    try:
        tab = Tab(browser)
        tab.goto(f"{status_site.url}/login")
        tab.evaluate(
            f"document.getElementById('token').value = {json.dumps(status_site.read_token)}"
        )
        tab.click("form[action='/login'] button[type=submit]")
        assert tab.evaluate("location.pathname") == "/"
        yield tab
    finally:
        browser.close()


def visit(tab: Tab, site: Any, path: str, shot: str | None = None) -> dict[str, Any]:
    """Open a page; what a person would notice first: status, error text, console errors."""
    tab.goto(site.url + path)
    drawn = tab.wait_until(CHARTS_DRAWN, timeout=15)
    tab.settle(0.2)
    if shot:
        tab.screenshot(SCREENSHOTS / f"web-pg-{shot}.png")
    text = tab.evaluate("document.body.innerText")
    return {
        "status": tab.evaluate(STATUS),
        "drawn": bool(drawn),
        "errors": [t for t in ERROR_TEXT if t in text],
        "problems": tab.problems(),
        "text": text,
    }


def test_the_store_holds_every_status(status_site):
    statuses = {status for _, status in status_site.store.runs.values()}
    assert set(STATUSES) <= statuses
    monitors = {monitor for monitor, _ in status_site.store.runs.values()}
    assert IDLE not in monitors and {SPARSE, BROKEN, CATCHUP} <= monitors
    newest: dict[str, tuple[int, str]] = {}
    for run_id, (monitor, status) in sorted(status_site.store.runs.items()):
        newest[monitor] = (run_id, status)
    assert newest[SPARSE][1] == "insufficient_data"  # the overview's newest-run case
    assert newest[BROKEN][1] == "failed"


def test_every_page_renders_for_every_status(tab, status_site):
    names = [m.name for m in status_site.app.state.settings.monitors]
    pages = [("/", "overview")]
    pages += [(f"/monitors/{n}", f"monitor-{n}") for n in names]
    pages += [
        (f"/runs/{i}", f"run-{s}-{i}") for i, (_, s) in sorted(status_site.store.runs.items())
    ]
    pages += [("/compare", None), (f"/compare?a={IDLE}", None)]
    pages += [(f"/compare?a={n}&b=churn-v1", f"compare-{n}") for n in names if n != "churn-v1"]
    pages += [("/api/v1/docs", None)]
    seen = {}
    for path, shot in pages:
        seen[path] = visit(tab, status_site, path, shot)
    bad = {
        path: {k: v for k, v in got.items() if k != "text"}
        for path, got in seen.items()
        if got["status"] != 200 or not got["drawn"] or got["errors"] or got["problems"]
    }
    assert bad == {}
    assert "insufficient data" in seen["/"]["text"]
    assert "failed" in seen["/"]["text"]
    for run_id, (_, status) in status_site.store.runs.items():
        if status in ("skipped", "failed"):  # never compared anything: say so, no false claims
            text = seen[f"/runs/{run_id}"]["text"]
            assert "no longer stored" not in text and "– s" not in text, run_id
            assert f"This run compared nothing: it was {status}" in text, run_id
    running = seen[f"/runs/{status_site.store.running}"]["text"]
    assert "running" in running and "churn-v2" in running


# --- item 7: empty and single-point charts, long names -------------------------------------

OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
WIDEST = """[...document.querySelectorAll('main *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 3).map(el => el.tagName + '.' + el.className + ' ' + el.textContent.slice(0, 30))"""
SVG_CLIPPED = """((prefix, full) => [...document.querySelectorAll('.js-plotly-plot text')]
  .filter(t => t.textContent.includes(prefix))
  .filter(t => t.getBoundingClientRect().right > t.closest('svg').getBoundingClientRect().right
               || !t.textContent.includes(full))
  .filter(t => { const h = t.closest('[title]'); return !h || h.title !== full; })
  .map(t => 'svg: ' + t.textContent.slice(0, 40)))"""
CLIPPED_NAMES = """((prefix, full) => {
  const out = [];
  for (const el of document.querySelectorAll('body *:not(script)')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (!own.includes(prefix) || own.includes(full)) continue;  // shown whole (maybe wrapped)
    const holder = el.closest('[title]');
    out.push({tag: el.tagName, text: own.slice(0, 40), title: holder && holder.title === full});
  }
  for (const el of document.querySelectorAll('body *:not(script)')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (own.includes(full) && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'text') {
      const holder = el.closest('[title]');
      out.push({tag: el.tagName, text: 'clipped: ' + own.slice(0, 40),
                title: holder && holder.title === full});
    }
  }
  return out.filter(x => !x.title);
})"""
TICKS = "[...document.querySelectorAll('#{id} .xtick text')].map(t => t.textContent)"


def _long_name_pages(site: Any) -> list[str]:
    ids = sorted(i for i, (m, s) in site.store.runs.items() if m == CATCHUP and s == "succeeded")
    return [
        f"/monitors/{CATCHUP}",
        *(f"/runs/{i}" for i in ids),
        f"/compare?a={CATCHUP}&b=churn-v1",
        f"/compare?a={CATCHUP}&b=churn-v1&run={ids[0]}",
    ]


@pytest.mark.parametrize("width", [1400, 900])
def test_a_long_feature_name_never_makes_a_page_scroll_sideways(tab, status_site, width):
    from status_support import LONG

    tab.send("Emulation.setDeviceMetricsOverride",
             {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
    try:
        wide, hidden = {}, {}
        for path in _long_name_pages(status_site):
            got = visit(tab, status_site, path, f"long-{width}-{path.split('?')[0][1:]}")
            assert got["status"] == 200 and got["problems"] == [], path
            scroll, client = tab.json(OVERFLOW)
            if scroll > client:
                wide[path] = (scroll, client, tab.json(WIDEST))
            args = f"({json.dumps(LONG[:30])}, {json.dumps(LONG)})"
            bad = tab.json(CLIPPED_NAMES + args) + tab.json(SVG_CLIPPED + args)
            if bad:
                hidden[path] = bad
        assert wide == {}  # page width vs scrollWidth
        assert hidden == {}  # a shortened or clipped name carries the full name on hover
    finally:
        tab.send("Emulation.setDeviceMetricsOverride",
                 {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip


def test_a_monitor_without_runs_says_so_instead_of_an_empty_chart(tab, status_site):
    got = visit(tab, status_site, f"/monitors/{IDLE}")
    section = tab.json(
        "({text: document.querySelector('#share').innerText,"
        " charts: document.querySelectorAll('#share script[data-figure]').length})"
    )
    assert got["status"] == 200 and section["charts"] == 0
    assert "No runs yet." in section["text"]
    assert "2000" not in got["text"]
    visit(tab, status_site, f"/monitors/{BROKEN}")  # runs, but none with a drift share
    section = tab.json(
        "({text: document.querySelector('#share').innerText,"
        " charts: document.querySelectorAll('#share script[data-figure]').length})"
    )
    assert section["charts"] == 0 and "No run has a drift share yet" in section["text"]


def test_a_single_point_chart_has_a_readable_time_axis(tab, status_site):
    visit(tab, status_site, f"/monitors/{SPARSE}", "single-point")
    ids = tab.json("[...document.querySelectorAll('.js-plotly-plot')].map(d => d.id)")
    assert "drift-share" in ids and len(ids) > 1  # the share chart and performance charts
    for chart in ids:
        ticks = tab.json(TICKS.replace("{id}", chart))
        assert ticks, chart
        assert not [t for t in ticks if "." in t.split(":")[-1]], (chart, ticks)  # no sub-second
    # the one point and its threshold line are drawn (a zero-length line is not)
    line = tab.json(
        "document.getElementById('drift-share').data.filter(t => t.name.startsWith('threshold'))"
        ".map(t => t.x)"
    )
    assert len(line) == 1 and line[0][0] != line[0][1]
    visit(tab, status_site, "/")
    spark = tab.json(
        f"document.querySelector('a[href=\"/monitors/{SPARSE}\"]').closest('tr')"
        ".querySelectorAll('svg.spark circle').length"
    )
    assert spark == 1  # the one run with a share is a visible dot, not an empty line
