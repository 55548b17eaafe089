"""/api/v1/monitors/{name}/estimates: each window's estimated performance and its band.

Read from `window_estimates` (`storage.estimators`), one item per window and estimator,
newest window first; `realised` is filled in beside the estimate once the window's labels
arrived, with `gap` (realised − estimate), `abs_gap` and `covered` (did the band hold it;
`performance.estimation.gap`) (issue #15 item 5).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from monitor.access.auth import require_read
from monitor.api.deps import ERRORS, NOT_FOUND, engine_of, monitor_or_404, settings_of
from monitor.api.schemas import EstimatedMetricOut, EstimateList, WindowEstimateOut
from monitor.performance.estimation.gap import metric_gap
from monitor.storage.estimators import WindowEstimateRow, window_estimate_rows

router = APIRouter(prefix="/monitors", tags=["monitors"], responses=ERRORS)
Name = Annotated[str, Path(description="A monitor name from the config.", max_length=200)]
FIELDS = ("value", "lower", "upper", "sampling_error", "reference_error", "realised")


def number(value: Any) -> float | None:
    """A stored number as a float; anything else (None, a string) as None."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def metric_out(name: str, doc: Any, window: dict[str, Any] | None = None) -> EstimatedMetricOut:
    """One metric of a stored estimate document (missing fields as None), with its gap once
    the realised value is there (`window`: the whole stored document)."""
    doc = doc if isinstance(doc, dict) else {}
    reason = doc.get("reason")
    g = metric_gap(window, name) if window is not None else None
    return EstimatedMetricOut(
        name=name,
        reason=reason if isinstance(reason, str) else None,
        gap=None if g is None else g.gap,
        abs_gap=None if g is None else abs(g.gap),
        covered=None if g is None else g.covered,
        **{k: number(doc.get(k)) for k in FIELDS},
    )


def window_out(row: WindowEstimateRow) -> WindowEstimateOut:
    """A stored window estimate as the API shows it."""
    doc = row.estimate
    metrics = doc.get("metrics") or {}
    task = doc.get("task")
    return WindowEstimateOut(
        window_start=row.window_start,
        window_end=row.window_end,
        method=str(doc.get("method", "")),
        task=task if isinstance(task, str) else None,
        rows=row.rows,
        labelled=int(lab) if (lab := number(doc.get("labelled"))) is not None else None,
        computed_at=row.computed_at,
        metrics=[metric_out(k, v, doc) for k, v in metrics.items()],
        notes=[str(n) for n in doc.get("notes") or []],
    )


@router.get(
    "/{name}/estimates",
    response_model=EstimateList,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def list_estimates(
    request: Request,
    name: Name,
    limit: Annotated[int, Query(ge=1, le=500, description="Windows (at most 500).")] = 50,
) -> EstimateList:
    """Estimated performance per window, newest first: each metric's estimate with its band
    (lower, upper, sampling_error) and, where the labels arrived, the realised value."""
    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    limit = min(limit, settings_of(request).api.max_page_size)
    rows = window_estimate_rows(engine, m.name, limit=limit)
    return EstimateList(monitor=m.name, items=[window_out(r) for r in rows])
