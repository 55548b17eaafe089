"""Bearer auth on every route: 401 with a challenge, 403 for a read token on admin routes;
failed tokens throttled per client address (429 with Retry-After)."""

from __future__ import annotations

import logging
import time

import pytest
from api_support import ADMIN_TOKEN, READ_TOKEN
from fastapi.testclient import TestClient

from monitor.access.auth import Tokens, check_bind
from monitor.access.throttle import FailureLimiter
from monitor.app import create_app
from monitor.errors import ConfigError
from monitor.settings import ApiSettings, parse_settings

OPEN = {"/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/docs"}
EXAMPLE = {
    "name": "mon",
    "run_id": "1",
    "alert_id": "1",
    "silence_id": "999999",
    "feature": "x",
    "model": "zz",
}


def _routes(client: TestClient) -> list[tuple[str, str, bool]]:
    """(method, concrete path, admin?) of every operation in the OpenAPI document, plus
    /metrics; writes (POST/DELETE) are the admin operations."""
    doc = client.get("/api/v1/openapi.json").json()
    out = [("GET", "/metrics", False)]
    for path, ops in doc["paths"].items():
        if path in OPEN or path == "/metrics":
            continue
        for method, op in ops.items():
            assert op.get("security") == [{"HTTPBearer": []}], (method, path)
            out.append((method.upper(), path.format(**EXAMPLE), method != "get"))
    return sorted(out)


@pytest.fixture
def unthrottled(engine, facts):
    """The app with a failure limit it never reaches (these tests send many wrong tokens)."""
    app = create_app(engine, facts.settings, auth_failures=FailureLimiter(max_failures=10**6))
    with TestClient(app) as c:
        yield c


def test_every_route_but_health_and_docs_needs_a_token(unthrottled):
    client = unthrottled
    routes = _routes(client)
    assert len(routes) >= 16 and any(admin for *_, admin in routes)
    for method, path, _ in routes:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"X": "y"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["detail"] in ("missing bearer token", "invalid bearer token")
        basic = client.request(method, path, headers={"Authorization": f"Basic {READ_TOKEN}"})
        assert basic.status_code == 401


def test_read_token_is_refused_on_admin_routes_and_admin_token_reads(client, read, admin):
    for method, path, is_admin in _routes(client):
        if is_admin:
            r = client.request(method, path, headers=read)
            assert r.status_code == 403, (method, path)
            assert r.json() == {"detail": "this action needs an admin token"}
        else:
            assert client.request(method, path, headers=admin).status_code in (200, 404)
            assert client.request(method, path, headers=read).status_code in (200, 404)


def test_health_probes_and_docs_need_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": True}}
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "monitor"
    assert client.get("/api/v1/docs").status_code == 200


def test_readyz_reports_each_injected_check(engine, facts):
    checks = {"scheduler": lambda: True, "consumer": lambda: False}
    with TestClient(create_app(engine, facts.settings, readiness=checks)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "not_ready",
        "checks": {"database": True, "scheduler": True, "consumer": False},
    }


