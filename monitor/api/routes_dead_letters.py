"""/api/v1/dead-letters: rejected messages per reason and the newest samples.

A sample's raw bytes are whatever a producer sent: returned exactly as base64 and, for
reading, as a preview in which undecodable bytes are \\xNN escapes (JSON-encoded like every
other string, so nothing in them is interpreted).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.access.auth import require_admin, require_read
from monitor.api import queries
from monitor.api.deps import ERRORS, engine_of, settings_of
from monitor.api.schemas import DeadLetters, DeadLetterSample
from monitor.errors import InputError
from monitor.events import REASONS
from monitor.storage.queries import dead_letter_counts

router = APIRouter(prefix="/dead-letters", tags=["dead letters"], responses=ERRORS)
PREVIEW_BYTES = 512


def preview(raw: bytes) -> str:
    return raw[:PREVIEW_BYTES].decode("utf-8", errors="backslashreplace")


@router.get("", response_model=DeadLetters, dependencies=[Depends(require_read)])
def dead_letters(
    request: Request, samples: Annotated[int, Query(ge=0, le=100)] = 10
) -> DeadLetters:
    """Counts per rejection reason (every known reason, 0 included) and the newest samples."""
    engine = engine_of(request)
    counts = dict.fromkeys(sorted(REASONS), 0) | dead_letter_counts(engine)
    rows = queries.dead_letter_samples(engine, samples) if samples else []
    return DeadLetters(
        total=sum(counts.values()),
        counts=counts,
        samples=[
            DeadLetterSample(
                **{k: v for k, v in row.items() if k != "raw"},
                raw_bytes=len(row["raw"]),
                raw_preview=preview(bytes(row["raw"])),
                raw_base64=base64.b64encode(bytes(row["raw"])).decode(),
            )
            for row in rows
        ],
    )


DeadLetterId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        None, description=f"Only dead letters with this reason ({', '.join(sorted(REASONS))})."
    )
    ids: list[DeadLetterId] | None = Field(None, max_length=10_000, description="Only these ids.")
    dry_run: bool = Field(False, description="Report the verdicts, change nothing.")

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, reason: str | None) -> str | None:
        if reason is not None and reason not in REASONS:
            raise ValueError(f"unknown reason; expected one of {', '.join(sorted(REASONS))}")
        return reason


class ReplayOutcomeOut(BaseModel):
    id: int
    outcome: str = Field(description="accepted | rejected | truncated")
    old_reason: str
    reason: str | None
    detail: str | None


class ReplayOut(BaseModel):
    dry_run: bool
    accepted: int
    rejected: int
    truncated: int
    predictions_stored: int
    labels_stored: int
    duplicates: int
    outcomes: list[ReplayOutcomeOut]


@router.post(
    "/replay",
    response_model=ReplayOut,
    dependencies=[Depends(require_admin)],
    responses={404: {"description": "an id does not exist"}},
)
def replay(request: Request, body: Annotated[ReplayIn | None, Body()] = None) -> ReplayOut:
    """Validate stored dead letters again with the current config (after a fix): what parses
    now is stored (idempotently) and leaves the dead-letter table; what still fails stays,
    with its new reason. Same code as `monitor dead-letters replay`."""
    from monitor.ingest.consumer import parse_rules
    from monitor.replay import replay_dead_letters

    body = body or ReplayIn()
    try:
        report = replay_dead_letters(
            engine_of(request),
            parse_rules(settings_of(request)),
            reason=body.reason,
            ids=body.ids,
            dry_run=body.dry_run,
        )
    except InputError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return ReplayOut(
        dry_run=report.dry_run,
        accepted=report.count("accepted"),
        rejected=report.count("rejected"),
        truncated=report.count("truncated"),
        predictions_stored=report.predictions_stored,
        labels_stored=report.labels_stored,
        duplicates=report.duplicates,
        outcomes=[
            ReplayOutcomeOut(
                id=o.id, outcome=o.outcome, old_reason=o.old_reason, reason=o.reason,
                detail=o.detail,
            )
            for o in report.outcomes
        ],
    )  # fmt: skip
