"""Exponential backoff with jitter, shared by the Kafka consumer's store retries and the outbox."""

from __future__ import annotations

import random


def backoff_s(
    attempt: int, cap_s: float, base_s: float = 0.2, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: uniform in [c/2, c], c = min(cap, base * 2**attempt).

    The jitter spreads the retries of many consumers after a shared outage; the floor keeps
    one consumer from hammering a database that is still down.
    """
    ceiling = min(cap_s, base_s * (2 ** min(attempt, 30)))
    return (rng or random).uniform(ceiling / 2, ceiling)
