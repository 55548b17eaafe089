"""The dashboard's HTTP routes: login/logout, the four pages, run reports, static assets.

Auth: the API's own tokens. `POST /login` checks the token once and sets an HttpOnly,
SameSite=Strict cookie holding a random session id (never the token). Pages without a valid
session redirect to /login. POST forms carry a CSRF token: the session's for /logout, a
double-submit cookie for /login (no session exists yet). With no token configured (an open
API, loopback only) the dashboard is open too. Pages go out with a strict CSP (scripts from
this origin only, no framing) and `no-store`; static assets are content-addressed and cached.
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from monitor.access.auth import Tokens
from monitor.access.throttle import client_address, limiter_of
from monitor.deployments import overrides
from monitor.reports.serve import REPORT_HEADERS, REPORT_MEDIA_TYPE, report_path
from monitor.storage import dashboard, run_reads
from monitor.web import calibrate_view, data, episodes_view, monitor_view, pages, run_view, static
from monitor.web import compare as compare_view
from monitor.web.html import fmt_ts
from monitor.web.sessions import COOKIE, LOGIN_COOKIE, OPEN, Session, SessionStore, same

router = APIRouter(include_in_schema=False)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
MAX_FORM_BYTES = 8192
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Name = Annotated[str, Path(max_length=200)]
_store_lock = threading.Lock()


# --- sessions ------------------------------------------------------------------------------


def _store(request: Request) -> SessionStore:
    state = request.app.state
    with _store_lock:
        store = getattr(state, "web_sessions", None)
        if store is None:
            store = state.web_sessions = SessionStore(state.engine)
    return store


def _tokens(request: Request) -> Tokens:
    return request.app.state.tokens


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//` or `/\\` tricks, no controls."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value) or len(value) > 2000:
        return "/"
    return value


def session(request: Request) -> Session:
    """The caller's session, or a redirect to the login form (303 via HTTPException)."""
    if not _tokens(request).enabled:
        return OPEN
    found = _store(request).get(request.cookies.get(COOKIE))
    if found is not None:
        return found
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?next=" + quote(safe_next(target), safe="")
    raise HTTPException(status_code=303, detail="sign in first", headers={"Location": location})


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small; first value of each field)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status_code=415, detail="expected a form")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status_code=400, detail="malformed form") from None
    return {k: v[0] for k, v in fields.items()}


# --- login / logout ------------------------------------------------------------------------


