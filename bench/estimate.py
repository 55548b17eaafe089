"""Performance-estimation benchmark: our CBPE / DLE / AC / ATC against NannyML's CBPE / DLE.

    .venv/bin/python bench/estimate.py --sizes 500,5000 --out /tmp/estimate-results.md
    .venv/bin/python bench/estimate.py --cost 1000000,100,10000   # the cost case only

Real data that ships inside statsmodels (no downloads): RAND health insurance experiment
(`randhie`, 20,190 rows: any doctor visit -> binary; 0 / 1-3 / 4+ visits -> 3 classes;
log(1 + visits) -> regression) and the `fair` affairs survey (6,366 rows, binary). A model
(histogram GBM) is trained on 30% of the rows, the reference is another 30% (held out, with
labels), the windows come from the last 40% with real covariate shift: the pool is split at
the median of one feature and window j takes a share j/(W-1) of its rows from the upper part.
Each tool runs in its own process (wall time, peak RSS); NannyML in bench/.peers-venv/nannyml
(built on first use, as bench/drift.py does), chunked so that its chunks are our windows.
Realised metrics come from scikit-learn in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _measure  # noqa: E402

COST_METHOD = {"binary": "cbpe", "multiclass": "cbpe", "regression": "dle"}
PEER = HERE / "peers" / "run_estimate_peer.py"
PEER_VENV = HERE / ".peers-venv" / "nannyml"
METRICS = {  # task -> (our name, NannyML's name)
    "binary": [("accuracy", "accuracy"), ("f1", "f1"), ("roc_auc", "roc_auc")],
    "multiclass": [("accuracy", "accuracy"), ("f1_macro", "f1"), ("roc_auc", "roc_auc")],
    "regression": [("mae", "mae"), ("rmse", "rmse")],
}


def load_cases() -> list[dict]:
    import statsmodels.api as sm

    rand = sm.datasets.randhie.load_pandas().data
    feats = [c for c in rand.columns if c != "mdvis"]
    fair = sm.datasets.fair.load_pandas().data
    visits = rand["mdvis"].to_numpy()
    return [
        {"name": "randhie binary", "task": "binary", "x": rand[feats], "shift": "disea",
         "y": (visits > 0).astype(int)},
        {"name": "randhie 3-class", "task": "multiclass", "x": rand[feats], "shift": "disea",
         "y": np.digitize(visits, [1, 4])},
        {"name": "randhie regression", "task": "regression", "x": rand[feats], "shift": "disea",
         "y": np.log1p(visits)},
        {"name": "fair binary", "task": "binary", "x": fair.drop(columns=["affairs"]),
         "shift": "yrs_married", "y": (fair["affairs"].to_numpy() > 0).astype(int)},
    ]  # fmt: skip


def train(case: dict, rows: np.ndarray):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    cls = HistGradientBoostingRegressor if case["task"] == "regression" else (
        HistGradientBoostingClassifier)  # fmt: skip
    with threadpool_limits(1):
        return cls(max_iter=60, random_state=0).fit(case["x"].iloc[rows], case["y"][rows])


def frame(case: dict, model, rows: np.ndarray) -> pd.DataFrame:
    from threadpoolctl import threadpool_limits

    df = case["x"].iloc[rows].reset_index(drop=True).astype(float)
    df["y"] = case["y"][rows]
    with threadpool_limits(1):
        df["y_pred"] = model.predict(case["x"].iloc[rows])
        if case["task"] != "regression":
            for i, p in enumerate(model.predict_proba(case["x"].iloc[rows]).T):
                df[f"p_{model.classes_[i]}"] = p
    return df


def windows(
    case: dict, pool: np.ndarray, size: int, count: int, rng, distinct: bool = False
) -> list[np.ndarray]:
    """Window j: share j/(count-1) of rows from above the pool's median of the shift feature.
    `distinct`: no row twice in a window (the share clipped to what each part holds); else a
    part smaller than its share is drawn with replacement, and a duplicated row repeats its
    label, which no estimator's band (ours, NannyML's) assumes."""
    values = case["x"][case["shift"]].to_numpy()[pool]
    high, low = pool[values > np.median(values)], pool[values <= np.median(values)]
    out = []
    for j in range(count):
        n_high = round(size * j / max(count - 1, 1))
        if distinct:
            n_high = min(max(n_high, size - low.size), high.size)
        parts = [
            rng.choice(part, n, replace=n > part.size)
            for part, n in ((high, n_high), (low, size - n_high))
        ]
        out.append(np.concatenate(parts))
    return out


def realised(task: str, df: pd.DataFrame) -> dict[str, float | None]:
    from sklearn import metrics as skm

    y, pred = df["y"].to_numpy(), df["y_pred"].to_numpy()
    if task == "regression":
        return {
            "mae": skm.mean_absolute_error(y, pred),
            "rmse": skm.mean_squared_error(y, pred) ** 0.5,
        }
    out = {"accuracy": skm.accuracy_score(y, pred)}
    if task == "binary":
        out["f1"] = skm.f1_score(y, pred)
        out["roc_auc"] = skm.roc_auc_score(y, df["p_1"]) if 0 < y.sum() < y.size else None
    else:
        out["f1_macro"] = skm.f1_score(y, pred, average="macro")
        proba = df[[f"p_{k}" for k in range(3)]].to_numpy()
        out["roc_auc"] = (
            skm.roc_auc_score(y, proba, multi_class="ovr") if len(set(y)) == 3 else None
        )
    return out


def _maker(spec: dict):
    """Frame -> our estimator input for this case's task."""
    from monitor.performance.estimation import classification_data, regression_data

    if spec["task"] == "regression":

        def make(df, target=True):
            y = df[spec["target"]].to_numpy() if target else None
            x = df[spec["features"]].to_numpy()
            return regression_data(x, df[spec["pred"]].to_numpy(), y)

        return make
    classes = list(spec["proba"])
    cols = [spec["proba"][c] for c in classes]

    def make(df, target=True):
        y = df[spec["target"]].to_numpy() if target else None
        return classification_data(df[cols].to_numpy(), classes, df[spec["pred"]].to_numpy(), y)

    return make


