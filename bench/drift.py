"""Drift benchmark: our engine, CLI and sketch path against the peers, in one run.

    .venv/bin/python bench/drift.py --sizes 10000,100000,1000000 --out /tmp/drift-results.md
    make bench-drift                        # the same, default sizes

Deterministic frames (20 numeric: normal, lognormal, uniform; 5 categorical with 5-45
categories; 9 of the 25 columns shifted) are written once as Parquet per size. Every
measurement runs in a fresh process (`_measure.run`): the child loads the Parquet files,
times the measured call itself and prints one JSON line (which columns it flags); the
parent records the child's whole wall time and peak RSS (wait4). Ratios are from the same run.

Peers that would change the project's numpy/scipy (Frouros, NannyML, whylogs, Alibi Detect)
run from their own virtualenvs under bench/.peers-venv/<peer>/, created on first use
(`bench/peers/run_peer.py` is their child script); Evidently and the plain scipy loop run
in the project's venv. `--skip-peers` leaves the four out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _measure  # noqa: E402

NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = ["cat_05", "cat_10", "cat_20", "cat_30", "cat_45"]
SHIFTED = {
    "num_00": "normal: mean +0.3 sd",
    "num_01": "normal: sd x1.4",
    "num_02": "normal: mean +0.2 sd",
    "num_07": "lognormal: mu +0.3",
    "num_08": "lognormal: sigma 1 -> 1.25",
    "num_14": "uniform: shifted by 0.1 of its range",
    "num_15": "uniform: range stretched by 30%",
    "cat_05": "5 categories: probabilities reversed",
    "cat_30": "30 categories: half the mass moved to the 5 rarest",
}
BUCKETS = 60  # stored minute buckets merged into one window by the sketch-path timing
PEERS_DIR = HERE / ".peers-venv"
RUN_PEER = HERE / "peers" / "run_peer.py"
# kind -> (virtualenv, packages): each peer resolves its own numpy/pandas in its own venv
PEER_VENVS = {
    "frouros": ["frouros", "pandas", "pyarrow"],
    "nannyml": ["nannyml", "statsmodels", "pyarrow"],  # nannyml imports statsmodels, undeclared
    "whylogs": ["whylogs[viz]", "numpy<2", "pandas<3", "pyarrow<21"],  # np.unicode_ in 1.6.4
    "alibi": ["alibi-detect", "pyarrow<21"],  # alibi-detect pins numpy<2; pyarrow 21+ needs 2
}
SHORT = {
    "evidently": "Evidently",
    "nannyml": "NannyML",
    "whylogs": "whylogs",
    "naive": "plain scipy loop",
    "alibi": "Alibi Detect",
    "frouros_ks": "Frouros KS",
    "frouros_psi": "Frouros PSI",
}
PEER_KINDS = {  # bench kind -> (venv, run_peer.py tool)
    "nannyml": ("nannyml", "nannyml"),
    "whylogs": ("whylogs", "whylogs"),
    "alibi": ("alibi", "alibi"),
    "frouros_ks": ("frouros", "frouros_ks"),
    "frouros_psi": ("frouros", "frouros_psi"),
}
LABELS = {
    "evidently": "Evidently `Report([DataDriftPreset()]).run`",
    "nannyml": "NannyML `UnivariateDriftCalculator` fit + calculate (defaults)",
    "whylogs": "whylogs `why.log` x2 + `calculate_drift_scores`",
    "naive": "plain scipy loop (`ks_2samp` / `chi2_contingency`)",
    "alibi": "Alibi Detect `TabularDrift` (KS + chi2)",
    "frouros_ks": "Frouros `KSTest` + `ChiSquareTest`",
    "frouros_psi": "Frouros `PSI` + `ChiSquareTest`",
    "engine": "**ours: `compare`**",
    "floor": "sort floor: 40 columns of n float64, one thread (`np.sort`)",
    "cli": "**ours: `monitor drift --json`** (Parquet, end to end)",
    "sketch": "ours: sketch path (fit + sketch + compare)",
    "multivariate": "ours: domain classifier (5k rows/side cap)",
}


def make_frames(n: int, seed: int = 20_26):
    """Reference and current frames of `n` rows each; the same numbers on every run."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i, name in enumerate(NUMERIC):
        family = ("normal", "lognormal", "uniform")[0 if i < 7 else 1 if i < 14 else 2]
        ref[name] = _numeric(rng, family, n, name, shifted=False)
        cur[name] = _numeric(rng, family, n, name, shifted=name in SHIFTED)
    for name in CATEGORICAL:
        k = int(name[-2:])
        p = rng.dirichlet(np.full(k, 2.0))
        labels = np.array([f"{name[-2:]}_{j:02d}" for j in range(k)], dtype=object)
        ref[name] = labels[rng.choice(k, size=n, p=p)]
        cur[name] = labels[rng.choice(k, size=n, p=_shift_categories(name, p))]
    return pd.DataFrame(ref), pd.DataFrame(cur)


