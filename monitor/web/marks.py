"""POST /alerts/{id}/mark: the dashboard's form to mark an alert a false alarm or a true one.

Like every dashboard form: a signed-in session (admin scope; with no token configured the
dashboard is open like the API) and its CSRF token in the form. The mark is stored by
`monitor.storage.alert_marks` (also an `alert_events` row), then the browser goes back to
the monitor's alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from monitor.storage.alert_marks import VERDICTS, mark_alert
from monitor.web import pages
from monitor.web.html import seg
from monitor.web.routes import _form, _tokens, html, session
from monitor.web.sessions import same

router = APIRouter(include_in_schema=False)
MAX_NOTE = 1000


@router.post("/alerts/{alert_id}/mark")
async def mark(request: Request, alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    s = session(request)
    form = await _form(request)
    if _tokens(request).enabled and not same(form.get("csrf"), s.csrf):
        raise HTTPException(status_code=403, detail="invalid CSRF token")
    if s.scope not in (None, "admin"):
        text = "Marking alerts needs an admin token; sign in with one."
        return html(pages.message_page("Not allowed", text, s.csrf), 403)
    verdict = form.get("verdict")
    if verdict not in VERDICTS:
        return html(pages.message_page("Bad form", "Choose false or true alarm.", s.csrf), 400)
    note = (form.get("note") or "").replace("\x00", "").strip()[:MAX_NOTE] or None
    by = "dashboard (admin)" if s.scope == "admin" else "dashboard"
    found = mark_alert(request.app.state.engine, alert_id, verdict, datetime.now(UTC), by, note)
    if found is None:
        return html(pages.message_page("Not found", "No alert with this id.", s.csrf), 404)
    return RedirectResponse(f"/monitors/{seg(found.monitor)}#alerts", status_code=303)
