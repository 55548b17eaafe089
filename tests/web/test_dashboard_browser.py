"""The dashboard in headless Chromium against a live uvicorn server holding a real scheduled run.

One browser for the module (tests/web/tab.py on tests/reports/cdp.py): it first asks for a
page without a session (redirected to the login form), signs in by typing the token and
clicking, then tours every page. Screenshots land in tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from tab import Tab, find_chromium
from web_support import SCREENSHOTS, SHIFTED, STEADY, XSS, XSS_CATEGORY

from monitor.storage.tables import drift_feature_results

CHROMIUM = find_chromium()
CHARTS_DRAWN = (
    "document.querySelectorAll('.js-plotly-plot .main-svg').length > 0 && "
    "document.querySelectorAll('.js-plotly-plot').length === "
    "document.querySelectorAll('script[data-figure]').length"
)
NO_INJECTION = """({
  images: document.querySelectorAll('img').length,
  handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
  text: document.body.innerText,
  svgText: [...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent),
})"""


@dataclass
class Tour:
    tab: Tab
    before_login: str  # where asking for a page without a session landed
    after_login: str


@pytest.fixture(scope="module")
def tour(site, tmp_path_factory) -> Iterator[Tour]:
    if CHROMIUM is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    browser = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium"))
    try:
        tab = Tab(browser)
        tab.goto(f"{site.url}/monitors/churn-v1")
        before = tab.evaluate("location.pathname + location.search")
        tab.screenshot(SCREENSHOTS / "web-login.png")
        tab.evaluate(f"document.getElementById('token').value = {json.dumps(site.read_token)}")
        tab.click("form[action='/login'] button[type=submit]")
        yield Tour(tab, before, tab.evaluate("location.pathname"))
    finally:
        browser.close()


def _open(tour: Tour, site: Any, path: str, shot: str | None = None) -> list[str]:
    tour.tab.goto(site.url + path)
    if tour.tab.evaluate("document.querySelectorAll('script[data-figure]').length"):
        assert tour.tab.wait_until(CHARTS_DRAWN, timeout=15), f"charts not drawn on {path}"
    tour.tab.settle(0.2)
    if shot:
        tour.tab.screenshot(SCREENSHOTS / f"web-{shot}.png")
    return tour.tab.problems()


def test_a_page_without_a_session_redirects_to_login_and_back(tour):
    assert tour.before_login == "/login?next=%2Fmonitors%2Fchurn-v1"
    assert tour.after_login == "/monitors/churn-v1"


def test_every_page_loads_with_no_console_error(tour, site):
    drifted, normal = site.facts.runs["churn-v1"][1], site.facts.runs["churn-v1"][0]
    pages = [
        ("/", "overview"),
        ("/monitors/churn-v1", "monitor"),
        ("/monitors/churn-v2", "monitor-v2"),
        (f"/runs/{drifted}", "run"),
        (f"/runs/{normal}", "run-normal"),
        (f"/compare?a=churn-v1&b=churn-v2&run={drifted}", "compare"),
        ("/compare", None),
    ]
    for path, shot in pages:
        assert _open(tour, site, path, shot) == [], path
        assert tour.tab.dialogs() == 0
    assert tour.tab.evaluate("document.title").startswith("Compare")


def _heatmap(tour: Tour) -> dict[tuple[str, int], bool]:
    cells = tour.tab.json(
        "[...document.querySelectorAll('#heatmap td[data-feature]')].map(td => "
        "[td.getAttribute('data-feature'), +td.getAttribute('data-run'), "
        "td.classList.contains('drifted')])"
    )
    return {(f, run): drifted for f, run, drifted in cells}


def test_the_heatmap_marks_the_shifted_features(tour, site):
    _open(tour, site, "/monitors/churn-v1")
    shown = _heatmap(tour)
    runs = site.facts.runs["churn-v1"]
    f = drift_feature_results.c
    with site.engine.connect() as conn:
        stored = {
            (row.feature, row.run_id): bool(row.drifted)
            for row in conn.execute(select(f.feature, f.run_id, f.drifted))
            if row.run_id in runs
        }
    assert shown == stored  # every cell, exactly as stored
    for run in runs[1:3]:  # windows 2 and 3 were shifted
        assert all(shown[(name, run)] for name in SHIFTED)
        assert not any(shown[(name, run)] for name in STEADY)
    assert not any(shown[(name, runs[0])] for name in SHIFTED)  # window 1 was normal
    _open(tour, site, "/monitors/churn-v2")
    assert not any(_heatmap(tour).values())  # version 2 never shifted


def test_clicking_a_heatmap_cell_opens_that_run(tour, site):
    _open(tour, site, "/monitors/churn-v1")
    run = site.facts.runs["churn-v1"][2]
    selector = f'#heatmap td[data-run="{run}"][data-feature="{XSS}"] a'
    tour.tab.click(selector)
    assert tour.tab.evaluate("location.pathname") == f"/runs/{run}"
    assert tour.tab.evaluate("document.querySelector('h1').textContent").startswith(f"Run {run}")


def test_hostile_names_render_as_text_and_fire_nothing(tour, site):
    run = site.facts.runs["churn-v1"][1]
    for path in ("/monitors/churn-v1", f"/runs/{run}", f"/compare?run={run}"):
        assert _open(tour, site, path) == []
        probe = tour.tab.json(NO_INJECTION)
        assert probe["images"] == 0 and probe["handlers"] == 0, path
        assert XSS in probe["text"], path  # shown, as text
        assert tour.tab.dialogs() == 0
    _open(tour, site, f"/runs/{run}")
    labels = tour.tab.json(NO_INJECTION)["svgText"]
    assert XSS_CATEGORY in labels  # the category's axis label, drawn as text by plotly
    assert XSS in labels  # the feature's chart title


def test_the_feature_table_sorts_by_a_clicked_column(tour, site):
    _open(tour, site, f"/runs/{site.facts.runs['churn-v1'][1]}")
    column = (
        "[...document.querySelectorAll('#features tbody tr')].map(r => "
        "parseFloat(r.children[3].getAttribute('data-v')))"
    )
    header = "#features thead th:nth-child(4)"
    tour.tab.click(header, navigates=False)
    up = tour.tab.json(column)
    assert up == sorted(up) and len(up) == 5
    tour.tab.click(header, navigates=False)
    assert tour.tab.json(column) == sorted(up, reverse=True)
