"""The band's nominal level, chosen on one set of seeds and reported on another.

    .venv/bin/python bench/estimate_bands.py collect --seeds 0,1,2,3,4,5 --windows 30 \\
        --dump /tmp/bands.jsonl            # runs bench/estimate.py's cases per seed
    .venv/bin/python bench/estimate_bands.py analyse --dump /tmp/bands.jsonl \\
        --choose 0,1,2 --report 3,4,5

`collect`: for every data set × window size of `bench/estimate.py` and every seed (the split
into model / reference / pool rows and the windows' draws), our estimators and NannyML's on
the same windows; one JSON line per (case, size, seed) with every window's realised value,
our estimate, σ and reference σ, and NannyML's estimate and band. `analyse`: coverage and
median width of estimate ± z·σ (clipped to the metric's range) for the candidate nominal
levels on the `--choose` seeds, the level two rules pick there (`choose`), then every row on
the `--report` seeds (at `--level`, else rule (a)'s) beside NannyML's bands on the same
windows. Nothing is refitted by analyse. `--ours DUMP`: our windows from a `--no-peer` dump
of a variant (the same windows: checked by their realised values).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import estimate as bench  # noqa: E402

LEVELS = {0.90: 1.6449, 0.95: 1.9600, 0.99: 2.5758, 0.9973: 3.0}  # nominal -> z
COVER = 0.90  # the bar: every row covers at least this share of its windows
OURS = {"binary": "cbpe", "multiclass": "cbpe", "regression": "dle"}


def collect(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    done = set()
    if args.dump.exists():  # resume: (case, size, seed) already there are not run again
        for line in args.dump.read_text().splitlines():
            rec = json.loads(line)
            done.add((rec["case"], rec["size"], rec["seed"]))
    with tempfile.TemporaryDirectory() as tmp, args.dump.open("a") as out:
        cells = [
            (case, size)
            for case in bench.load_cases()
            if args.cases in case["name"]
            for size in sizes
            if size * 1.6 <= 0.4 * len(case["y"]) * 2  # else the pool is too small
        ]
        for seed in seeds:  # seed outermost: an interrupted run still has whole seeds
            for case, size in cells:
                if (case["name"], size, seed) in done:
                    continue
                load = os.getloadavg()[0]
                got = bench.run_case(
                    case, size, args.windows, False, Path(tmp), seed=seed,
                    peer=not args.no_peer, distinct=True,
                )  # fmt: skip
                if not got["ours"].ok:
                    sys.exit(f"our child failed: {got['ours'].stderr_tail}")
                peer = got["nannyml"]
                out.write(json.dumps({
                    "case": case["name"], "task": case["task"], "size": size,
                    "seed": seed, "load": load, "realised": got["realised"],
                    "ours": got["ours"].report[OURS[case["task"]]]["windows"],
                    "nannyml": peer.report["windows"] if peer and peer.ok else None,
                }) + "\n")  # fmt: skip
                out.flush()
                print(f"{case['name']} {size} seed {seed} load {load:.1f}", file=sys.stderr)


def _rows(records: list[dict], seeds: set[int]) -> dict[tuple, dict[str, list]]:
    """(case, size, metric) -> lists over windows: realised, ours [v, sd], NannyML [v, lo, hi]."""
    rows: dict[tuple, dict[str, list]] = {}
    for rec in records:
        if rec["seed"] not in seeds:
            continue
        for ours_name, peer_name in bench.METRICS[rec["task"]]:
            row = rows.setdefault(
                (rec["case"], rec["size"], ours_name),
                {"real": [], "v": [], "sd": [], "ref": [], "peer": [], "task": rec["task"]},
            )
            for i, real in enumerate(rec["realised"]):
                value, _, _, sd, ref = rec["ours"][i][ours_name]
                r = real[ours_name]
                if r is None or value is None or sd is None:
                    continue
                row["real"].append(r)
                row["v"].append(value)
                row["sd"].append(sd)
                row["ref"].append(ref or 0.0)
                peer = rec["nannyml"][i][peer_name] if rec["nannyml"] else [None] * 3
                row["peer"].append(peer)
    return rows


def band(row: dict, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Ours at z: covered (bool per window) and width, clipped like `result.metric`."""
    v, sd, real = (np.asarray(row[k], float) for k in ("v", "sd", "real"))
    hi_cap = np.inf if row["task"] == "regression" else 1.0
    lo, hi = np.maximum(0.0, v - z * sd), np.minimum(hi_cap, v + z * sd)
    return (lo <= real) & (real <= hi), hi - lo


def peer_band(row: dict) -> tuple[np.ndarray, np.ndarray]:
    ok = [p for p, r in zip(row["peer"], row["real"], strict=True) if None not in p]
    real = [r for p, r in zip(row["peer"], row["real"], strict=True) if None not in p]
    if not ok:
        return np.array([]), np.array([])
    p, r = np.asarray(ok, float), np.asarray(real, float)
    return (p[:, 1] <= r) & (r <= p[:, 2]), p[:, 2] - p[:, 1]


