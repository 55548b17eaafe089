"""What a performance evaluation produces and what is stored of it (pure types).

`PerformanceResult` is one window evaluated overall, per model version and per segment value
(`evaluate.py`); `metrics_doc` / `segments_doc` are the JSON documents stored in
`performance_runs` (`storage/performance_runs.py`), which returns them as `StoredRun`s.
A group whose evaluated rows are fewer than `min_rows` is `insufficient_labels` (one with
none `no_labels`): reported with its counts and a reason, without metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.performance.columns import json_safe, python_value
from monitor.performance.compute import Metrics, TaskKind
from monitor.performance.labelled import Coverage, LabelDelay

DEFAULT_MIN_ROWS = 50
MAX_SEGMENT_VALUES = 50  # per segment key, the most frequent values; the rest are counted

GroupStatus = Literal["ok", "insufficient_labels", "no_labels"]


@dataclass(frozen=True)
class GroupResult:
    """One group's counts, status and (when status is ok) metrics."""

    predictions: int
    labelled: int
    evaluated: int  # labelled rows with a prediction
    status: GroupStatus
    metrics: Metrics | None = None
    reason: str | None = None

    @property
    def coverage(self) -> float | None:
        return self.labelled / self.predictions if self.predictions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictions": self.predictions,
            "labelled": self.labelled,
            "evaluated": self.evaluated,
            "coverage": json_safe(self.coverage),
            "status": self.status,
            "reason": self.reason,
            "metrics": None if self.metrics is None else self.metrics.to_dict(),
        }


@dataclass(frozen=True)
class SliceResult:
    """A model version (`key` None) or one value of a segment key."""

    key: str | None
    value: str | None
    result: GroupResult

    def to_dict(self) -> dict[str, Any]:
        out = {"key": self.key, "value": self.value} if self.key is not None else {}
        if self.key is None:
            out = {"model_version": self.value}
        return out | self.result.to_dict()


@dataclass(frozen=True)
class PerformanceResult:
    monitor: str
    model: str
    window_start: datetime
    window_end: datetime
    computed_at: datetime
    task: TaskKind
    classes: tuple[Any, ...] | None
    positive_class: Any
    min_rows: int
    overall: GroupResult
    label_delay: LabelDelay
    versions: tuple[SliceResult, ...]
    segments: tuple[SliceResult, ...]
    segments_omitted: int  # segment values beyond MAX_SEGMENT_VALUES per key
    labels_received_max: datetime | None

    @property
    def predictions(self) -> int:
        return self.overall.predictions

    @property
    def labelled(self) -> int:
        return self.overall.labelled

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.overall.predictions, self.overall.labelled)

    @property
    def status(self) -> Literal["succeeded", "insufficient_labels"]:
        """The performance_runs status: metrics usable or not."""
        return "succeeded" if self.overall.status == "ok" else "insufficient_labels"

    def metrics_doc(self) -> dict[str, Any]:
        """The `performance_runs.metrics` document (JSON-safe)."""
        received = self.labels_received_max
        return {
            "task": self.task,
            "classes": None if self.classes is None else [python_value(c) for c in self.classes],
            "positive_class": python_value(self.positive_class),
            "min_rows": self.min_rows,
            "overall": self.overall.to_dict(),
            "coverage": self.coverage.to_dict(),
            "label_delay": self.label_delay.to_dict(),
            "versions": [v.to_dict() for v in self.versions],
            "segments_omitted": self.segments_omitted,
            "labels_received_max": None if received is None else received.isoformat(),
        }

    def segments_doc(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.segments]

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "model": self.model,
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "computed_at": self.computed_at.isoformat(),
            "status": self.status,
            **self.metrics_doc(),
            "segments": self.segments_doc(),
        }


@dataclass(frozen=True)
class StoredRun:
    """One performance_runs row; `created` is False when nothing new was stored."""

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    revision: int
    status: str
    predictions: int
    labelled: int
    metrics: dict[str, Any] | None
    segments: list[dict[str, Any]] | None
    computed_at: datetime
    created: bool = False

    @property
    def coverage(self) -> float | None:
        """Share of the window's predictions that have a label (None without predictions)."""
        return self.labelled / self.predictions if self.predictions else None


__all__ = [
    "DEFAULT_MIN_ROWS",
    "MAX_SEGMENT_VALUES",
    "GroupResult",
    "GroupStatus",
    "PerformanceResult",
    "SliceResult",
    "StoredRun",
]
