"""Load a hostile report in headless Chromium: nothing from the data runs, everything renders.

Drives Chromium over the DevTools protocol on a pipe (tests/reports/cdp.py): every frame,
including Evidently's sandboxed iframe (its own process), is instrumented before it runs,
so a dialog, an exception, a CSP refusal (a network fetch) or an injected element would
be seen.
"""

from __future__ import annotations

import time

import pytest
from cdp import Browser, find_chromium

CHROMIUM = find_chromium()


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    """`make test` installs Debian's chromium; a missing browser fails, never skips."""
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")


MAIN_PROBE = """JSON.stringify({
  images: document.images.length,
  charts: document.querySelectorAll('.js-plotly-plot .main-svg').length > 0
    ? document.querySelectorAll('.js-plotly-plot').length : 0,
  injected: [...document.scripts].filter(s => s.textContent.trim().startsWith('alert(')).length,
  frames: document.querySelectorAll('iframe').length,
  sandbox: document.querySelector('iframe').getAttribute('sandbox'),
  title: document.title,
})"""

FRAME_PROBE = """JSON.stringify({
  rendered: document.body.innerText.includes('Dataset Drift'),
  images: document.querySelectorAll('img[src="x"]').length,
  injected: [...document.scripts].filter(s => s.textContent.trim().startsWith('alert(')).length,
})"""


def _probe(browser: Browser, session: str, expr: str, ready, timeout: float = 20.0) -> dict:
    import json

    deadline = time.monotonic() + timeout
    while True:
        value = json.loads(browser.evaluate(expr, session))
        if ready(value) or time.monotonic() > deadline:
            return value
        browser.pump(0.5)


def test_hostile_report_runs_nothing_from_the_data(hostile, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(hostile.html, encoding="utf-8")
    browser = Browser(CHROMIUM, tmp_path / "profile")
    try:
        session = browser.open(path.as_uri(), settle=1.0)
        main = _probe(browser, session, MAIN_PROBE, lambda v: v["charts"] == len(hostile.history))
        assert main["charts"] == len(hostile.history)  # our scripts ran: every chart drawn
        assert main["images"] == 0 and main["injected"] == 0
        assert main["frames"] == 1 and main["sandbox"] == "allow-scripts"
        assert main["title"].startswith('Drift for "><img')  # shown as text
        frames = [s for s, info in browser.frames.items() if info["type"] == "iframe"]
        assert len(frames) == 1
        inner = _probe(browser, frames[0], FRAME_PROBE, lambda v: v["rendered"])
        assert inner == {"rendered": True, "images": 0, "injected": 0}
        browser.pump(0.5)
    finally:
        browser.close()
    methods = [e.get("method") for e in browser.events]
    assert "Page.javascriptDialogOpening" not in methods
    assert "Runtime.exceptionThrown" not in methods
    errors = [
        e["params"]["entry"]["text"]
        for e in browser.events
        if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
    ]
    assert errors == []  # no blocked fetch (CSP), no ignored alert() in the sandbox, no 404