def child(data: Path) -> None:
    """Our estimators on one case (a fresh process): one JSON line like the peer's."""
    import importlib

    for module in ("sklearn.ensemble", "sklearn.isotonic"):  # imported outside the timer,
        importlib.import_module(module)  # as NannyML's are

    from monitor.performance.estimation import ESTIMATORS, trees

    if os.environ.get("BENCH_DLE_PARAMS"):  # a DLE tree configuration other than the default
        trees.PARAMS = json.loads(os.environ["BENCH_DLE_PARAMS"])
    spec = json.loads((data / "spec.json").read_text())
    ref = pd.read_parquet(data / "reference.parquet")
    ana = pd.read_parquet(data / "analysis.parquet")
    make = _maker(spec)
    methods = spec.get("methods") or (
        ["dle"] if spec["task"] == "regression" else ["cbpe", "ac", "atc"]
    )
    report = {}
    for method in methods:
        start, cpu = time.perf_counter(), time.process_time()
        est = ESTIMATORS[method]
        state = est.fit(make(ref))
        out = []
        for i in range(0, len(ana), spec["chunk"]):
            res = est.estimate(state, make(ana.iloc[i : i + spec["chunk"]], target=False))
            out.append({
                k: [m.value, m.lower, m.upper, m.sampling_error, m.reference_error]
                for k, m in res.metrics.items()
            })  # fmt: skip
        report[method] = {"seconds": time.perf_counter() - start,
                          "cpu_seconds": time.process_time() - cpu, "windows": out}  # fmt: skip
    print(json.dumps(report))