def _numeric(rng, family: str, n: int, name: str, shifted: bool) -> np.ndarray:
    if family == "normal":
        mean = {"num_00": 0.3, "num_02": 0.2}.get(name, 0.0) if shifted else 0.0
        sd = 1.4 if shifted and name == "num_01" else 1.0
        return rng.normal(10.0 + mean, sd, size=n)
    if family == "lognormal":
        mu = 0.3 if shifted and name == "num_07" else 0.0
        sigma = 1.25 if shifted and name == "num_08" else 1.0
        return rng.lognormal(mu, sigma, size=n)
    low = 0.1 if shifted and name == "num_14" else 0.0
    high = (1.3 if name == "num_15" else 1.1 if name == "num_14" else 1.0) if shifted else 1.0
    return rng.uniform(low, high, size=n)


def _shift_categories(name: str, p: np.ndarray) -> np.ndarray:
    if name == "cat_05":
        return np.sort(p)[np.argsort(np.argsort(-p))]  # largest share goes to the rarest
    if name == "cat_30":
        q = p / 2
        rare = np.argsort(p)[:5]
        q[rare] += 0.5 / 5
        return q / q.sum()
    return p


def prepare(n: int, root: Path) -> Path:
    """Write the frames of size `n` as Parquet (once) and return their directory."""
    out = root / str(n)
    if not (out / "current.parquet").exists():
        out.mkdir(parents=True, exist_ok=True)
        ref, cur = make_frames(n)
        ref.to_parquet(out / "reference.parquet", index=False)
        cur.to_parquet(out / "current.parquet", index=False)
    return out


# ---- children: each loads the Parquet files, times one call, prints one JSON line ----


def _load(data: Path):
    import pandas as pd

    return pd.read_parquet(data / "reference.parquet"), pd.read_parquet(data / "current.parquet")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_evidently(ref, cur) -> dict:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    start, cpu = time.perf_counter(), time.process_time()
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = metric["value"], config["threshold"]
            is_p = "p_value" in config["method"].lower()
            if (value < threshold) if is_p else (value >= threshold):
                flagged.append(config["column"])
    return {"seconds": seconds, "cpu_s": cpu_s, "flagged": flagged}


def child_engine(ref, cur) -> dict:
    # Library imports stay outside every tool's timed call (the peers import scipy at module
    # load); ours imports scipy.special lazily on the first call, so load it here. The whole
    # process, imports included, is the `cli` row.
    import scipy.special  # noqa: F401

    from monitor.drift.engine import compare

    start, cpu = time.perf_counter(), time.process_time()
    report = compare(ref, cur)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    flagged = [f.name for f in report.features if f.drifted]
    return {"seconds": seconds, "cpu_s": cpu_s, "flagged": flagged}


def child_floor(ref, cur) -> dict:
    """The single-thread sort floor: one sorted copy of each numeric column of both sides.

    Exact KS or Wasserstein needs at least this (40 sorts of n float64 for 20 columns).
    """
    columns = [frame[name].to_numpy() for frame in (ref, cur) for name in NUMERIC]
    start, cpu = time.perf_counter(), time.process_time()
    for values in columns:
        np.sort(values)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_s": cpu_s, "flagged": None, "sorted_columns": len(columns)}


def child_multivariate(ref, cur) -> dict:
    from monitor.drift.multivariate import domain_classifier_drift

    start = time.perf_counter()
    result = domain_classifier_drift(ref, cur)
    seconds = time.perf_counter() - start
    keep = ("score", "drifted", "rows_used", "top_features")
    return {"seconds": seconds, "flagged": [], "multivariate": {k: result[k] for k in keep}}


