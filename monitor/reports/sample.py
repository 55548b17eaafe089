"""Seeded row sampling for the Evidently section (its cost grows with rows, ours does not).

Each side larger than `max_rows` is cut to `max_rows` rows drawn without replacement from
one seeded generator (reference first, then current), kept in their original order, so a
report is reproducible from its inputs and seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Sampled:
    """A side of the comparison as used by Evidently, and how many rows it came from."""

    frame: pd.DataFrame
    total_rows: int

    @property
    def sampled(self) -> bool:
        return len(self.frame) < self.total_rows


def sample_pair(
    reference: pd.DataFrame, current: pd.DataFrame, max_rows: int, seed: int
) -> tuple[Sampled, Sampled]:
    """Both sides, each cut to at most `max_rows` rows (seeded, without replacement)."""
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    rng = np.random.default_rng(seed)
    return _one(reference, max_rows, rng), _one(current, max_rows, rng)


def _one(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> Sampled:
    n = len(frame)
    if n <= max_rows:
        return Sampled(frame, n)
    rows = np.sort(rng.choice(n, size=max_rows, replace=False))
    return Sampled(frame.iloc[rows].reset_index(drop=True), n)


def sampling_note(reference: Sampled, current: Sampled) -> str | None:
    """The sentence stating the sampling, or None when Evidently saw every row."""
    parts = [
        f"{len(side.frame):,} of {side.total_rows:,} {label} rows"
        for label, side in (("reference", reference), ("current", current))
        if side.sampled
    ]
    if not parts:
        return None
    return f"Evidently section computed on a sample of {' and '.join(parts)}."