def _login_form(request: Request, next_path: str, error: str | None, status: int) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = html(pages.login_page(csrf, next_path, error), status)
    response.set_cookie(
        LOGIN_COOKIE, csrf, max_age=900, path="/login", httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None):
    target = safe_next(next)
    if not _tokens(request).enabled or _store(request).get(request.cookies.get(COOKIE)):
        return RedirectResponse(target, status_code=303)
    return _login_form(request, target, None, 200)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    target = safe_next(form.get("next"))
    if not same(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        return _login_form(request, target, "The form expired; please sign in again.", 403)
    token = form.get("token") or ""
    tokens = _tokens(request)
    limiter, client = limiter_of(request), client_address(request)
    wait = limiter.retry_after(client)
    if wait is not None:  # the token is not even checked (throttle.py)
        message = f"Too many failed sign-ins from your address; try again in {wait} s."
        response = _login_form(request, target, message, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    scope = tokens.scope_of(token) if token and tokens.enabled else None
    if scope is None:
        if token:
            limiter.failed(client)
        return _login_form(request, target, "This token is not valid here.", 401)
    store = _store(request)
    store.drop(request.cookies.get(COOKIE))  # a fresh id on every login (no fixation)
    created = store.create(scope)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, created.id, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await _form(request)
    current = _store(request).get(request.cookies.get(COOKIE))
    if current is not None and not same(form.get("csrf"), current.csrf):
        raise HTTPException(status_code=403, detail="invalid CSRF token")
    if current is not None:
        _store(request).drop(current.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- pages ---------------------------------------------------------------------------------


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _settings(request: Request) -> Any:
    return request.app.state.settings


@router.get("/")
def overview(request: Request) -> Response:
    s = session(request)
    engine, settings = _engine(request), _settings(request)
    names = [m.name for m in settings.monitors]
    body = pages.overview_page(
        settings.monitors,
        run_reads.latest_runs(engine, names),
        run_reads.recent_runs(engine, names, 30),
        run_reads.firing_counts(engine),
        data.firing_alerts(engine),
        s.csrf,
    )
    return html(body)


@router.get("/monitors/{name}")
def monitor_page(request: Request, name: Name, calibrate: Annotated[bool, Query()] = False):
    s = session(request)
    m = next((x for x in _settings(request).monitors if x.name == name), None)
    if m is None:
        return html(pages.message_page("Not found", "No monitor with this name.", s.csrf), 404)
    engine, settings = _engine(request), _settings(request)
    runs, _ = run_reads.runs_page(engine, m.name, limit=50)
    reports = {x["id"] for x in runs if report_path(x["report_url"], settings.reports) is not None}
    body = monitor_view.monitor_page(
        m,
        last=run_reads.latest_runs(engine, [m.name]).get(m.name),
        reference_version=run_reads.reference_versions(engine, [m.name]).get(m.name),
        hm=dashboard.heatmap(engine, m.name),
        history=run_reads.recent_runs(engine, [m.name], 60)[m.name],
        perf=data.performance_history(engine, m.name),
        reference_perf=data.reference_performance(engine, m.name),
        estimates=data.estimate_history(engine, m.name),
        alerts=data.monitor_alerts(engine, m.name),
        runs=runs,
        reports=reports,
        csrf=s.csrf,
        deployment=overrides(engine, [m]).get(m.name),
        calibration_html=calibrate_view.section(engine, m, compute=calibrate),
        episodes=episodes_view.load(engine, m),
    )
    return html(body)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: RunId) -> Response:
    s = session(request)
    engine, settings = _engine(request), _settings(request)
    run = run_reads.run_detail(engine, run_id)
    if run is None:
        return _unfinished_run(engine, run_id, s)
    m = next((x for x in settings.monitors if x.name == run["monitor"]), None)
    body = run_view.run_page(
        run,
        dist=data.run_distributions(engine, run),
        has_report=report_path(run["report_url"], settings.reports) is not None,
        threshold=(run.get("summary") or {}).get("drift_share_threshold")
        or (m.drift.drift_share if m else None),
        csrf=s.csrf,
    )
    return html(body)


def _unfinished_run(engine: Any, run_id: int, s: Session) -> Response:
    flight = dashboard.run_in_flight(engine, run_id)
    if flight is None:
        return html(pages.message_page("Not found", "No run with this id.", s.csrf), 404)
    text = (
        f"Run {run_id} of {flight['monitor']} (window {pages.window_text(flight)} UTC) has been "
        f"running since {fmt_ts(flight['started_at'], seconds=True)} UTC; its results show "
        "here when it finishes."
    )
    return html(pages.message_page(f"Run {run_id} is running", text, s.csrf))


@router.get("/runs/{run_id}/report")
def run_report(request: Request, run_id: RunId) -> Response:
    """The stored report, sandboxed exactly like the API's report endpoint."""
    s = session(request)
    path = report_path(
        run_reads.report_url_of(_engine(request), run_id), _settings(request).reports
    )
    if path is None:
        return html(pages.message_page("Not found", "This run has no stored report.", s.csrf), 404)
    return FileResponse(path, media_type=REPORT_MEDIA_TYPE, headers=REPORT_HEADERS)


def _default_pair(monitors: list[Any]) -> tuple[str | None, str | None]:
    """The first two monitors of one model (versions or segments), else the first two."""
    for i, m in enumerate(monitors):
        for other in monitors[i + 1 :]:
            if other.model == m.model:
                return m.name, other.name
    names = [m.name for m in monitors]
    return (names[0] if names else None), (names[1] if len(names) > 1 else None)


def _chosen_pair(
    monitors: list[Any], a: str | None, b: str | None
) -> tuple[Any | None, Any | None, str | None]:
    """The two monitors to compare (a default pair, or a partner of the same model for `a`),
    and a note when they are not two different configured monitors (then one side is None)."""
    by_name = {m.name: m for m in monitors}
    if a is None and b is None:
        a, b = _default_pair(monitors)
    elif a is not None and b is None:
        b = next(
            (
                m.name
                for m in monitors
                if m.name != a and by_name.get(a) and m.model == by_name[a].model
            ),
            None,
        )
        b = b or next((m.name for m in monitors if m.name != a), None)
    ma, mb = by_name.get(a or ""), by_name.get(b or "")
    note = None
    if ma is None or mb is None:
        note = "Pick two configured monitors (for example two versions or segments of a model)."
    elif ma.name == mb.name:
        note, mb = "Pick two different monitors.", None
    return ma, mb, note


def _same_windows(
    runs_a: list[dict[str, Any]], runs_b: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of runs of A and B over the same window, in A's order."""
    b_by_window = {(x["window_start"], x["window_end"]): x for x in runs_b}
    return [
        (x, b_by_window[(x["window_start"], x["window_end"])])
        for x in runs_a
        if (x["window_start"], x["window_end"]) in b_by_window
    ]


@router.get("/compare")
def compare(
    request: Request,
    a: Annotated[str | None, Query(max_length=200)] = None,
    b: Annotated[str | None, Query(max_length=200)] = None,
    run: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    s = session(request)
    engine, settings = _engine(request), _settings(request)
    monitors = list(settings.monitors)
    ma, mb, note = _chosen_pair(monitors, a, b)
    empty: tuple[list[Any], list[Any]] = ([], [])
    if ma is None or mb is None:
        body = compare_view.compare_page(
            monitors, ma, mb, common=[], chosen=None, features=empty, perf=empty,
            reference_perf=(None, None), csrf=s.csrf, note=note,
        )  # fmt: skip
        return html(body)
    history = run_reads.recent_runs(engine, [ma.name, mb.name], 60)
    common = _same_windows(history[ma.name], history[mb.name])
    chosen = next((p for p in common if p[0]["id"] == run), None) if run else None
    if chosen is None and common:
        chosen = common[-1]
    rows = dashboard.feature_rows(engine, [chosen[0]["id"], chosen[1]["id"]]) if chosen else {}
    features = (rows.get(chosen[0]["id"], []), rows.get(chosen[1]["id"], [])) if chosen else empty
    body = compare_view.compare_page(
        monitors,
        ma,
        mb,
        common=common,
        chosen=chosen,
        features=features,
        perf=(
            data.performance_history(engine, ma.name, 60),
            data.performance_history(engine, mb.name, 60),
        ),
        reference_perf=(
            data.reference_performance(engine, ma.name),
            data.reference_performance(engine, mb.name),
        ),
        csrf=s.csrf,
        note=note,
        versions=compare_view.version_comparison(engine, ma, mb, chosen),
    )
    return html(body)


# --- static assets (no session: nothing in them is data) -----------------------------------


@router.get(static.CSS_URL)
def css() -> Response:
    return Response(static.CSS, media_type="text/css; charset=utf-8", headers=IMMUTABLE)


@router.get(static.JS_URL)
def js() -> Response:
    return Response(static.JS, media_type="text/javascript; charset=utf-8", headers=IMMUTABLE)


@router.get("/static/plotly-{version}.min.js")
def plotly(version: Annotated[str, Path(max_length=40)]) -> Response:
    if version != static.plotly_version():
        raise HTTPException(status_code=404, detail="unknown plotly.js version")
    return Response(
        static.plotly_js(), media_type="text/javascript; charset=utf-8", headers=IMMUTABLE
    )
