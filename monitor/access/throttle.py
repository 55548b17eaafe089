"""Throttling of failed authentication per client address (bearer tokens and dashboard logins).

A sliding window: after `max_failures` wrong tokens from one address within `window_s`
seconds, every token check from that address is refused with 429 and `Retry-After` (the
seconds until its oldest counted failure leaves the window) without looking at the token,
so a guesser learns nothing more, even by trying a valid token in between. A success does not
reset the count (a holder of a read token could otherwise interleave successes with guesses
at the admin token). A missing token is not a guess and is not counted.

Counts live in this process's memory, bounded to `max_clients` addresses (the least recently
failing are forgotten first): each API replica throttles on its own, so N replicas allow at
most N x `max_failures` guesses per window. The address is the one uvicorn reports (behind a
reverse proxy on 127.0.0.1, X-Forwarded-For: uvicorn's proxy headers).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import HTTPException, Request

log = logging.getLogger("monitor.api")
MAX_FAILURES = 10
WINDOW_S = 60.0
MAX_CLIENTS = 100_000
DETAIL = "too many failed authentication attempts; retry later"


class FailureLimiter:
    """Failed-authentication timestamps per client address; thread-safe."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int | None:
        """Whole seconds `client` must wait before its next attempt, or None if it may try."""
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None or len(times) < self.max_failures:
                return None
            oldest = times[-self.max_failures]
            return max(1, math.ceil(oldest + self.window_s - now))

    def failed(self, client: str) -> None:
        """Count a wrong token; the failure that reaches the limit is logged (once per burst)."""
        now = self._clock()
        with self._lock:
            times = self._recent(client, now) or deque(maxlen=self.max_failures)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
            reached = len(times) == self.max_failures
        if reached:
            log.warning(
                "auth_throttled",
                extra={"client": client[:100], "failures": self.max_failures,
                       "window_s": self.window_s},
            )  # fmt: skip

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> FailureLimiter:
    return request.app.state.auth_failures


def too_many(wait: int) -> HTTPException:
    return HTTPException(status_code=429, detail=DETAIL, headers={"Retry-After": str(wait)})
