"""The monitor page's estimated performance in headless Chromium, seeded the real way on
Postgres: a monitor with a CBPE estimator, four windows of traffic of which only the first two
are labelled, ticked by the scheduler -> each window estimated, the labelled ones with the
realised value beside the estimate. The chart shows the band shaded, the estimate as a line
and the realised values as points (screenshot: tests/screenshots/web-estimates.png)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tab import Tab, find_chromium
from web_support import HOUR, SCREENSHOTS, T0, make_settings, monitor_config, traffic, training

from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.scheduler.ticks import tick
from monitor.storage import make_engine
from monitor.storage.estimators import window_estimate_rows
from monitor.storage.writes import store_batch

CHROMIUM = find_chromium()
NAME = "churn-est"
FIGURES = """[...document.querySelectorAll('#performance script[data-figure]')]
  .map(s => [s.dataset.figure, JSON.parse(s.textContent)])"""


@pytest.fixture(scope="module")
def estimated(migrated_pg, tmp_path_factory) -> Iterator[tuple[str, str, Any]]:
    tmp = tmp_path_factory.mktemp("web-est")
    read = "read-" + secrets.token_hex(16)
    perf = {"enabled": True, "task": "classification", "min_rows": 50, "estimator": "cbpe"}
    settings = make_settings(
        migrated_pg("webest"), training(tmp / "ref.parquet"), tmp / "reports",
        slack_url="http://127.0.0.1:9/unused", read_token=read, admin_token="admin-" + read,
        more=[monitor_config(NAME, "1", tmp / "ref.parquet", performance=perf, rules=[])],
    )  # fmt: skip
    engine = make_engine(settings.database.url.get_secret_value())
    m = settings.monitor(NAME)
    for w in range(4):
        preds, labels = traffic(500, T0 + w * HOUR, "1", shift=1.5 if w >= 2 else 0.0, seed=w)
        store_batch(engine, preds, labels if w < 2 else [], [])
        tick(engine, settings, m, now=T0 + (w + 1) * HOUR + timedelta(seconds=1))
    server = ServerThread(create_app(engine, settings), "127.0.0.1", 0, name="web-est").start()
    try:
        yield server.url, read, engine
    finally:
        server.stop()
        engine.dispose()


def test_every_window_is_estimated_and_labelled_ones_carry_the_realised_value(estimated):
    *_, engine = estimated
    rows = list(reversed(window_estimate_rows(engine, NAME)))
    assert [r.window_start for r in rows] == [T0 + w * HOUR for w in range(4)]
    realised = [r.estimate["metrics"]["accuracy"]["realised"] for r in rows]
    assert [x is not None for x in realised] == [True, True, False, False]


def test_the_monitor_page_draws_the_estimate_with_its_band_and_the_realised_points(
    estimated, tmp_path
):
    if CHROMIUM is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    url, read, _ = estimated
    browser = Browser(CHROMIUM, tmp_path / "chromium")
    try:
        tab = Tab(browser)
        tab.goto(f"{url}/login?next=/monitors/{NAME}")
        tab.evaluate(f"document.getElementById('token').value = {json.dumps(read)}")
        tab.click("form[action='/login'] button[type=submit]")
        assert tab.evaluate("location.pathname") == f"/monitors/{NAME}"
        drawn = "document.querySelectorAll('#performance .js-plotly-plot .main-svg').length > 0"
        assert tab.wait_until(drawn, timeout=15)
        tab.evaluate("document.getElementById('performance').scrollIntoView()")
        tab.settle(0.3)
        tab.screenshot(SCREENSHOTS / "web-estimates.png")
        assert tab.problems() == []
        figures = dict(tab.evaluate(FIGURES))
        text = tab.evaluate("document.getElementById('performance').innerText")
        fills = tab.evaluate("document.querySelectorAll('#performance path.js-fill').length")
    finally:
        browser.close()
    assert "Estimated performance" in text
    estimate_figs = {k: v for k, v in figures.items() if k.startswith("estimate-")}
    accuracy = next(
        f for f in estimate_figs.values() if f["layout"]["title"]["text"] == "accuracy (estimated)"
    )
    traces = {t["name"]: t for t in accuracy["data"]}
    assert traces["cbpe band"]["fill"] == "tonexty" and len(traces["cbpe band"]["x"]) == 4
    assert len(traces["cbpe estimate"]["y"]) == 4
    assert len(traces["cbpe realised"]["y"]) == 2  # only the labelled windows
    assert fills >= len(estimate_figs)  # every band drawn shaded
