"""Deterministic frames whose `compare` outputs are pinned in data/engine_golden.json.

The golden file was written by the engine as it was before the issue-12 speed work
(commit 2b373e9), so a faster engine must reproduce its numbers. Regenerate it only when a
statistic's definition changes on purpose:

    .venv/bin/python tests/drift/engine_golden_cases.py --write

Cases: benchmark-like frames (normal, lognormal, uniform numerics, some shifted; string
categoricals with shifted mixes) at sizes that take each KS p-value path (exact up to
10,000 rows, asymptotic above) and each default method (p-value tests up to 1,000 rows,
distances above), plus edge cases: constant columns, all-missing sides, one and two rows,
heavy ties, ±inf, unseen and vanished categories, booleans, pandas categoricals, low
cardinality integers, and option variants (extra tests, a global method, per-feature
overrides, other bins).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from monitor.drift.engine import compare
from monitor.drift.options import DriftOptions, FeatureOptions

GOLDEN = Path(__file__).resolve().parent / "data" / "engine_golden.json"


def bench_like(n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six numerics (two shifted), three string categoricals (one shifted), some missing."""
    rng = np.random.default_rng(seed)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    ref["normal"], cur["normal"] = rng.normal(10, 1, n_ref), rng.normal(10, 1, n_cur)
    ref["normal_shift"], cur["normal_shift"] = rng.normal(10, 1, n_ref), rng.normal(10.3, 1, n_cur)
    ref["lognormal"], cur["lognormal"] = rng.lognormal(0, 1, n_ref), rng.lognormal(0, 1.25, n_cur)
    ref["uniform"], cur["uniform"] = rng.uniform(0, 1, n_ref), rng.uniform(0, 1, n_cur)
    ref["neg_mixed"], cur["neg_mixed"] = rng.normal(0, 1, n_ref), rng.normal(0, 1.1, n_cur)
    # rounded: many ties across and within sides
    ref["rounded"] = np.round(rng.normal(0, 3, n_ref), 1)
    cur["rounded"] = np.round(rng.normal(0.1, 3, n_cur), 1)
    for frame, n in ((ref, n_ref), (cur, n_cur)):
        holes = rng.random(n) < 0.02
        frame["normal"] = np.where(holes, np.nan, frame["normal"])
    for name, k, shift in (("cat_05", 5, True), ("cat_20", 20, False), ("cat_45", 45, False)):
        p = rng.dirichlet(np.full(k, 2.0))
        q = np.sort(p)[np.argsort(np.argsort(-p))] if shift else p
        labels = np.array([f"{k:02d}_{j:02d}" for j in range(k)], dtype=object)
        ref[name] = labels[rng.choice(k, size=n_ref, p=p)]
        cur[name] = labels[rng.choice(k, size=n_cur, p=q)]
    r, c = pd.DataFrame(ref), pd.DataFrame(cur)
    r.loc[r.index[::97], "cat_20"] = None
    return r, c


def edge_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """200 vs 150 rows of edge cases (every column's kind inferred unless set)."""
    rng = np.random.default_rng(7)
    n, m = 200, 150
    ref: dict[str, Any] = {
        "constant_same": np.full(n, 3.25),
        "constant_moved": np.full(n, 1.5),
        "all_nan_ref": np.full(n, np.nan),
        "all_nan_cur": rng.normal(size=n),
        "with_inf": np.concatenate([rng.normal(size=n - 4), [np.inf, -np.inf, np.nan, np.inf]]),
        "ties": rng.integers(0, 4, n).astype(float) + 0.5,
        "bool": rng.random(n) < 0.3,
        "pd_cat": pd.Categorical(rng.choice(list("xyz"), n), categories=list("xyzw")),
        "low_card_int": rng.integers(0, 5, n),
        "unseen": rng.choice(["a", "b", "c"], n).astype(object),
        "single_cat": np.array(["only"] * n, dtype=object),
        "two_cats": rng.choice(["yes", "no"], n).astype(object),
        "strings_none": np.where(rng.random(n) < 0.1, None, rng.choice(["p", "q"], n)),
    }
    cur: dict[str, Any] = {
        "constant_same": np.full(m, 3.25),
        "constant_moved": np.concatenate([np.full(m - 10, 1.5), np.full(10, 2.0)]),
        "all_nan_ref": rng.normal(size=m),
        "all_nan_cur": np.full(m, np.nan),
        "with_inf": np.concatenate([rng.normal(0.5, 1, m - 3), [np.inf, np.nan, -np.inf]]),
        "ties": rng.integers(1, 5, m).astype(float) + 0.5,
        "bool": rng.random(m) < 0.5,
        "pd_cat": pd.Categorical(rng.choice(list("xyw"), m), categories=list("xyzw")),
        "low_card_int": rng.integers(0, 7, m),
        "unseen": rng.choice(["a", "b", "d", "e"], m).astype(object),
        "single_cat": np.array(["only"] * m, dtype=object),
        "two_cats": rng.choice(["yes", "no"], m, p=[0.8, 0.2]).astype(object),
        "strings_none": np.where(rng.random(m) < 0.3, None, rng.choice(["p", "q"], m)),
    }
    return pd.DataFrame(ref), pd.DataFrame(cur)


