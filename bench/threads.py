"""Thread discipline: the domain classifier quiet vs next to a second CPU-bound process.

    .venv/bin/python bench/threads.py --repeats 2

The classifier (HistGradientBoosting, 5k rows per side, 25 features: the drift benchmark's
10k frames) runs in a fresh process per measurement, either with every pool at its own
default ("default": OpenMP and OpenBLAS sized to the machine, OpenMP spin-waiting) or with
`monitor.threads.configure()` ("budget": the service's setting). Each is timed quiet and
with a busy-loop process running (`python -c "while True: pass"`), alternated, so the
ratios come from the same minutes of the shared machine; the load average is printed
next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _measure  # noqa: E402


def child(mode: str, data: Path) -> None:
    if mode == "budget":
        from monitor.threads import configure

        configure()
    import pandas as pd

    from monitor.drift.multivariate import domain_classifier_drift

    ref = pd.read_parquet(data / "reference.parquet")
    cur = pd.read_parquet(data / "current.parquet")
    start = time.perf_counter()
    cpu = time.process_time()
    result = domain_classifier_drift(ref, cur)
    seconds = time.perf_counter() - start
    from threadpoolctl import threadpool_info

    pools = sorted({f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()})
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": time.process_time() - cpu,
                "score": result["score"],
                "pools": pools,
            }
        )
    )


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(mode: str, data: Path, hog: bool) -> dict:
    busy = None
    if hog:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        load = _load()
        m = _measure.run([sys.executable, __file__, "--child", mode, "--data", str(data)])
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if not m.ok:
        raise SystemExit(f"child failed: {m.stderr_tail}")
    return {**m.report, "load": load, "hog": hog, "mode": mode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", default="default,budget")
    parser.add_argument("--data-dir", default="/tmp/drift-bench")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.data))
        return
    from drift import prepare

    data = prepare(10_000, Path(args.data_dir))
    rows = []
    for _ in range(args.repeats):
        for mode in args.modes.split(","):
            for hog in (False, True):
                r = measure(mode, data, hog)
                rows.append(r)
                print(
                    f"{mode:<8} {'hog ' if hog else 'quiet'} {r['seconds']:6.2f} s "
                    f"cpu {r['cpu_s']:5.2f} s  pools {' '.join(r['pools'])}  load {r['load']}",
                    file=sys.stderr,
                    flush=True,
                )
    print(render(rows, args))


def render(rows: list[dict], args) -> str:
    lines = [
        f"Command: `.venv/bin/python bench/threads.py --repeats {args.repeats}`; "
        f"{os.cpu_count()} cores; load average at the end: {_load()}.",
        "",
        "| pools | run | classifier s | CPU s | native pools | load average (1, 5, 15 min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {'with a busy process' if r['hog'] else 'quiet'} "
            f"| {r['seconds']:.2f} | {r['cpu_s']:.2f} | {' '.join(r['pools'])} | {r['load']} |"
        )
    lines += [
        "",
        "| pools | median quiet s | median with busy process s | ratio |",
        "|---|---|---|---|",
    ]
    for mode in args.modes.split(","):
        quiet = sorted(r["seconds"] for r in rows if r["mode"] == mode and not r["hog"])
        busy = sorted(r["seconds"] for r in rows if r["mode"] == mode and r["hog"])
        q, b = quiet[len(quiet) // 2], busy[len(busy) // 2]
        lines.append(f"| {mode} | {q:.2f} | {b:.2f} | x{b / q:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
