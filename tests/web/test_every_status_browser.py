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
    running = seen[f"/runs/{status_site.store.running}"]["text"]
    assert "running" in running and "churn-v2" in running