def peer_python() -> Path | str:
    python, stamp = PEER_VENV / "bin" / "python", PEER_VENV / ".installed"
    if stamp.exists():
        return python
    steps = [
        [sys.executable, "-m", "venv", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "uv"],
        [str(PEER_VENV / "bin" / "uv"), "pip", "install", "--quiet", "--python", str(python),
         "nannyml", "statsmodels", "pyarrow"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return f"install failed: {(done.stderr or 'no output').strip().splitlines()[-1][:160]}"
    stamp.write_text("nannyml statsmodels pyarrow\n")
    return python


def run_case(
    case: dict,
    size: int,
    count: int,
    edge: bool,
    root: Path,
    ref_rows: int | None = None,
    seed: int = 0,
    peer: bool = True,
    distinct: bool = False,
) -> dict:
    """Build one case's files, run both tools, return per-tool per-window values + realised.
    `ref_rows`: the reference resampled (with replacement) to that many rows (cost case).
    `seed`: the split into model / reference / pool rows and the windows' draws (0: as before)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(case["y"]))
    a, b = int(0.3 * perm.size), int(0.6 * perm.size)
    model = train(case, perm[:a])
    pool = perm[b:]
    wins = windows(case, pool, size, count, rng, distinct)
    if edge:  # one window whose labels are all negative: ROC AUC is undefined there
        neg = pool[case["y"][pool] == 0]
        wins = [rng.choice(neg, size, replace=size > neg.size)]
    ref_idx = perm[a:b] if ref_rows is None else rng.choice(perm[a:b], ref_rows, replace=True)
    ref = frame(case, model, ref_idx)
    ana = pd.concat([frame(case, model, w) for w in wins], ignore_index=True)
    data = root / f"{case['name'].replace(' ', '_')}_{size}_{int(edge)}_{ref_rows}_{seed}"
    data.mkdir(parents=True, exist_ok=True)
    ref.to_parquet(data / "reference.parquet")
    ana.to_parquet(data / "analysis.parquet")
    feats = [c for c in case["x"].columns]
    spec = {"task": case["task"], "target": "y", "pred": "y_pred", "chunk": size,
            "features": feats, "metrics": [p for _, p in METRICS[case["task"]]],
            "methods": [COST_METHOD[case["task"]]] if ref_rows else None}  # fmt: skip
    if case["task"] != "regression":
        spec["proba"] = {str(c): f"p_{c}" for c in model.classes_}
    (data / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ours = _measure.run([sys.executable, __file__, "--child", str(data)], env=env)
    python = peer_python() if peer else "not run"
    theirs = (
        _measure.run([str(python), str(PEER), "--data", str(data)], env=env)
        if isinstance(python, Path) else None
    )  # fmt: skip
    real = [realised(case["task"], ana.iloc[i : i + size]) for i in range(0, len(ana), size)]
    return {"ours": ours, "nannyml": theirs, "realised": real, "peer_error": python}


def summarise(task: str, got: dict) -> list[dict]:
    rows = []
    tools = {k: v for k, v in got["ours"].report.items()}
    if got["nannyml"] is not None and got["nannyml"].ok:
        tools["NannyML"] = got["nannyml"].report
    for ours_name, peer_name in METRICS[task]:
        for tool, rep in tools.items():
            name = peer_name if tool == "NannyML" else ours_name
            if not rep["windows"] or name not in rep["windows"][0]:
                continue
            err, hit, width, undefined = [], [], [], 0
            for win, real in zip(rep["windows"], got["realised"], strict=True):
                value, lo, hi = win[name][:3]
                r = real[ours_name]
                if value is None or r is None:
                    undefined += value is None
                    continue
                err.append(abs(value - r))
                if lo is not None and hi is not None:
                    hit.append(lo <= r <= hi)
                    width.append(hi - lo)
            rows.append({
                "metric": ours_name, "tool": tool, "windows": len(rep["windows"]),
                "err_median": np.median(err) if err else None,
                "err_p90": np.quantile(err, 0.9) if err else None,
                "coverage": np.mean(hit) if hit else None,
                "width": np.median(width) if width else None,
                "undefined": undefined, "seconds": rep["seconds"],
            })  # fmt: skip
    return rows


def cost_lines(root: Path, ref_rows: int, count: int, size: int, only: str = "") -> list[str]:
    """Fit + estimate on a `ref_rows` reference (randhie rows resampled) and `count` windows,
    binary (CBPE) and regression (DLE), each tool in its own process."""
    lines = [
        "",
        f"Cost: randhie, reference resampled to {ref_rows:,} rows, {count} windows of "
        f"{size:,} rows.",
        "",
        "| case | tool | fit+estimate s | fit+estimate CPU s | process wall s | peak RSS MB | "
        "windows | load after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cases = [c for c in (load_cases()[0], load_cases()[2]) if only in c["name"]]
    for case in cases:  # randhie binary, randhie regression
        got = run_case(case, size, count, False, root, ref_rows=ref_rows)
        if not got["ours"].ok:
            sys.exit(f"our child failed: {got['ours'].stderr_tail}")
        load = f"{os.getloadavg()[0]:.1f}"
        method = COST_METHOD[case["task"]]
        for tool, m in ((f"ours ({method})", got["ours"]), ("NannyML", got["nannyml"])):
            if m is None or not m.ok:
                lines.append(f"| {case['name']} | {tool} | failed | - | - | - | - | {load} |")
                continue
            rep = m.report.get(method, m.report)
            cpu = rep.get("cpu_seconds")
            lines.append(
                f"| {case['name']} | {tool} | {rep['seconds']:.2f} | "
                f"{'-' if cpu is None else format(cpu, '.2f')} | {m.wall_s:.2f} | "
                f"{m.peak_rss_mb:.0f} | {len(rep['windows'])} | {load} |"
            )
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def _f(v, spec=".4f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cases", default="", help="only data sets whose name contains this")
    parser.add_argument("--child", type=Path, default=None)
    parser.add_argument(
        "--cost",
        default=None,
        help="REF_ROWS,WINDOWS,ROWS: only the cost case, e.g. 1000000,100,10000",
    )
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    if args.cost:
        ref_rows, count, size = (int(v) for v in args.cost.split(","))
        load = os.getloadavg()
        head = (
            f"Command: `.venv/bin/python bench/estimate.py --cost {args.cost}"
            f"{' --cases ' + repr(args.cases) if args.cases else ''}`; load average "
            f"at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 shared cores)"
        )
        with tempfile.TemporaryDirectory() as tmp:
            text = (
                "\n".join([head, *cost_lines(Path(tmp), ref_rows, count, size, args.cases)]) + "\n"
            )
        print(text)
        if args.out:
            args.out.write_text(text)
        return None
    sizes = [int(s) for s in args.sizes.split(",")]
    load = os.getloadavg()
    lines = [
        f"Command: `.venv/bin/python bench/estimate.py --sizes {args.sizes} --windows "
        f"{args.windows}{' --cases ' + repr(args.cases) if args.cases else ''}`; load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"(2 shared cores)",
        "",
        "| data set | rows/window | metric | tool | windows | |err| median | |err| p90 | "
        "coverage | median band width | undefined | fit+estimate s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    edge_lines = ["", "Windows whose labels are all negative (realised ROC AUC undefined):", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for case in [c for c in load_cases() if args.cases in c["name"]]:
            for size in sizes:
                if size * 1.6 > 0.4 * len(case["y"]) * 2:
                    continue  # the pool is too small for windows of this size
                got = run_case(case, size, args.windows, False, Path(tmp))
                if not got["ours"].ok:
                    sys.exit(f"our child failed: {got['ours'].stderr_tail}")
                rss = {"NannyML": got["nannyml"].peak_rss_mb if got["nannyml"] else None}
                for r in summarise(case["task"], got):
                    mem = rss.get(r["tool"], got["ours"].peak_rss_mb)
                    lines.append(
                        f"| {case['name']} | {size} | {r['metric']} | {r['tool']} | "
                        f"{r['windows']} | {_f(r['err_median'])} | {_f(r['err_p90'])} | "
                        f"{_f(r['coverage'], '.0%')} | {_f(r['width'])} | {r['undefined']} | "
                        f"{r['seconds']:.2f} | {_f(mem, '.0f')} |"
                    )
                print("\n".join(lines[-8:]), file=sys.stderr, flush=True)
                if case["task"] == "binary" and size == sizes[0]:
                    edge = run_case(case, size, 1, True, Path(tmp))
                    ours = edge["ours"].report["cbpe"]["windows"][0]["roc_auc"][0]
                    nml = (
                        edge["nannyml"].report["windows"][0]["roc_auc"][0]
                        if edge["nannyml"]
                        else None
                    )
                    edge_lines.append(
                        f"- {case['name']}, {size} rows: ours ROC AUC = "
                        f"{_f(ours) if ours is not None else 'undefined (null)'}, NannyML = "
                        f"{_f(nml)}; realised: undefined (no positive label)"
                    )
    load = os.getloadavg()
    lines.append("")
    lines.append(f"Load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.")
    text = "\n".join(lines + edge_lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
