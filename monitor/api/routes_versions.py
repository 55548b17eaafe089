"""/api/v1/models/{model}/versions/compare: champion and challenger on the same window.

Each version's labelled rows (`storage.version_reads`) compared by `performance.versions`
(McNemar / two-proportion test, bootstrap intervals of B − A), and each version's drift: the
finished run over exactly this window of every monitor that watches the version.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import AwareDatetime

from monitor.access.auth import require_read
from monitor.api.deps import BAD_INPUT, ERRORS, NOT_FOUND, engine_of, settings_of
from monitor.api.schemas import NO_NUL, RunBrief, VersionCompareOut, VersionDriftOut
from monitor.performance.versions import compare_versions
from monitor.settings import MonitorSettings
from monitor.storage import run_reads
from monitor.storage.db import Engine
from monitor.storage.version_reads import load_version_rows

router = APIRouter(prefix="/models", tags=["models"], responses=ERRORS)
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_SPAN = timedelta(days=31)  # one comparison loads every labelled row of the window


def window_or_400(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC; 400 unless start < end, both after 1970-01-02 and the span at
    most 31 days."""
    try:
        lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status_code=400, detail="window bounds out of range") from exc
    if not EARLIEST <= lo < hi <= LATEST:
        raise HTTPException(status_code=400, detail="need 1970-01-02 <= start < end <= 9000")
    if hi - lo > MAX_SPAN:
        raise HTTPException(status_code=400, detail="the window spans more than 31 days")
    return lo, hi


def version_drift(
    engine: Engine, monitors: list[MonitorSettings], start: datetime, end: datetime
) -> list[VersionDriftOut]:
    """Each monitor's finished run over exactly [start, end) (None when it has none)."""
    out = []
    for m in monitors:
        rows, _ = run_reads.runs_page(engine, m.name, since=end, limit=20)
        run = next((x for x in rows if x["window_start"] == start and x["window_end"] == end), None)
        out.append(
            VersionDriftOut(
                monitor=m.name,
                version=str(m.model_version),
                run=RunBrief(**run) if run else None,
            )
        )
    return out


@router.get(
    "/{model}/versions/compare",
    response_model=VersionCompareOut,
    dependencies=[Depends(require_read)],
    responses={**NOT_FOUND, **BAD_INPUT},
)
def compare(
    request: Request,
    model: Annotated[str, Path(description="A model some monitor watches.", max_length=200)],
    a: Annotated[
        str, Query(min_length=1, max_length=200, pattern=NO_NUL, description="Version A.")
    ],
    b: Annotated[
        str, Query(min_length=1, max_length=200, pattern=NO_NUL, description="Version B.")
    ],
    start: Annotated[AwareDatetime, Query(description="Window start (inclusive).")],
    end: Annotated[AwareDatetime, Query(description="Window end (exclusive).")],
    design: Annotated[
        Literal["paired", "unpaired"] | None,
        Query(description="Default: paired when the versions scored common event ids."),
    ] = None,
) -> VersionCompareOut:
    """Realised performance of version B against A on the predictions of one window, with
    the accuracy test and bootstrap intervals, and each version's drift runs there."""
    engine, settings = engine_of(request), settings_of(request)
    watching = [m for m in settings.monitors if m.model == model]
    if not watching:
        raise HTTPException(status_code=404, detail="no monitor watches this model")
    if a == b:
        raise HTTPException(status_code=400, detail="a and b name the same version")
    lo, hi = window_or_400(start, end)
    rows_a = load_version_rows(engine, model, a, lo, hi)
    rows_b = load_version_rows(engine, model, b, lo, hi)
    result = compare_versions(rows_a, rows_b, design=design).to_dict()
    mons = [m for m in watching if m.model_version in (a, b)]
    return VersionCompareOut(
        model=model,
        window_start=lo,
        window_end=hi,
        drift=version_drift(engine, mons, lo, hi),
        **result,
    )
