"""The anchors of bench/alarms.py: Evidently's DataDriftPreset and NannyML's univariate drift.

- **Evidently** (`evidently_columns`): the preset's per-column decision with its defaults,
  by Evidently's own code: `evidently.legacy.calculations.stattests.get_stattest` picks the
  test exactly as the preset does (reference <= 1,000 rows: KS p < 0.05 for numerics with
  more than 5 values, chi-square goodness of fit / z-test for the others; above: normed
  Wasserstein >= 0.1, Jensen-Shannon >= 0.1 for <= 5 values and categoricals) and its
  implementation decides; NaN and inf are dropped first, as the preset does. The dataset
  alarm is the preset's `DriftedColumnsCount(drift_share=0.5)`: half the columns or more.
  The full `Report([DataDriftPreset()]).run` costs 20-60 s per window on this shared box,
  so it runs only on the pin windows (`evidently_report_columns`), whose per-column
  verdicts must be the same.
- **NannyML** 0.13 (`nannyml_alerts`): `UnivariateDriftCalculator` with its defaults
  (Jensen-Shannon for every column, `StandardDeviationThreshold`: mean + 3 sd of the
  statistic over the reference's chunks), chunk size = the window size, so that each
  analysis chunk is one window. Runs in its own venv (bench/drift.py's `peer_python`,
  child script bench/peers/run_alarm_nannyml.py): once per draw on the healthy stream (all
  columns), and on each shifted stream for the shifted column alone (a univariate
  calculator: the other columns' alerts are the healthy stream's at the same window).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _alarm_tables import SHIFT_AT

HERE = Path(__file__).resolve().parent
NANNYML_CHILD = HERE / "peers" / "run_alarm_nannyml.py"


def _column_type(values: pd.Series):
    from evidently.legacy.core import ColumnType

    return ColumnType.Numerical if values.dtype.kind in "fiu" else ColumnType.Categorical


def evidently_column(ref: pd.Series, cur: pd.Series) -> bool:
    """Evidently's preset verdict for one column (default test and threshold)."""
    from evidently.legacy.calculations.stattests import get_stattest

    r = ref.replace([-np.inf, np.inf], np.nan).dropna()
    c = cur.replace([-np.inf, np.inf], np.nan).dropna()
    if r.empty or c.empty:
        return False
    kind = _column_type(ref)
    test = get_stattest(r, c, kind, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(test(r, c, kind, None).drifted)


def evidently_columns(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, bool]:
    return {name: evidently_column(ref[name], cur[name]) for name in ref.columns}


def evidently_dataset(columns: dict[str, bool]) -> bool:
    """The preset's dataset drift: the share of drifted columns >= 0.5."""
    return sum(columns.values()) >= 0.5 * len(columns)


def evidently_report_columns(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, bool]:
    """The same verdicts from the full `Report([DataDriftPreset()])` (the pin)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    out = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = metric["value"], config["threshold"]
            is_p = "p_value" in config["method"].lower()
            out[config["column"]] = bool((value < threshold) if is_p else (value >= threshold))
    return out


def nannyml_inputs(
    d: Path, ref: pd.DataFrame, healthy: pd.DataFrame, shifted: dict, m: int
) -> None:
    """Write one draw's input for the NannyML child: `healthy` is the healthy windows one
    after the other (m rows each); `shifted` maps a key to (column, its shifted values)."""
    d.mkdir(parents=True, exist_ok=True)
    ref.to_parquet(d / "reference.parquet")
    healthy.reset_index(drop=True).to_parquet(d / "healthy.parquet")
    cols = {f"s{i}": pd.Series(v[1]).to_numpy() for i, v in enumerate(shifted.values())}
    pd.DataFrame(cols).to_parquet(d / "shifted.parquet")
    meta = {f"s{i}": [key, col] for i, (key, (col, _)) in enumerate(shifted.items())}
    (d / "meta.json").write_text(json.dumps({"m": m, "shifted": meta}))


def nannyml_alerts(dirs: list[Path], timeout: float = 1500) -> dict | str:
    """Per DIR: NannyML's alerted columns per healthy window ("healthy": list of lists) and,
    per shifted key, whether its column alerted per window. One child process for all
    DIRs. An error line (str) when NannyML's venv cannot be built or the child fails."""
    from drift import peer_python

    python = peer_python("nannyml")
    if isinstance(python, str):
        return python
    done = subprocess.run(
        [str(python), str(NANNYML_CHILD), *map(str, dirs)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        print(f"nannyml child failed: {lines[-1][:200]}", file=sys.stderr, flush=True)
        return f"nannyml failed: {lines[-1][:160]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def nannyml_rule(draw: dict, alerts: dict) -> None:
    """The NannyML row of one draw from the child's alerts: a window alarms when any column
    alerts; in a shifted window the shifted column's own alert replaces its healthy one."""
    rule = "NannyML ±3σ"
    healthy = alerts["healthy"]
    draw["healthy"][rule] = [bool(cols) for cols in healthy]
    for (column, how), (fired, _) in draw["shifted"].items():
        moved = alerts[f"{column}|{how}"]
        fired[rule] = [bool(c) for c in healthy[:SHIFT_AT]] + [
            moved[i] or bool(set(healthy[SHIFT_AT + i]) - {column}) for i in range(len(moved))
        ]
