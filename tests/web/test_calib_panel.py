"""The monitor page's false-alarm panel and the alert mark form: over HTTP (sessions, CSRF,
scopes) and in headless Chromium (click Simulate, click False alarm)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tab import Tab, find_chromium
from web_support import SCREENSHOTS, login

from monitor.storage.alert_marks import last_marks

CHROMIUM = find_chromium()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _alert_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'action="/alerts/(\d+)/mark"', page)]


def test_the_panel_shows_the_budget_and_simulates_on_request(site, client):
    login(client, site.admin_token, "/monitors/churn-v1")
    page = client.get("/monitors/churn-v1").text
    panel = page.split('id="calibration"')[1]
    assert "Budget: <b>1 false alarm per 90d</b>" in panel  # the default budget
    assert 'name="calibrate" value="1"' in panel  # not simulated yet: a button
    page = client.get("/monitors/churn-v1", params={"calibrate": "1"}).text
    panel = page.split('id="calibration"')[1]
    assert 'id="calibration-expected"' in panel and "false alarms per 30 days" in panel
    for text in ("dataset_drift", "+0.25σ", "25% mass", "Per feature"):
        assert text in panel, text
    # cached: the plain page now shows the simulation without asking
    assert 'id="calibration-expected"' in client.get("/monitors/churn-v1").text


def test_marking_needs_the_session_csrf_and_an_admin_scope(site, client):
    login(client, site.read_token, "/monitors/churn-v1")
    page = client.get("/monitors/churn-v1").text
    alert = _alert_ids(page)[0]
    denied = client.post(f"/alerts/{alert}/mark", data={"csrf": _csrf(page), "verdict": "false"})
    assert denied.status_code == 403 and "admin token" in denied.text
    with TestClient(site.app, follow_redirects=False) as admin:
        login(admin, site.admin_token, "/monitors/churn-v1")
        page = admin.get("/monitors/churn-v1").text
        assert admin.post(f"/alerts/{alert}/mark", data={"verdict": "false"}).status_code == 403
        other = {"csrf": _csrf(page) + "x", "verdict": "false"}
        assert admin.post(f"/alerts/{alert}/mark", data=other).status_code == 403
        bad = admin.post(f"/alerts/{alert}/mark", data={"csrf": _csrf(page), "verdict": "maybe"})
        assert bad.status_code == 400
        gone = admin.post("/alerts/999999/mark", data={"csrf": _csrf(page), "verdict": "true"})
        assert gone.status_code == 404
    assert alert not in last_marks(site.engine, [alert])


@pytest.fixture(scope="module")
def admin_tab(site, tmp_path_factory) -> Iterator[Tab]:
    if CHROMIUM is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    browser = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-calib"))
    try:
        tab = Tab(browser)
        tab.goto(f"{site.url}/monitors/churn-v1")
        tab.evaluate(f"document.getElementById('token').value = {json.dumps(site.admin_token)}")
        tab.click("form[action='/login'] button[type=submit]")
        yield tab
    finally:
        browser.close()


def test_in_a_browser_simulate_then_mark_a_false_alarm(site, admin_tab):
    tab = admin_tab
    tab.goto(f"{site.url}/monitors/churn-v2")
    tab.click("#calibration form button[type=submit]")
    assert tab.wait_until("!!document.getElementById('calibration-expected')", timeout=60)
    assert tab.evaluate("location.search") == "?calibrate=1"
    tab.screenshot(SCREENSHOTS / "web-calibration.png")
    tab.goto(f"{site.url}/monitors/churn-v1")
    alert = tab.evaluate(
        "+document.querySelector('form.mark').getAttribute('action').split('/')[2]"
    )
    tab.evaluate("document.querySelectorAll('details.alert')[0].open = true")
    tab.evaluate("document.querySelector('form.mark input[name=note]').value = 'deploy <b>'")
    tab.click("form.mark button[value=false]")
    assert tab.wait_until("!!document.querySelector('[data-mark=false]')", timeout=30)
    assert tab.evaluate("location.pathname") == "/monitors/churn-v1"
    share = tab.evaluate("document.getElementById('false-alarm-share').innerText")
    assert share.startswith("1 of 1 marked alerts were false alarms (100%)")
    assert tab.problems() == []
    mark = last_marks(site.engine, [alert])[alert]
    assert (mark.verdict, mark.note, mark.by) == ("false", "deploy <b>", "dashboard (admin)")
