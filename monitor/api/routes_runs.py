"""/api/v1/runs/{id}: one run with every per-feature result, and its stored HTML report.

The report is served only from inside `reports.directory`: its stored link (a file:// URI or
`reports.base_url` + file name) is resolved and must land on a file in that directory, so a
tampered link cannot read anything else. It goes out with `Content-Security-Policy: sandbox
allow-scripts`: the page's charts run, but in an opaque origin that cannot call this API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from monitor.access.auth import require_read
from monitor.api import queries
from monitor.api.deps import ERRORS, NOT_FOUND, engine_of, settings_of
from monitor.api.schemas import FeatureResultOut, PerformanceOut, RunDetail
from monitor.settings import ReportSettings

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)
RunId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
REPORT_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def report_path(url: str | None, reports: ReportSettings) -> Path | None:
    """The stored report file a run's link names, if it is a file inside reports.directory."""
    if not url:
        return None
    base = Path(reports.directory).resolve()
    prefix = (reports.base_url or "").rstrip("/") + "/"
    if reports.base_url and url.startswith(prefix):
        name = unquote(url[len(prefix) :])
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            return None
        candidate = base / name
    elif url.startswith("file:"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        candidate = Path(url2pathname(parsed.path))
    else:
        return None
    try:
        target = candidate.resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


@router.get(
    "/{run_id}",
    response_model=RunDetail,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_run(request: Request, run_id: RunId) -> RunDetail:
    """A finished run: verdict, per-feature results, data quality, performance, report link."""
    row = queries.run_detail(engine_of(request), run_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no finished run with this id")
    features = [FeatureResultOut(**f) for f in row.pop("features")]
    perf = row.pop("performance")
    has_report = report_path(row["report_url"], settings_of(request).reports) is not None
    return RunDetail(
        **row,
        features=features,
        performance=PerformanceOut(**perf) if perf else None,
        report=f"/api/v1/runs/{run_id}/report" if has_report else None,
    )


@router.get(
    "/{run_id}/report",
    dependencies=[Depends(require_read)],
    response_class=FileResponse,
    responses={
        **NOT_FOUND,
        200: {"content": {"text/html": {}}, "description": "The run's HTML report."},
    },
)
def get_report(request: Request, run_id: RunId) -> FileResponse:
    """The run's stored HTML report, sandboxed (CSP `sandbox allow-scripts`)."""
    url = queries.report_url_of(engine_of(request), run_id)
    path = report_path(url, settings_of(request).reports)
    if path is None:
        raise HTTPException(status_code=404, detail="this run has no stored report")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)
