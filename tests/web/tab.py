"""One instrumented Chromium tab for the dashboard tests, on tests/reports/cdp.py's pipe client.

Adds what page-to-page browsing needs: navigate and wait for *this* load, evaluate, click at
an element's centre with real mouse events, collect console errors, exceptions and dialogs,
and full-page screenshots.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
from cdp import Browser, find_chromium

__all__ = ["Tab", "find_chromium"]


class Tab:
    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.session = browser.open("about:blank", settle=0.1)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip

    def send(self, method: str, params: dict | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def _await_load(self, timeout: float) -> None:
        if not self.browser.wait_for("Page.loadEventFired", timeout):
            raise TimeoutError("the page did not load")

    def goto(self, url: str, timeout: float = 30.0) -> None:
        self.browser.events.clear()
        self.send("Page.navigate", {"url": url})
        self._await_load(timeout)
        self.settle()

    def settle(self, seconds: float = 0.3) -> None:
        """Let scripts finish (plotly draws right after load)."""
        self.browser.pump(seconds)

    def evaluate(self, expression: str) -> Any:
        return self.browser.evaluate(expression, self.session)

    def json(self, expression: str) -> Any:
        return json.loads(self.evaluate(f"JSON.stringify({expression})"))

    def wait_until(self, expression: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            self.browser.pump(0.1)

    def click(self, selector: str, navigates: bool = True, timeout: float = 30.0) -> None:
        """A real left click at the centre of the first element matching `selector`."""
        self.evaluate(
            f"document.querySelector({json.dumps(selector)}).scrollIntoView({{block: 'center'}})"
        )
        box = self.json(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if navigates:
            self.browser.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})  # fmt: skip
        if navigates:
            self._await_load(timeout)
            self.settle()

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and dialogs since the last load."""
        out = []
        for ev in self.browser.events:
            method, params = ev.get("method"), ev.get("params", {})
            if method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {params.get('message')}")
            elif method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return out

    def dialogs(self) -> int:
        return sum(e.get("method") == "Page.javascriptDialogOpening" for e in self.browser.events)

    def screenshot(self, path: Path) -> None:
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": 1400, "height": min(size["height"], 6000), "scale": 1}
        shot = self.send(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
