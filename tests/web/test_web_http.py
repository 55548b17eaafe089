"""The dashboard over HTTP (in-process): login, session cookie, CSRF, redirects, headers,
escaping of hostile names in the served HTML, static assets, sandboxed reports."""

from __future__ import annotations

import re
import time

import pytest
from web_support import MODEL, XSS, XSS_CATEGORY, login

from monitor.web.routes import safe_next
from monitor.web.sessions import COOKIE, LOGIN_COOKIE, SessionStore
from monitor.web.static import CSS_URL, JS_URL, plotly_url

PAGES = ["/", "/monitors/churn-v1", "/compare", "/compare?a=churn-v1&b=churn-v2"]


def _set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


@pytest.mark.parametrize("path", [*PAGES, "/runs/1", "/runs/3/report"])
def test_a_page_without_a_session_redirects_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2F")
    client.cookies.set(COOKIE, "forged-session-id")
    assert client.get(path).status_code == 303


def test_login_sets_an_httponly_samesite_strict_session_cookie_never_the_token(site, client):
    form = client.get("/login", params={"next": "/monitors/churn-v1"})
    assert form.status_code == 200 and 'type="password"' in form.text
    (login_cookie,) = _set_cookies(form)
    assert login_cookie.startswith(LOGIN_COOKIE + "=")
    assert "HttpOnly" in login_cookie and "SameSite=strict" in login_cookie

    r = login(client, site.read_token, "/monitors/churn-v1")
    assert r.status_code == 303 and r.headers["location"] == "/monitors/churn-v1"
    session_cookie = next(c for c in _set_cookies(r) if c.startswith(COOKIE + "="))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "Path=/" in session_cookie
    value = session_cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40 and site.read_token not in session_cookie
    assert all(site.read_token not in v for v in r.headers.values())
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        assert site.read_token not in page.text


def test_login_refuses_a_wrong_token_and_a_missing_csrf(site, client):
    assert login(client, "not-a-token-but-long-enough").status_code == 401
    assert COOKIE not in client.cookies
    client.get("/login")
    r = client.post("/login", data={"csrf": "guess", "token": site.read_token, "next": "/"})
    assert r.status_code == 403 and COOKIE not in client.cookies
    r = client.post("/login", content=b"token=x", headers={"content-type": "text/plain"})
    assert r.status_code == 415


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:1"]
)
def test_login_never_redirects_off_site(site, client, target):
    r = login(client, site.read_token, target)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_logout_needs_the_session_csrf_token(site, client):
    login(client, site.admin_token)
    page = client.get("/")
    csrf = re.search(r'action="/logout".*?name="csrf" value="([^"]+)"', page.text, re.S).group(1)
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    r = client.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()
    old = re.search(r"[A-Za-z0-9_-]{40,}", page.request.headers["cookie"]).group(0)
    client.cookies.set(COOKIE, old)
    assert client.get("/").status_code == 303  # the id is dead


def test_hostile_names_are_escaped_in_every_page(site, client):
    login(client, site.read_token)
    run_id = site.facts.runs["churn-v1"][1]
    for path in [*PAGES, f"/runs/{run_id}", "/compare?a=churn-v1&b=churn-v2&run=" + str(run_id)]:
        text = client.get(path).text
        for hostile in (XSS, XSS_CATEGORY, MODEL, "<svg onload", "<img", "<b>&"):
            assert hostile not in text, (path, hostile)
    monitor_page = client.get("/monitors/churn-v1").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in monitor_page
    assert "churn&lt;b&gt;&amp;&quot;" in monitor_page
    run_page = client.get(f"/runs/{run_id}").text  # plotly label, HTML-escaped, in JSON
    assert "\\u0026lt;svg onload=alert(2)\\u0026gt;" in run_page


def test_unknown_things_are_404_pages(site, client):
    login(client, site.read_token)
    assert client.get("/monitors/nope").status_code == 404
    assert client.get("/runs/999999").status_code == 404
    no_report = site.facts.runs["churn-v2"][0]
    assert client.get(f"/runs/{no_report}/report").status_code == 404


def test_the_stored_report_is_served_sandboxed(site, client):
    login(client, site.read_token)
    r = client.get(f"/runs/{site.facts.runs['churn-v1'][1]}/report")
    assert r.status_code == 200 and "stored report" in r.text
    assert r.headers["content-security-policy"] == "sandbox allow-scripts"


def test_static_assets_are_served_once_with_a_long_max_age(client):
    for path, kind in ((CSS_URL, "text/css"), (JS_URL, "text/javascript")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert "max-age=31536000" in r.headers["cache-control"]
    r = client.get(plotly_url())
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/static/plotly-0.0.1.min.js").status_code == 404


def test_without_tokens_the_dashboard_is_open_like_the_api(site):
    from fastapi.testclient import TestClient

    from monitor.app import create_app

    open_settings = site.facts.settings.model_copy(
        update={
            "api": site.facts.settings.api.model_copy(
                update={"read_tokens": [], "admin_tokens": []}
            )
        }
    )
    app = create_app(site.engine, open_settings)
    with TestClient(app, follow_redirects=False) as c:
        r = c.get("/")
        assert r.status_code == 200 and 'action="/logout"' not in r.text
        assert c.get("/login").status_code == 303


def test_sessions_expire_and_stay_bounded(site):
    store = SessionStore(site.engine, ttl_s=0.5, max_sessions=3)
    store.clear()
    first = store.create("read")
    assert store.get(first.id) == first and store.get("other") is None
    time.sleep(0.6)
    assert store.get(first.id) is None
    ids = [store.create("read").id for _ in range(5)]
    assert len(store) == 3 and store.get(ids[0]) is None and store.get(ids[-1]) is not None
    store.clear()


def test_failed_logins_are_throttled_per_client_address(site):
    from fastapi.testclient import TestClient

    limiter = site.app.state.auth_failures
    guesser = TestClient(site.app, client=("198.51.100.20", 1), follow_redirects=False)
    codes = [login(guesser, f"guess-{i:02d}-0123456789abcdef").status_code for i in range(12)]
    assert codes == [401] * limiter.max_failures + [429] * (12 - limiter.max_failures)
    r = login(guesser, site.read_token)  # the right token is not even checked now
    assert r.status_code == 429 and COOKIE not in guesser.cookies
    assert 0 < int(r.headers["retry-after"]) <= limiter.window_s
    assert "Too many failed sign-ins" in r.text
    other = TestClient(site.app, client=("198.51.100.21", 1), follow_redirects=False)
    assert login(other, site.read_token).status_code == 303


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/runs/3?x=1", "/runs/3?x=1"),
        (None, "/"),
        ("", "/"),
        ("//evil", "/"),
        ("/\\evil", "/"),
        ("http://evil/", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(value, expected):
    assert safe_next(value) == expected