def tiny_frames(n_ref: int, n_cur: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = pd.DataFrame({"x": [1.5, 2.5][:n_ref], "c": ["a", "b"][:n_ref]})
    cur = pd.DataFrame({"x": [2.5, 4.0][:n_cur], "c": ["b", "c"][:n_cur]})
    return ref, cur


def cases() -> list[tuple[str, pd.DataFrame, pd.DataFrame, DriftOptions]]:
    """(name, reference, current, options) of every pinned comparison."""
    w1 = {"workers": 1}
    ties = {"ties": FeatureOptions(kind="numeric")}
    out = [
        ("bench_600", *bench_like(600, 500, 1), DriftOptions(**w1)),
        ("bench_3000", *bench_like(3000, 2500, 2), DriftOptions(**w1)),
        ("bench_3000_equal", *bench_like(3000, 3000, 3), DriftOptions(**w1)),
        ("bench_12000", *bench_like(12000, 11000, 4), DriftOptions(**w1)),
        ("bench_25000_equal", *bench_like(25000, 25000, 5), DriftOptions(workers=2)),
        ("edges", *edge_frames(), DriftOptions(per_feature=ties, **w1)),
        ("tiny_1_1", *tiny_frames(1, 1), DriftOptions(**w1)),
        ("tiny_2_1", *tiny_frames(2, 1), DriftOptions(**w1)),
        ("tiny_2_2", *tiny_frames(2, 2), DriftOptions(**w1)),
        (
            "extra_tests_400",
            *bench_like(400, 300, 6),
            DriftOptions(extra=("anderson", "cramer_von_mises"), **w1),
        ),
        ("method_psi_bins5", *bench_like(2000, 1500, 7), DriftOptions(method="psi", bins=5, **w1)),
        (
            "per_feature_3000",
            *bench_like(3000, 2000, 8),
            DriftOptions(
                per_feature={
                    "normal": FeatureOptions(method="ks", threshold=0.01),
                    "uniform": FeatureOptions(method="hellinger"),
                    "cat_20": FeatureOptions(method="chisquare"),
                    "rounded": FeatureOptions(method="cramer_von_mises"),
                },
                **w1,
            ),
        ),
    ]
    return out


def exact(value: Any) -> Any:
    """JSON-able value keeping every float exactly (non-finite floats as strings)."""
    if isinstance(value, dict):
        return {str(k): exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exact(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    return value


def report_record(report) -> dict:
    """The report as exact JSON: top-level fields and every feature's fields."""
    return exact(
        {
            "reference_rows": report.reference_rows,
            "current_rows": report.current_rows,
            "dataset_drift": report.dataset_drift,
            "drift_share": report.drift_share,
            "features": {
                f.name: {
                    "kind": f.kind,
                    "method": f.method,
                    "statistic": f.statistic,
                    "p_value": f.p_value,
                    "threshold": f.threshold,
                    "drifted": f.drifted,
                    "missing_share_reference": f.missing_share_reference,
                    "missing_share_current": f.missing_share_current,
                    "stats": f.stats,
                    "quality": f.quality,
                }
                for f in report.features
            },
        }
    )


def run_case(ref: pd.DataFrame, cur: pd.DataFrame, options: DriftOptions) -> dict:
    return report_record(compare(ref, cur, options))


def main() -> None:
    if "--write" not in sys.argv:
        raise SystemExit("usage: engine_golden_cases.py --write")
    import warnings

    warnings.simplefilter("ignore")
    out = {name: run_case(ref, cur, options) for name, ref, cur, options in cases()}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
