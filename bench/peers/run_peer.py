"""One peer drift measurement, run by bench/drift.py in that peer's own virtualenv.

    bench/.peers-venv/frouros/bin/python bench/peers/run_peer.py frouros_ks --data DIR

Loads DIR/reference.parquet and DIR/current.parquet with pandas (the same files every tool
reads), times only the drift call and prints one JSON line: seconds, CPU-seconds of the
process during the call (every thread), the flagged columns,
the RSS once the frames were loaded. Needs only numpy, pandas and the peer itself, so it
runs unchanged in every peer's environment. Object columns are the categoricals; each
peer's documented default threshold decides (p < 0.05 for tests).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

P_VALUE = 0.05
PSI_THRESHOLD = 0.1  # the common "moderate shift" cut-off; ours uses the same for PSI


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _kinds(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return numeric, [c for c in frame.columns if c not in numeric]


def frouros(ref, cur, numeric_test: str) -> dict:
    """Frouros univariate detectors: KSTest or PSI per numeric, ChiSquareTest per categorical."""
    from frouros.detectors.data_drift import PSI, ChiSquareTest, KSTest

    numeric, categorical = _kinds(ref)
    flagged = []
    start, cpu = time.perf_counter(), time.process_time()
    for name in numeric:
        detector = KSTest() if numeric_test == "ks" else PSI(num_bins=10)
        detector.fit(X=ref[name].to_numpy())
        result = detector.compare(X=cur[name].to_numpy())[0]
        if (
            (result.p_value < P_VALUE)
            if numeric_test == "ks"
            else (result.distance >= PSI_THRESHOLD)
        ):
            flagged.append(name)
    numeric_s = time.perf_counter() - start
    for name in categorical:
        detector = ChiSquareTest()
        detector.fit(X=ref[name].to_numpy())
        if detector.compare(X=cur[name].to_numpy())[0].p_value < P_VALUE:
            flagged.append(name)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_s": cpu_s, "numeric_s": numeric_s, "flagged": flagged}


def nannyml(ref, cur) -> dict:
    """NannyML UnivariateDriftCalculator, all defaults (methods, chunking, thresholds).

    NannyML's thresholds come from the spread of the statistic over reference chunks, so
    its default chunker stays on; a column counts as flagged when any analysis chunk alerts.
    """
    import nannyml as nml

    numeric, categorical = _kinds(ref)
    start, cpu = time.perf_counter(), time.process_time()
    calc = nml.UnivariateDriftCalculator(
        column_names=numeric + categorical, treat_as_categorical=categorical
    )
    calc.fit(ref)
    results = calc.calculate(cur)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    table = results.filter(period="analysis").to_df()
    flagged = sorted(
        {col[0] for col in table.columns if col[-1] == "alert" and bool(table[col].any())}
    )
    methods = sorted({col[1] for col in table.columns if col[-1] == "alert"})
    return {
        "seconds": seconds,
        "cpu_s": cpu_s,
        "flagged": flagged,
        "methods": methods,
        "chunks": len(table),
    }


def whylogs(ref, cur) -> dict:
    """whylogs profiles of both frames, then its drift report (KS on sketches, chi2)."""
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    start, cpu = time.perf_counter(), time.process_time()
    ref_view = why.log(ref).view()
    cur_view = why.log(cur).view()
    profiled = time.perf_counter()
    scores = calculate_drift_scores(
        target_view=cur_view, reference_view=ref_view, with_thresholds=True
    )
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    flagged = [n for n, s in scores.items() if s and s.get("drift_category") == "DRIFT"]
    return {"seconds": seconds, "cpu_s": cpu_s, "profile_s": profiled - start, "flagged": flagged}


def alibi(ref, cur) -> dict:
    """Alibi Detect TabularDrift: KS per numeric, chi2 per categorical (feature-level p < .05).

    Alibi takes one numeric array, so categoricals are integer-coded first (not timed).
    """
    from alibi_detect.cd import TabularDrift

    numeric, categorical = _kinds(ref)
    columns = numeric + categorical
    x_ref = np.empty((len(ref), len(columns)), dtype=np.float64)
    x_cur = np.empty((len(cur), len(columns)), dtype=np.float64)
    for i, name in enumerate(columns):
        if name in numeric:
            x_ref[:, i], x_cur[:, i] = ref[name].to_numpy(), cur[name].to_numpy()
        else:
            codes, _ = pd.factorize(pd.concat([ref[name], cur[name]], ignore_index=True))
            x_ref[:, i], x_cur[:, i] = codes[: len(ref)], codes[len(ref) :]
    categories = {columns.index(c): None for c in categorical}
    start, cpu = time.perf_counter(), time.process_time()
    detector = TabularDrift(x_ref, p_val=P_VALUE, categories_per_feature=categories)
    preds = detector.predict(x_cur, drift_type="feature")
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    is_drift = np.asarray(preds["data"]["is_drift"]).astype(bool)
    flagged = [c for c, d in zip(columns, is_drift, strict=True) if d]
    return {"seconds": seconds, "cpu_s": cpu_s, "flagged": flagged}


TOOLS = {
    "frouros_ks": lambda ref, cur: frouros(ref, cur, "ks"),
    "frouros_psi": lambda ref, cur: frouros(ref, cur, "psi"),
    "nannyml": nannyml,
    "whylogs": whylogs,
    "alibi": alibi,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("--data", required=True, type=Path)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    ref = pd.read_parquet(args.data / "reference.parquet")
    cur = pd.read_parquet(args.data / "current.parquet")
    loaded = _rss_mb()
    result = TOOLS[args.tool](ref, cur)
    result["rss_after_load_mb"] = loaded
    print(json.dumps(result), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
