"""Evidently's data-drift report as a standalone HTML string, made safe to embed.

Evidently 0.7 writes its dashboard data as `var metric_<id> = <json>;` lines inside a
<script> with plain `json.dumps`, so a category value holding `</script>` ends that element
and becomes markup inside its page. We harden exactly those single-line JSON assignments
(json.dumps never emits a raw newline) before the page is sandboxed in our iframe.

Evidently is a second opinion, not the verdict: any failure on odd data (an all-missing
column, unsupported dtypes) becomes an `EvidentlyResult` with the error type, never an
exception that would lose our own report.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from monitor.reports.escape import harden_json

log = logging.getLogger("monitor.reports")

_DATA_LINE = re.compile(
    r"^(?P<head>\s*var (?:additional_graphs_)?metric_[0-9a-f]{32} = )(?P<json>.*)$", re.M
)


@dataclass(frozen=True)
class EvidentlyResult:
    """Evidently's HTML page (hardened), or why it could not be computed."""

    html: str | None
    error_type: str | None = None
    error: str | None = None


def harden_evidently_html(page: str) -> str:
    """Escape `<`, `>`, `&` inside Evidently's embedded dashboard JSON lines."""
    return _DATA_LINE.sub(lambda m: m["head"] + harden_json(m["json"]), page)


def _definition(columns: Sequence[str], kinds: Mapping[str, str] | None):
    """An explicit DataDefinition when every column's kind is known; else Evidently infers."""
    from evidently import DataDefinition

    if not kinds or any(c not in kinds for c in columns):
        return None
    return DataDefinition(
        numerical_columns=[c for c in columns if kinds[c] == "numeric"],
        categorical_columns=[c for c in columns if kinds[c] != "numeric"],
    )


def evidently_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str] | None = None,
    drift_share: float | None = None,
) -> EvidentlyResult:
    """Run Evidently's DataDriftPreset on `columns`; never raises for Evidently's failures.

    `drift_share` (our dataset threshold) keeps Evidently's dataset verdict comparable;
    its per-column tests and thresholds are Evidently's own defaults.
    """
    try:
        from evidently import Dataset, Report
        from evidently.presets import DataDriftPreset

        cols = list(columns)
        ref = reference.loc[:, cols]
        cur = current.loc[:, cols]
        definition = _definition(cols, kinds)
        kw = {"data_definition": definition} if definition is not None else {}
        preset = (
            DataDriftPreset() if drift_share is None else DataDriftPreset(drift_share=drift_share)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snapshot = Report([preset]).run(
                Dataset.from_pandas(cur, **kw), Dataset.from_pandas(ref, **kw)
            )
            page = snapshot.get_html_str(as_iframe=False)
    except Exception as exc:  # Evidently's failure must not lose our report
        message = (str(exc).splitlines() or [""])[0][:300]
        log.warning("evidently_failed", extra={"error_type": type(exc).__name__})
        return EvidentlyResult(None, type(exc).__name__, message)
    return EvidentlyResult(harden_evidently_html(page))