def child_naive(ref, cur) -> dict:
    """The loop most teams write first: ks_2samp per numeric, chi-square per categorical."""
    import pandas as pd
    from scipy import stats

    start, cpu = time.perf_counter(), time.process_time()
    flagged = []
    for name in ref.columns:
        if name in NUMERIC:
            p = stats.ks_2samp(ref[name].dropna(), cur[name].dropna()).pvalue
        else:
            table = pd.concat([ref[name].value_counts(), cur[name].value_counts()], axis=1)
            p = stats.chi2_contingency(table.fillna(0).to_numpy().T, correction=False).pvalue
        if p < 0.05:
            flagged.append(name)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_s": cpu_s, "flagged": flagged}


def child_sketch(ref, cur) -> dict:
    """Build specs + sketches of both frames, compare; then the stored-window path per feature."""
    from monitor.drift.sketch import from_bytes, merge_all, to_bytes
    from monitor.drift.sketch_report import (
        compare_sketches,
        fit_reference,
        sketch_feature,
        sketch_frame,
    )

    start = time.perf_counter()
    specs, ref_sk = fit_reference(ref)
    cur_sk = sketch_frame(specs, cur)
    built = time.perf_counter()
    report = compare_sketches(specs, ref_sk, cur_sk)
    done = time.perf_counter()
    bounds = np.linspace(0, len(cur), BUCKETS + 1).astype(int)
    blobs = {name: [] for name in specs}
    for lo, hi in itertools.pairwise(bounds):
        for name, s in sketch_frame(specs, cur.iloc[lo:hi]).items():
            blobs[name].append(to_bytes(s))
    per_feature = []
    for name, spec in specs.items():
        t0 = time.perf_counter()
        window = merge_all(from_bytes(b) for b in blobs[name])
        sketch_feature(name, spec, ref_sk[name], window)
        per_feature.append(time.perf_counter() - t0)
    sizes = {
        kind: [len(b) for n, bl in blobs.items() if specs[n].kind == kind for b in bl]
        for kind in ("numeric", "categorical")
    }
    return {
        "seconds": done - start,
        "build_s": built - start,
        "compare_s": done - built,
        "window_ms_per_feature_mean": 1e3 * float(np.mean(per_feature)),
        "window_ms_per_feature_max": 1e3 * float(np.max(per_feature)),
        "bucket_bytes_numeric_mean": float(np.mean(sizes["numeric"])),
        "bucket_bytes_categorical_mean": float(np.mean(sizes["categorical"])),
        "undecided": [f.name for f in report.features if f.quality.get("sketch_undecided")],
        "flagged": [f.name for f in report.features if f.drifted],
    }


CHILDREN = {
    "evidently": child_evidently,
    "engine": child_engine,
    "floor": child_floor,
    "sketch": child_sketch,
    "naive": child_naive,
    "multivariate": child_multivariate,
}


def run_child(kind: str, data: Path) -> None:
    ref, cur = _load(data)
    loaded = _rss_mb()
    result = CHILDREN[kind](ref, cur)
    result["rss_after_load_mb"] = loaded
    print(json.dumps(result))


# ---- parent ----


def measure(kind: str, data: Path) -> _measure.Measurement:
    if kind == "cli":
        monitor = Path(sys.executable).with_name("monitor")
        command = [str(monitor), "drift", str(data / "reference.parquet")]
        command += [str(data / "current.parquet"), "--json"]
        m = _measure.run(command)
        try:
            flagged = [f["name"] for f in m.report["features"] if f["drifted"]]
        except (KeyError, TypeError):
            flagged = None
        report = {"seconds": m.wall_s, "flagged": flagged}
        return _measure.Measurement(
            m.command, m.wall_s, m.peak_rss_mb, m.returncode, report, m.stderr_tail
        )
    if kind in PEER_KINDS:
        venv, tool = PEER_KINDS[kind]
        python = peer_python(venv)
        if isinstance(python, str):  # the venv could not be built: say why in the table
            return _measure.Measurement([], 0.0, 0.0, 1, {}, python)
        return _measure.run([str(python), str(RUN_PEER), tool, "--data", str(data)])
    return _measure.run([sys.executable, __file__, "--child", kind, "--data", str(data)])


