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
from monitor.api.schemas import NO_NUL, RunBrief
from monitor.api.schemas_versions import VersionCompareOut, VersionDriftOut
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


def versions_or_400(
    watching: list[MonitorSettings], a: str | None, b: str | None
) -> tuple[str, str]:
    """A and B as given, a missing one from the versions the model's monitors watch."""
    configured = list(dict.fromkeys(m.model_version for m in watching if m.model_version))
    if a is None:
        a = next((v for v in configured if v != b), None)
    if b is None:
        b = next((v for v in configured if v != a), None)
    if a is None or b is None:
        raise HTTPException(
            status_code=400, detail="give a and b: the model's monitors name fewer versions"
        )
    if a == b:
        raise HTTPException(status_code=400, detail="a and b name the same version")
    return a, b


def newest_window_or_400(
    engine: Engine, monitors: list[MonitorSettings]
) -> tuple[datetime, datetime]:
    """The window of the newest finished run of the versions' monitors."""
    latest = run_reads.latest_runs(engine, [m.name for m in monitors])
    if not latest:
        raise HTTPException(
            status_code=400, detail="no finished run of these versions: give start and end"
        )
    newest = max(latest.values(), key=lambda r: (r["window_end"], r["id"]))
    return newest["window_start"], newest["window_end"]


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
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=NO_NUL,
            description="Version A (default: the first version a monitor of the model watches).",
        ),
    ] = None,
    b: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=NO_NUL,
            description="Version B (default: the next configured version).",
        ),
    ] = None,
    start: Annotated[
        AwareDatetime | None,
        Query(description="Window start, inclusive (default: the newest run's window of A or B)."),
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="Window end, exclusive.")] = None,
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
    a, b = versions_or_400(watching, a, b)
    mons = [m for m in watching if m.model_version in (a, b)]
    if start is None and end is None:
        start, end = newest_window_or_400(engine, mons)
    elif start is None or end is None:
        raise HTTPException(status_code=400, detail="give both start and end, or neither")
    lo, hi = window_or_400(start, end)
    rows_a = load_version_rows(engine, model, a, lo, hi)
    rows_b = load_version_rows(engine, model, b, lo, hi)
    result = compare_versions(rows_a, rows_b, design=design).to_dict()
    return VersionCompareOut(
        model=model,
        window_start=lo,
        window_end=hi,
        drift=version_drift(engine, mons, lo, hi),
        **result,
    )
