"""/api/v1/runs/{id}: one run with every per-feature result, and its stored HTML report
(served as monitor.reports.serve says: only from inside `reports.directory`, sandboxed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from monitor.access.auth import require_read
from monitor.api.deps import ERRORS, NOT_FOUND, engine_of, settings_of
from monitor.api.schemas import FeatureResultOut, PerformanceOut, RunDetail
from monitor.reports.serve import REPORT_HEADERS, REPORT_MEDIA_TYPE, report_path
from monitor.storage import run_reads

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)
RunId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


@router.get(
    "/{run_id}",
    response_model=RunDetail,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_run(request: Request, run_id: RunId) -> RunDetail:
    """A finished run: verdict, per-feature results, data quality, performance, report link."""
    row = run_reads.run_detail(engine_of(request), run_id)
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
    url = run_reads.report_url_of(engine_of(request), run_id)
    path = report_path(url, settings_of(request).reports)
    if path is None:
        raise HTTPException(status_code=404, detail="this run has no stored report")
    return FileResponse(path, media_type=REPORT_MEDIA_TYPE, headers=REPORT_HEADERS)