def peer_python(venv: str) -> Path | str:
    """The peer venv's python, building the venv on first use; an error line if it fails."""
    root = PEERS_DIR / venv
    python = root / "bin" / "python"
    stamp = root / ".installed"
    if stamp.exists():
        return python
    print(f"creating {root} ({', '.join(PEER_VENVS[venv])})", file=sys.stderr, flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "--quiet", "uv"],
        [str(root / "bin" / "uv"), "pip", "install", "--quiet", "--python", str(python)]
        + PEER_VENVS[venv],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            return f"install failed: {lines[-1][:160]}"
    stamp.write_text(" ".join(PEER_VENVS[venv]) + "\n")
    return python


def precision_recall(flagged) -> tuple[float, float]:
    if flagged is None:
        return float("nan"), float("nan")
    hits = len(set(flagged) & set(SHIFTED))
    precision = hits / len(flagged) if flagged else 1.0
    return precision, hits / len(SHIFTED)


def _added_mb(m: _measure.Measurement) -> float:
    """Peak RSS above the RSS right after loading the frames: what the call itself needed."""
    return m.peak_rss_mb - m.report.get("rss_after_load_mb", float("nan"))


def render(results: dict, args, load: str) -> str:
    lines = [
        f"Command: `.venv/bin/python bench/drift.py --sizes {args.sizes}"
        + (" --skip-evidently" if args.skip_evidently else "")
        + (" --skip-peers" if args.skip_peers else "")
        + "`",
        f"Machine: {os.cpu_count()} cores; load average before the run: {load}; after: {_loadavg()}.",
        "Time = the measured call inside its process (for `cli`: the whole process, "
        "Python start-up and Parquet reading included); RSS = the process's peak.",
        "",
        "| rows/side | tool | time s | CPU s | process s | peak RSS MB | RSS after load MB "
        "| precision | recall | flagged, not shifted | shifted, missed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, by_kind in results.items():
        for kind, m in by_kind.items():
            rep = m.report
            label = LABELS.get(kind, kind)
            if not m.ok:
                why = m.stderr_tail.strip().splitlines()[-1:] or ["no output"]
                lines.append(f"| {n:,} | {label} | failed: {why[0][:140]} ||||||||| ")
                continue
            if kind == "floor":
                lines.append(
                    f"| {n:,} | {label} | {rep['seconds']:.3f} | {rep['cpu_s']:.3f} "
                    f"| {m.wall_s:.2f} | {m.peak_rss_mb:.0f} | - | n/a | n/a | - | - |"
                )
                continue
            flagged = rep.get("flagged")
            p, r = precision_recall(flagged)
            fp = sorted(set(flagged or []) - set(SHIFTED))
            fn = sorted(set(SHIFTED) - set(flagged or []))
            mv = kind == "multivariate"
            quality = "n/a (multivariate) | n/a" if mv else f"{p:.2f} | {r:.2f}"
            lines.append(
                f"| {n:,} | {label} | {rep.get('seconds', m.wall_s):.3f} "
                f"| {_cpu(rep)} | {m.wall_s:.2f} "
                f"| {m.peak_rss_mb:.0f} | {rep.get('rss_after_load_mb', float('nan')):.0f} "
                f"| {quality} | {', '.join(fp) or '-'} | {'-' if mv else ', '.join(fn) or '-'} |"
            )
    return "\n".join(lines + _ratios(results) + _details(results)) + "\n"


def _cpu(report: dict) -> str:
    return f"{report['cpu_s']:.3f}" if "cpu_s" in report else "-"


def _loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _ratio(theirs: _measure.Measurement, ours: _measure.Measurement | None, key: str) -> str:
    if not (ours and ours.ok and theirs.ok):
        return "-"
    if key == "time":
        return f"x{theirs.report['seconds'] / ours.report['seconds']:.1f}"
    if key == "cpu":
        if "cpu_s" not in theirs.report or "cpu_s" not in ours.report:
            return "-"
        return f"x{theirs.report['cpu_s'] / ours.report['cpu_s']:.1f}"
    return f"x{theirs.peak_rss_mb / ours.peak_rss_mb:.2f}"


def _ratios(results: dict) -> list[str]:
    lines = [
        "",
        "Ratios, peer / ours (same run; > 1 means we are faster or leaner):",
        "",
        "| rows/side | peer | time / `compare` | CPU s / `compare` | peak RSS / `compare` "
        "| time / `monitor drift` (end to end) |",
        "|---|---|---|---|---|---|",
    ]
    for n, by_kind in results.items():
        engine, cli = by_kind.get("engine"), by_kind.get("cli")
        for kind, m in by_kind.items():
            if kind in {"engine", "cli", "sketch", "multivariate", "floor"} or not m.ok:
                continue
            lines.append(
                f"| {n:,} | {SHORT.get(kind, kind)} | "
                f"{_ratio(m, engine, 'time')} | {_ratio(m, engine, 'cpu')} | "
                f"{_ratio(m, engine, 'rss')} | {_ratio(m, cli, 'time')} |"
            )
    return lines + _floor_ratios(results)


def _floor_ratios(results: dict) -> list[str]:
    """`compare`'s CPU-seconds over the single-thread sort floor's, per size (same run)."""
    lines = []
    for n, by_kind in results.items():
        engine, floor = by_kind.get("engine"), by_kind.get("floor")
        if engine and floor and engine.ok and floor.ok and "cpu_s" in engine.report:
            ratio = engine.report["cpu_s"] / floor.report["cpu_s"]
            lines.append(
                f"- {n:,} rows: `compare` CPU {engine.report['cpu_s']:.3f} s = x{ratio:.2f} the "
                f"sort floor ({floor.report['cpu_s']:.3f} s CPU for "
                f"{floor.report['sorted_columns']} sorts)"
            )
    return ["", *lines] if lines else []


def _details(results: dict) -> list[str]:
    lines = ["", "Details:", ""]
    for n, by_kind in results.items():
        s = by_kind.get("sketch")
        if s and s.ok:
            r = s.report
            lines.append(
                f"- {n:,} rows: sketch path: build specs+sketches {r['build_s']:.3f} s, compare "
                f"{r['compare_s'] * 1e3:.1f} ms (25 features); stored window of {BUCKETS} "
                f"buckets: deserialise+merge+compute {r['window_ms_per_feature_mean']:.2f} ms "
                f"per feature (max {r['window_ms_per_feature_max']:.2f}); bytes per bucket "
                f"sketch: numeric {r['bucket_bytes_numeric_mean']:.0f}, categorical "
                f"{r['bucket_bytes_categorical_mean']:.0f}; undecided: {r['undecided'] or '-'}"
            )
        mv = by_kind.get("multivariate")
        if mv and mv.ok:
            lines.append(f"- {n:,} rows: domain classifier {json.dumps(mv.report['multivariate'])}")
        for kind, key, what in (
            ("whylogs", "profile_s", "of which profiling both frames"),
            ("frouros_ks", "numeric_s", "of which the 20 numeric columns"),
            ("frouros_psi", "numeric_s", "of which the 20 numeric columns"),
            ("nannyml", "chunks", "analysis chunks (default chunker)"),
        ):
            m = by_kind.get(kind)
            if m and m.ok and key in m.report:
                lines.append(f"- {n:,} rows: {kind}: {what}: {m.report[key]:.3g}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="no peer-venv tools")
    parser.add_argument("--only", default="", help="comma list of tools (default: all)")
    parser.add_argument("--data-dir", default="/tmp/drift-bench")
    parser.add_argument("--out", default="", help="also write the markdown table here")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, Path(args.data))
        return
    kinds = ["evidently", *PEER_KINDS, "naive", "floor", "engine", "cli", "sketch", "multivariate"]
    if args.skip_evidently:
        kinds.remove("evidently")
    if args.skip_peers:
        kinds = [k for k in kinds if k not in PEER_KINDS]
    if args.only:
        kinds = [k for k in kinds if k in args.only.split(",")]
    load = _loadavg()
    results: dict = {}
    for n in (int(s) for s in args.sizes.split(",")):
        data = prepare(n, Path(args.data_dir))
        results[n] = {}
        for kind in kinds:
            m = measure(kind, data)
            results[n][kind] = m
            print(
                f"{n:>9,} {kind:<13} {m.wall_s:8.2f} s {m.peak_rss_mb:8.0f} MB "
                f"rc={m.returncode} load {_loadavg()}",
                file=sys.stderr,
                flush=True,
            )
    text = render(results, args, load)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
