"""/api/v1/dead-letters: rejected messages per reason and the newest samples.

A sample's raw bytes are whatever a producer sent: returned exactly as base64 and, for
reading, as a preview in which undecodable bytes are \\xNN escapes (JSON-encoded like every
other string, so nothing in them is interpreted).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from monitor.api import queries
from monitor.api.auth import require_read
from monitor.api.deps import ERRORS, engine_of
from monitor.api.schemas import DeadLetters, DeadLetterSample
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
