"""The API docs page (/api/v1/docs) works offline and under a strict CSP: Swagger UI's files
come from an installed package and this server, never from a CDN, and no inline script runs.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from tab import Tab, find_chromium
from web_support import SCREENSHOTS

DOCS = "/api/v1/docs"
KINDS = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_docs_page_references_only_local_assets_and_runs_no_inline_script(client):
    r = client.get(DOCS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    refs = _refs(r.text)
    assert any(x.endswith(".js") for x in refs) and any(x.endswith(".css") for x in refs)
    assert [x for x in refs if not x.startswith("/") or x.startswith("//")] == []
    inline = [m for m in re.findall(r"<script([^>]*)>", r.text) if "src=" not in m]
    assert inline == []  # CSP script-src 'self' would block it
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        suffix = "." + urlsplit(ref).path.rsplit(".", 1)[-1]
        assert asset.headers["content-type"].startswith(KINDS[suffix]), ref
        assert len(asset.content) > 100, ref
    assert client.get(f"{DOCS}/assets/0/swagger-ui-bundle.js").status_code == 404
    assert client.get(f"{DOCS}/assets/{refs[0].split('/')[-2]}/../../openapi.json").status_code in (
        404,
        400,
    )


def test_swagger_ui_renders_in_chromium_from_this_server_only(site, tmp_path_factory):
    chromium = find_chromium()
    if chromium is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    browser = Browser(chromium, tmp_path_factory.mktemp("chromium-docs"))
    try:
        tab = Tab(browser)
        tab.send("Network.enable")
        tab.goto(site.url + DOCS)
        assert tab.wait_until("document.querySelectorAll('.opblock').length > 10", timeout=20)
        tab.settle(0.5)
        tab.screenshot(SCREENSHOTS / "web-api-docs.png")
        title = tab.evaluate("document.querySelector('.info .title').textContent")
        requested = [
            e["params"]["request"]["url"]
            for e in browser.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        problems = tab.problems()
    finally:
        browser.close()
    assert title.startswith("monitor")
    assert requested and all(
        urljoin(site.url, u).startswith(site.url + "/") or u.startswith("data:") for u in requested
    ), requested
    assert problems == []  # no CSP violation, no failed load
