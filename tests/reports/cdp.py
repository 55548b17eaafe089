"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe` (no websockets).

Chromium reads NUL-terminated JSON commands from fd 3 and writes replies/events to fd 4.
Used to load a report in headless Chromium and inspect what actually ran in each frame.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary: str, profile: Path) -> None:
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()

        def wire() -> None:  # in the child: fd 3 = commands in, fd 4 = replies out
            a, b = os.dup(cmd_r), os.dup(res_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-extensions",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        os.close(cmd_r)
        os.close(res_w)
        self._w, self._r = cmd_w, res_r
        self._buf = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.frames: dict[str, dict[str, Any]] = {}  # child session -> target info
        self._replies: dict[int, dict[str, Any]] = {}

    def _read_message(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=30.0
    ) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while msg["id"] not in self._replies:
            incoming = self._read_message(deadline)
            if incoming is None:
                raise TimeoutError(method)
            self._route(incoming)
        reply = self._replies.pop(msg["id"])
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _route(self, msg: dict[str, Any]) -> None:
        if "id" in msg:
            self._replies[msg["id"]] = msg
        else:
            self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        """Record an event; answer dialogs; instrument every frame target before it runs."""
        self.events.append(msg)
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Page.javascriptDialogOpening":
            self.send("Page.handleJavaScriptDialog", {"accept": True}, msg.get("sessionId"))
        elif method == "Target.attachedToTarget" and "sessionId" in msg:  # a frame of our tab
            child = params["sessionId"]
            self.frames[child] = params["targetInfo"]
            for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
                self.send(domain, session=child)
            if params.get("waitingForDebugger"):
                self.send("Runtime.runIfWaitingForDebugger", session=child)

    def open(self, url: str, settle: float = 3.0, timeout: float = 60.0) -> str:
        """Open `url` in a new tab, instrumented from the start; the tab's session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        sid = session["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session=sid)
        self.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session=sid,
        )
        self.send("Page.navigate", {"url": url}, session=sid)
        if not self.wait_for("Page.loadEventFired", timeout):
            raise TimeoutError(f"{url} did not load")
        self.pump(settle)
        return sid

    def evaluate(self, expression: str, session: str) -> Any:
        out = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in out:
            raise RuntimeError(out["exceptionDetails"])
        return out["result"].get("value")

    def pump(self, seconds: float) -> None:
        """Collect events for `seconds` (dialogs, console and log entries)."""
        deadline = time.monotonic() + seconds
        while (msg := self._read_message(deadline)) is not None:
            self._route(msg)

    def wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            msg = self._read_message(deadline)
            if msg is None:
                return False
            self._route(msg)
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)
