"""CPU seconds of our CBPE or DLE alone on the estimation cost case (fit + windows, in-process).

For A/B comparisons of our own code under a busy box: CPU time (`time.process_time`) moves
far less with load than wall time. Builds the cost case of `bench/estimate.py` in-process
(randhie binary for CBPE, randhie regression for DLE; reference resampled to ROWS rows,
WINDOWS windows of 10,000 rows) and prints one JSON line: where `monitor` was imported from
(PYTHONPATH=DIR runs another checkout's code), fit / windows / total CPU seconds, wall seconds,
and a checksum of the windows' band upper ends (ROC AUC for CBPE, RMSE for DLE; equal across
versions that compute the same bands); for DLE also the sum of the estimates.

    OMP_NUM_THREADS=1 .venv/bin/python bench/estimate_cpu.py [--rows 1000000] [--windows 100]
    OMP_NUM_THREADS=1 .venv/bin/python bench/estimate_cpu.py --method dle
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estimate as bench

CASES = {"cbpe": (0, "roc_auc"), "dle": (2, "rmse")}  # case index in load_cases(), checked metric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--method", choices=sorted(CASES), default="cbpe")
    args = parser.parse_args()
    import monitor
    from monitor.performance.estimation import ESTIMATORS

    index, checked = CASES[args.method]
    case = bench.load_cases()[index]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(case["y"]))
    a, b = int(0.3 * perm.size), int(0.6 * perm.size)
    model = bench.train(case, perm[:a])
    ref = bench.frame(case, model, rng.choice(perm[a:b], args.rows, replace=True))
    ana = [bench.frame(case, model, rng.choice(perm[b:], 10_000)) for _ in range(args.windows)]
    spec = {"task": case["task"], "target": "y", "pred": "y_pred",
            "features": list(case["x"].columns)}  # fmt: skip
    if case["task"] != "regression":
        spec["proba"] = {str(c): f"p_{c}" for c in model.classes_}
    make = bench._maker(spec)
    est = ESTIMATORS[args.method]
    w0, c0 = time.perf_counter(), time.process_time()
    state = est.fit(make(ref))
    c1 = time.process_time()
    results = [est.estimate(state, make(w, target=False)).metrics for w in ana]
    w2, c2 = time.perf_counter(), time.process_time()
    out = {
        "monitor": monitor.__file__, "fit_cpu_s": round(c1 - c0, 3),
        "windows_cpu_s": round(c2 - c1, 3), "total_cpu_s": round(c2 - c0, 3),
        "wall_s": round(w2 - w0, 3),
        "checksum": round(sum(m[checked].upper or 0.0 for m in results), 9),
    }  # fmt: skip
    if args.method == "dle":
        out["estimate_sum"] = round(sum(m["rmse"].value + m["mae"].value for m in results), 9)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
