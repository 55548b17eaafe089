"""HMAC-SHA256 signatures for webhook bodies (`X-Monitor-Signature: sha256=<hex>`).

A receiver recomputes the HMAC of the raw request body with the shared secret and compares
in constant time; `verify` is that receiver side, shipped so users can copy it.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: bytes) -> str:
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: bytes) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    if not header or not header.startswith(PREFIX) or not secret:
        return False
    return hmac.compare_digest(sign(body, secret), header)