def test_readyz_fails_when_the_database_is_unreachable(facts):
    from monitor.storage import make_engine

    dead = make_engine("postgresql+psycopg://u:secret-pw@127.0.0.1:1/nope")
    with TestClient(create_app(dead, facts.settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"] == {"database": False}
        runs = c.get("/api/v1/monitors", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert runs.status_code == 503
        assert runs.json() == {"detail": "the database is unavailable; try again later"}
        assert "secret-pw" not in runs.text
        metrics = c.get("/metrics", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert metrics.status_code == 200
        assert "monitor_database_up 0.0" in metrics.text and "monitor_build_info" in metrics.text
        assert "monitor_alerts_firing" not in metrics.text


def test_tokens_never_reach_logs_or_responses(client, read, admin, caplog):
    caplog.set_level(logging.DEBUG)
    for headers in (read, admin, {"Authorization": "Bearer not-a-real-token-123456"}):
        client.get("/api/v1/monitors", headers=headers)
        client.post("/api/v1/silences", headers=headers, json={"monitor": "nope"})
        r = client.get("/api/v1/alerts", params={"state": "nope"}, headers=headers)
        assert READ_TOKEN not in r.text and ADMIN_TOKEN not in r.text
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert READ_TOKEN not in text and ADMIN_TOKEN not in text
    assert "not-a-real-token" not in text


def test_scope_is_decided_against_every_token():
    api = ApiSettings(read_tokens=["r" * 16, "q" * 16], admin_tokens=["a" * 16])
    tokens = Tokens.from_settings(api)
    assert tokens.scope_of("q" * 16) == "read"
    assert tokens.scope_of("a" * 16) == "admin"
    assert tokens.scope_of("a" * 15) is None and tokens.scope_of("") is None
    assert "a" * 16 not in repr(tokens)


def test_without_tokens_the_api_is_open_but_only_on_loopback(engine, facts):
    settings = facts.settings.model_copy(update={"api": ApiSettings()})
    with TestClient(create_app(engine, settings)) as c:
        assert c.get("/api/v1/monitors").status_code == 200
        assert c.get("/metrics").status_code == 200
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.5"):
        check_bind(ApiSettings(host=host))
    for host in ("0.0.0.0", "::", "10.1.2.3", "monitor.example.com"):
        with pytest.raises(ConfigError) as err:
            check_bind(ApiSettings(host=host))
        assert "\n" not in str(err.value) and "without tokens" in str(err.value)
    check_bind(ApiSettings(host="0.0.0.0", read_tokens=["r" * 16]))


def test_token_settings_from_env_drop_empty_and_refuse_short_ones_without_echoing():
    doc = {"api": {"read_tokens": ["${TOK:-}"], "admin_tokens": ["${ADM}"]}}
    s = parse_settings(doc, env={"ADM": "z" * 20})
    assert s.api.read_tokens == [] and s.api.admin_tokens[0].get_secret_value() == "z" * 20
    assert "z" * 20 not in repr(s)
    with pytest.raises(ConfigError) as err:
        parse_settings(doc, env={"ADM": "short-secret"})
    assert "api.admin_tokens" in str(err.value) and "short-secret" not in str(err.value)


WRONG = {"Authorization": "Bearer wrong-token-0123456789abcdef"}


def test_failed_tokens_are_throttled_per_client_address(engine, facts, read, caplog):
    """After `max_failures` wrong tokens within the window, that address gets 429 with
    Retry-After, even with a valid token; other addresses are unaffected."""
    app = create_app(engine, facts.settings)  # the default limit
    limit = app.state.auth_failures.max_failures
    attacker = TestClient(app, client=("198.51.100.7", 40000))
    other = TestClient(app, client=("198.51.100.8", 40000))
    got = [attacker.get("/api/v1/monitors", headers=WRONG).status_code for _ in range(limit)]
    assert got == [401] * limit
    r = attacker.get("/api/v1/monitors", headers=WRONG)
    assert r.status_code == 429
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= app.state.auth_failures.window_s
    assert r.json() == {"detail": "too many failed authentication attempts; retry later"}
    assert attacker.get("/api/v1/monitors", headers=read).status_code == 429  # no more guesses
    assert attacker.get("/metrics", headers=read).status_code == 429
    assert attacker.get("/healthz").status_code == 200  # probes need no token
    assert other.get("/api/v1/monitors", headers=read).status_code == 200
    assert other.get("/api/v1/monitors").status_code == 401  # a missing token is not a guess
    assert other.get("/api/v1/monitors", headers=read).status_code == 200
    throttled = [r for r in caplog.records if r.getMessage() == "auth_throttled"]
    assert [r.client for r in throttled] == ["198.51.100.7"]  # logged once, no token in it
    assert "wrong-token" not in caplog.text


def test_throttling_ends_when_the_failures_leave_the_window(engine, facts, read):
    app = create_app(engine, facts.settings, auth_failures=FailureLimiter(3, window_s=1.0))
    c = TestClient(app, client=("203.0.113.9", 1))
    assert [c.get("/api/v1/monitors", headers=WRONG).status_code for _ in range(4)] == [
        401, 401, 401, 429,
    ]  # fmt: skip
    assert c.get("/api/v1/monitors", headers=read).status_code == 429
    time.sleep(1.1)
    assert c.get("/api/v1/monitors", headers=read).status_code == 200


def test_the_limiter_stays_bounded_in_memory():
    limiter = FailureLimiter(2, window_s=60, max_clients=3)
    for i in range(10):
        limiter.failed(f"10.0.0.{i}")
    assert len(limiter) == 3
    limiter.failed("10.0.0.9")
    assert limiter.retry_after("10.0.0.9") is not None and limiter.retry_after("10.0.0.1") is None
