"""Reading the REFERENCE/CURRENT files shared by `monitor drift` and `monitor report`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from monitor.errors import InputError


def quiet_scipy_notes() -> None:
    """Hide scipy's documented notes (exact KS falling back to asymptotic, Anderson–Darling
    p-value capped): on a terminal or in CI logs they only look like failures."""
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="scipy")
    warnings.filterwarnings("ignore", message="p-value capped", category=UserWarning)


def parse_columns(columns: str | None) -> list[str] | None:
    """`--columns a,b` as a list (None: every column); InputError when it names none."""
    if columns is None:
        return None
    names = [c.strip() for c in columns.split(",") if c.strip()]
    if not names:
        raise InputError("--columns names no column")
    return names


def read_inputs(reference: Path, current: Path, columns: str | None) -> tuple[Any, Any, Any]:
    """(reference frame, current frame, selected column names or None) from two files."""
    from monitor.drift.frames import read_frame

    names = parse_columns(columns)
    return read_frame(reference, names), read_frame(current, names), names
