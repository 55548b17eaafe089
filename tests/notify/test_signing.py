"""Webhook signatures: HMAC-SHA256 of the raw body, verified in constant time."""

import hashlib
import hmac

import pytest

from monitor.notify.signing import sign, verify


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"event":"drift.detected"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, b"s3cret") == f"sha256={expected}"


@pytest.mark.parametrize(
    ("body", "header_body", "secret", "ok"),
    [
        (b"x", b"x", b"k", True),
        (b"x", b"y", b"k", False),  # tampered body
        (b"x", b"x", b"other", False),  # wrong secret
    ],
)
def test_verify(body: bytes, header_body: bytes, secret: bytes, ok: bool) -> None:
    assert verify(body, sign(header_body, b"k"), secret) is ok


@pytest.mark.parametrize("header", [None, "", "md5=abc", "sha256="])
def test_malformed_headers_fail(header) -> None:
    assert verify(b"x", header, b"k") is False


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        sign(b"x", b"")