def choose(rows: dict[tuple, dict[str, list]]) -> tuple[float, float, list[str]]:
    """Two rules, both printed: (a) the lowest level whose band covers >= 90% on every row
    (written first; a minimum over 19 rows of 60 correlated windows each is biased towards
    a higher level: a calibrated 95% band misses it on some row most of the time), (b) the
    lowest level whose pooled coverage over every window of every row reaches the level."""
    lines = [
        "| nominal | z | pooled coverage | lowest row coverage (row) | rows below 90% |",
        "|---|---|---|---|---|",
    ]
    every = pooled = None
    for level, z in sorted(LEVELS.items()):
        cov = {key: band(row, z)[0].mean() for key, row in rows.items()}
        hits = np.concatenate([band(row, z)[0] for row in rows.values()])
        worst = min(cov, key=lambda k: cov[k])
        below = sum(c < COVER for c in cov.values())
        lines.append(
            f"| {level:.2%} | {z:.3f} | {hits.mean():.1%} | {cov[worst]:.1%} "
            f"({' '.join(map(str, worst))}) | {below} |"
        )
        if every is None and below == 0:
            every = level
        if pooled is None and hits.mean() >= level:
            pooled = level
    top = max(LEVELS)
    return (every if every is not None else top), (pooled if pooled is not None else top), lines


def report(rows: dict[tuple, dict[str, list]], level: float) -> list[str]:
    z = LEVELS[level]
    lines = [
        "| data set | rows/window | metric | windows | |err| median ours / NannyML | "
        "|err| p90 ours / NannyML | ours coverage "
        f"({level:.0%}) | ours median width | NannyML coverage | NannyML median width | "
        "width ratio | max abs(err)/σ | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (case, size, name), row in rows.items():
        hit, width = band(row, z)
        p_hit, p_width = peer_band(row)
        err = np.abs(np.asarray(row["v"]) - np.asarray(row["real"]))
        p_err = np.array([
            abs(p[0] - r) for p, r in zip(row["peer"], row["real"], strict=True) if p[0] is not None
        ])  # fmt: skip
        if not p_err.size:
            p_err = np.array([np.nan])
        ratio = np.median(width) / np.median(p_width) if p_width.size else float("nan")
        zmax = np.max(err / np.maximum(np.asarray(row["sd"]), 1e-12))
        met = hit.mean() >= COVER and ratio <= 1.0
        lines.append(
            f"| {case} | {size} | {name} | {hit.size} | {np.median(err):.4f} / "
            f"{np.median(p_err):.4f} | {np.quantile(err, 0.9):.4f} / {np.quantile(p_err, 0.9):.4f}"
            f" | {hit.mean():.1%} | {np.median(width):.4f} | "
            f"{p_hit.mean() if p_hit.size else float('nan'):.1%} | "
            f"{np.median(p_width) if p_width.size else float('nan'):.4f} | {ratio:.2f} | "
            f"{zmax:.1f} | {'yes' if met else '**no**'} |"
        )
    return lines


def analyse(args: argparse.Namespace) -> None:
    records = [json.loads(line) for line in args.dump.read_text().splitlines() if line.strip()]
    if args.ours:  # our windows from a `collect --no-peer` dump of a variant, same windows
        variant = {
            (r["case"], r["size"], r["seed"]): r
            for r in map(json.loads, args.ours.read_text().splitlines())
        }
        records = [
            {**r, "ours": variant[key]["ours"]}
            for r in records
            if (key := (r["case"], r["size"], r["seed"])) in variant
            and variant[key]["realised"] == r["realised"]
        ]
    pick = {int(s) for s in args.choose.split(",")}
    shown = {int(s) for s in args.report.split(",")}
    every, pooled, table = choose(_rows(records, pick))
    level = every if args.level is None else args.level
    loads = [r["load"] for r in records]
    text = [
        f"Records: {len(records)} (case × size × seed), load average at their starts "
        f"{min(loads):.1f}–{max(loads):.1f}.",
        "",
        f"Choosing on seeds {sorted(pick)}:",
        "",
        *table,
        "",
        f"Rule (a), every row >= 90%: {every:.2%}; rule (b), pooled coverage >= nominal: "
        f"{pooled:.2%}. Reported at {level:.2%} (z = {LEVELS[level]:.3f}) on seeds "
        f"{sorted(shown)}:",
        "",
        *report(_rows(records, shown), level),
    ]
    print("\n".join(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--seeds", default="0,1,2,3,4,5")
    c.add_argument("--sizes", default="500,5000")
    c.add_argument("--windows", type=int, default=30)
    c.add_argument("--cases", default="")
    c.add_argument("--dump", type=Path, required=True)
    c.add_argument("--no-peer", action="store_true", help="ours only (a variant of our band)")
    a = sub.add_parser("analyse")
    a.add_argument("--dump", type=Path, required=True)
    a.add_argument("--choose", default="0,1,2")
    a.add_argument("--report", default="3,4,5")
    a.add_argument("--level", type=float, default=None, help="report at this level instead")
    a.add_argument("--ours", type=Path, default=None, help="our windows from this dump instead")
    args = parser.parse_args()
    (collect if args.cmd == "collect" else analyse)(args)


if __name__ == "__main__":
    main()
