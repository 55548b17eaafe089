"""NannyML's CBPE / DLE on one benchmark case, run by bench/estimate.py in NannyML's venv.

    bench/.peers-venv/nannyml/bin/python bench/peers/run_estimate_peer.py --data DIR

Reads DIR/reference.parquet, DIR/analysis.parquet (the windows back to back) and
DIR/spec.json; chunks the analysis frame by the window size, so NannyML's chunks are exactly
the benchmark's windows. Prints one JSON line: fit + estimate seconds (wall, and CPU of the
whole process: every thread), and, per window and
metric, [estimate, lower band, upper band] (NannyML's confidence boundaries: ±3 sampling
errors, clipped to the metric's range).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import nannyml as nml

    spec = json.loads((args.data / "spec.json").read_text())
    ref = pd.read_parquet(args.data / "reference.parquet")
    ana = pd.read_parquet(args.data / "analysis.parquet").drop(columns=[spec["target"]])
    start, cpu = time.perf_counter(), time.process_time()
    if spec["task"] == "regression":
        est = nml.DLE(
            feature_column_names=spec["features"],
            y_pred=spec["pred"],
            y_true=spec["target"],
            metrics=spec["metrics"],
            chunk_size=spec["chunk"],
        )
    else:
        # NannyML matches the class keys to the label values: give them the labels' type
        cast = int if ref[spec["target"]].dtype.kind in "iu" else str
        proba = {cast(k): v for k, v in spec["proba"].items()}
        est = nml.CBPE(
            metrics=spec["metrics"],
            y_pred_proba=proba if spec["task"] == "multiclass" else proba[cast("1")],
            y_pred=spec["pred"],
            y_true=spec["target"],
            problem_type="classification_" + spec["task"],
            chunk_size=spec["chunk"],
        )
    est.fit(ref)
    res = est.estimate(ana).filter(period="analysis").to_df()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    windows = []
    for _, row in res.iterrows():
        out = {}
        for m in spec["metrics"]:
            vals = [
                row[(m, k)]
                for k in ("value", "lower_confidence_boundary", "upper_confidence_boundary")
            ]
            out[m] = [None if v != v else float(v) for v in vals]
        windows.append(out)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "windows": windows}))


if __name__ == "__main__":
    main()
