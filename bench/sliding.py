"""The sequential rule on SLIDING windows (issue 14, s23-sliding): false alarms and delays
when every run is judged (before) and when only every n-th run is (after, n = ceil(size /
step): disjoint windows, ARL0 = budget in runs / n).

Real data shipped in Python packages (bench/alarms.py's `datasets`: scikit-learn's
diabetes, wine, breast_cancer, digits' 20 most variable pixels, statsmodels' fair; numeric
columns only). Population design (as bench/alarms.py): per reference draw the reference is
min(rows/2, 3,000) rows drawn from the data set, and the stream is a sequence of hourly
BLOCKS of `--block` rows drawn from it; the window ending at hour t is the 24 consecutive
blocks t-23..t (size 24 h, step 1 h: consecutive windows share 23 of 24 blocks). Every
window is scored by `monitor.drift.nullstats` (the engine's Wasserstein / std) against the
reference's calibrated null (`monitor.drift.calibration`) at the window's rows, z as the
scheduler's (`FeatureNull.z_scores`).

The CUSUM is the monitors' default (`calibrate.sequential_config` of a sliding monitor with
a `sequential_drift` and a `dataset_drift` rule, 90-day budget: 2,160 hourly runs, the
sequential share 0.9): after = that config on the judged windows (every 24th hour,
`settings.alarm.judged_window`), before = the same with every run judged at ARL0 = 2,400
runs. Both run the scheduler's learning CUSUM arithmetic (`simulate_rules._learning_alarms`,
pinned on every stream) and count false alarms after their own warm-up (96 windows: 96 runs
before, 96 judged windows = 96 days after). Delay: a +0.25 / +0.5 sd shift of one column
(the first) from a random hour 10 days after the after-rule's warm-up, in hours from the
shift's first block to the first alarm (any feature) of the sum, '-' beyond 60 days.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        .venv/bin/python bench/sliding.py --draws 2 --streams 4 --days 365

`--warmup-compare` (s23-warmup): both rules judge every 24th run; before = a warm-up of 96
judged windows (the s23-sliding default), after = today's sliding default (20 judged
windows, `SequentialSettings.judged_warmup`, the warm-up's bound). Streams run from the
monitor's START; false alarms are counted after each rule's own warm-up, and the delay of a
shift beginning on `--shift-day` after the start (warm-up included) to the first alarm.
`--average-bound` gives the after-rule the average bound (what monitors do not use).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _alarm_budget import cusum_flags  # noqa: E402
from alarms import datasets  # noqa: E402

from monitor.calibrate import sequential_config  # noqa: E402
from monitor.drift.calibration import calibrate  # noqa: E402
from monitor.drift.nullstats import wasserstein_many  # noqa: E402
from monitor.drift.sequential import CusumConfig  # noqa: E402
from monitor.drift.simulate_rules import _learning_alarms  # noqa: E402
from monitor.settings import parse_settings  # noqa: E402
from monitor.settings.alarm import judged_window  # noqa: E402

SIZE = 24  # blocks (hours) per window
HORIZON = 60 * 24  # hours after a shift's start searched for its alarm
SHIFTS = (0.25, 0.5)
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # midnight: the judged windows end at 00:00 UTC


def monitor_config(p: int, rho: float) -> tuple[CusumConfig, CusumConfig]:
    """(before, after): the monitors' CUSUM for a 24 h / 1 h sliding window, every run
    judged vs every 24th (`calibrate.sequential_config`, as the scheduler's)."""
    new = sequential_config(_sliding_monitor(), p, rho)
    after = replace(new, warmup=96)  # s23-sliding's comparison: the 96-window warm-up
    before = replace(after, arl0=after.arl0 * after.judged_every, judged_every=1)
    return before, after


class _AverageBound(CusumConfig):
    """`--average-bound`: the after-rule with the average bound (`alarm_guarantee.
    average_bound`) although its warm-up is short: NOT what monitors use (`bound_for`
    keeps the warm-up's bound below 96 windows); measures what that bound would give."""

    @property
    def bound_for(self) -> str:
        return "average"


def warmup_configs(p: int, rho: float, average: bool = False) -> tuple[CusumConfig, CusumConfig]:
    """(before, after) for `--warmup-compare`: both judge every 24th run; before = the
    default warm-up of 96 judged windows (96 days, the average bound), after = today's
    default of a sliding monitor (`SequentialSettings.judged_warmup`: 20 judged windows,
    the warm-up's guaranteed bound)."""
    _, before = monitor_config(p, rho)
    after = sequential_config(_sliding_monitor(), p, rho)
    if average:
        after = _AverageBound(**{f: getattr(after, f) for f in after.__dataclass_fields__})
    return before, after


def _sliding_monitor():  # type: ignore[no-untyped-def]
    doc = {
        "database": {"url": "postgresql+psycopg://u:p@127.0.0.1:5432/x"},
        "monitors": [{
            "name": "m", "model": "m", "reference": "/tmp/r.parquet",
            "window": {"kind": "sliding", "size": "24h", "step": "1h", "bucket": "1h"},
            "rules": [{"name": "seq", "condition": "sequential_drift"},
                      {"name": "ds", "condition": "dataset_drift"}],
        }],
    }  # fmt: skip
    return parse_settings(doc).monitors[0]


def flags(z: np.ndarray, cfg: CusumConfig) -> np.ndarray:
    """(T - warmup,) any-feature alarms of the learning CUSUM over one stream (T x p):
    `_alarm_budget.cusum_flags` at the monitor's k, cap and warm-up (pinned by the caller
    to `simulate_rules._learning_alarms`)."""
    return cusum_flags(z[None], cfg.bound, k=cfg.k, cap=cfg.cap, warmup=cfg.warmup)[0]


def window_z(block_values: np.ndarray, ref_sorted: np.ndarray, null, m: int) -> np.ndarray:
    """z of every sliding window (SIZE consecutive blocks) of one column."""
    win = np.lib.stride_tricks.sliding_window_view(block_values, SIZE, axis=0)
    win = np.sort(win.reshape(win.shape[0], -1), axis=1)
    stats = np.concatenate([wasserstein_many(ref_sorted, c) for c in np.array_split(win, 20)])
    return null.z_scores(stats, m)


def judged_mask(hours: int) -> np.ndarray:
    """Whether the window ending at hour t (t = SIZE .. SIZE + hours - 1) is judged."""
    ends = [T0 + timedelta(hours=SIZE + i) for i in range(hours)]
    return np.array([judged_window(e, timedelta(hours=1), SIZE) for e in ends])


def first_alarm(z: np.ndarray, cfg: CusumConfig, start: int) -> int | None:
    """Index (in z's rows) of the first alarm at or after `start`, None if none."""
    f = flags(z, cfg)
    hits = np.flatnonzero(f[start - cfg.warmup :])
    return None if hits.size == 0 else int(hits[0]) + start


def stream_z(frame, ref, cal, rng, hours: int, block: int):  # type: ignore[no-untyped-def]
    """One healthy stream: hourly blocks of `block` rows drawn from `frame`, each feature's
    score of the SIZE-block window ending at every hour (NaN where undefined)."""
    names = list(cal.features)
    m = SIZE * block
    rows = rng.integers(0, len(frame), (hours + SIZE - 1, block))
    refs = {n: np.sort(ref[n].to_numpy(dtype=float)) for n in names}
    z = np.stack(
        [window_z(frame[n].to_numpy(dtype=float)[rows], refs[n], cal.features[n], m)
         for n in names], axis=1)  # fmt: skip
    return names, m, rows, refs, z


def one_stream(frame, ref, cal, rng, hours: int, block: int) -> dict:
    names, m, rows, refs, z = stream_z(frame, ref, cal, rng, hours, block)
    z = np.where(np.isnan(z), 0.0, z)
    rho = m / (m + len(ref))
    before, after = monitor_config(len(names), rho)
    judged = judged_mask(hours)
    zj = z[judged]
    fb, fa = flags(z, before), flags(zj, after)
    assert int(fb.sum()) == _learning_alarms(z[None], before), "flags drifted from the scheduler"
    assert int(fa.sum()) == _learning_alarms(zj[None], after), "flags drifted from the scheduler"
    # delays: shift column 0 from a random hour 10 days after the after-rule's warm-up
    first_judged = int(np.flatnonzero(judged)[0])
    s0 = first_judged + SIZE * (after.warmup + 10) + int(rng.integers(0, SIZE))
    col = names[0]
    sd = float(frame[col].std())
    delays = {}
    for shift in SHIFTS:
        vals = frame[col].to_numpy(dtype=float)[rows].copy()
        vals[s0 + SIZE - 1 :] += shift * sd  # blocks from hour s0 on (window index s0)
        lo = s0
        hi = min(hours, s0 + HORIZON)
        zs = z.copy()
        zc = window_z(vals[lo : hi + SIZE - 1], refs[col], cal.features[col], m)
        zs[lo:hi, 0] = np.nan_to_num(zc)
        zs = zs[:hi]
        b = first_alarm(zs, before, lo)
        jz = judged[:hi]
        idx = np.flatnonzero(jz)
        a_j = first_alarm(zs[jz], after, int(np.searchsorted(idx, lo)))
        delays[shift] = (
            None if b is None else b - lo + 1,
            None if a_j is None else int(idx[a_j]) - lo + 1,
        )
    return {
        "before": (int(fb.sum()), fb.size),  # alarms, runs counted
        "after": (int(fa.sum()), fa.size * SIZE),
        "delays": delays,
        "bounds": (before.bound, after.bound, before.arl0, after.arl0),
        "lag1": float(
            np.nanmean([np.corrcoef(z[:-1, j], z[1:, j])[0, 1] for j in range(z.shape[1])])
        ),
    }


def warmup_stream(
    frame, ref, cal, rng, hours: int, block: int, shift_day: int, average: bool = False
) -> dict:
    """`--warmup-compare`: both rules on the judged windows of one stream from the monitor's
    START; false alarms after each rule's own warm-up; delays from a shift that starts at a
    random hour of day `shift_day` after the start (inside a warm-up, it is partly absorbed)
    to the first alarm at or after it, in hours, None if none by the stream's end."""
    names, m, rows, refs, z = stream_z(frame, ref, cal, rng, hours, block)
    z = np.nan_to_num(z)
    pair = warmup_configs(len(names), m / (m + len(ref)), average)
    cfgs = dict(zip(("before", "after"), pair, strict=True))
    judged = judged_mask(hours)
    idx = np.flatnonzero(judged)
    out: dict = {"bounds": tuple((c.bound, c.warmup, c.bound_for) for c in cfgs.values())}
    for k, cfg in cfgs.items():
        f = flags(z[judged], cfg)
        assert int(f.sum()) == _learning_alarms(z[judged][None], cfg), "flags drifted"
        out[k] = (int(f.sum()), f.size * SIZE)
    s0 = SIZE * shift_day + int(rng.integers(0, SIZE))  # window index of the first shifted
    col, sd = names[0], float(frame[names[0]].std())
    out["delays"] = {}
    for shift in SHIFTS:
        vals = frame[col].to_numpy(dtype=float)[rows].copy()
        vals[s0 + SIZE - 1 :] += shift * sd
        zs = z.copy()
        zs[s0:, 0] = np.nan_to_num(window_z(vals[s0:], refs[col], cal.features[col], m))
        zj, first = zs[judged], int(np.searchsorted(idx, s0))
        got = []
        for cfg in cfgs.values():
            hits = np.flatnonzero(flags(zj, cfg)) + cfg.warmup
            hits = hits[hits >= first]
            got.append(None if hits.size == 0 else int(idx[hits[0]]) - s0 + 1)
        out["delays"][shift] = tuple(got)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--days", type=int, default=365, help="days counted after the warm-up")
    ap.add_argument("--block", type=int, default=21, help="rows per hourly block (x24 a window)")
    ap.add_argument("--only", default="")
    ap.add_argument(
        "--warmup-compare",
        action="store_true",
        help="s23-warmup: 96 judged warm-up windows vs the sliding default",
    )
    ap.add_argument(
        "--shift-day",
        type=int,
        default=10,
        help="--warmup-compare: day after the START on which the shift begins",
    )
    ap.add_argument(
        "--average-bound",
        action="store_true",
        help="--warmup-compare: the after-rule with the average bound (not used)",
    )
    a = ap.parse_args(argv)
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    cpu0 = time.process_time()
    hours = (96 + a.days) * SIZE  # the after-rule's warm-up (96 judged days) + counted days
    if a.warmup_compare:
        print(f"# warm-up compare: shift from day {a.shift_day} after the start; before / after")
    else:
        print("data set | draw | lag-1 corr of z | h before/after | ARL0 before (runs) / after (judged) |"
              " FA/30d before | FA/30d after | delay +0.25/+0.5 sd before (h) | after (h)")  # fmt: skip
    totals = {"before": [0, 0], "after": [0, 0]}
    per_ds: dict[str, dict] = {}
    for name, frame in datasets().items():
        if a.only and name not in a.only.split(","):
            continue
        frame = frame.select_dtypes("number").astype(float).dropna()
        for draw in range(a.draws):
            rng = np.random.default_rng(1000 + draw)
            ref = frame.iloc[rng.integers(0, len(frame), min(len(frame) // 2, 3000))]
            ref = ref.reset_index(drop=True)
            cal = calibrate(ref, kinds=dict.fromkeys(frame.columns, "numeric"), seed=draw,
                            sizes=(SIZE * a.block,))  # fmt: skip
            if a.warmup_compare:
                res = [warmup_stream(frame, ref, cal, rng, hours, a.block, a.shift_day,
                                     a.average_bound)
                       for _ in range(a.streams)]  # fmt: skip
            else:
                res = [one_stream(frame, ref, cal, rng, hours, a.block) for _ in range(a.streams)]
            row = {}
            for k in ("before", "after"):
                al, runs = sum(r[k][0] for r in res), sum(r[k][1] for r in res)
                totals[k][0] += al
                totals[k][1] += runs
                per_ds.setdefault(name, {}).setdefault(k, [0, 0])
                per_ds[name][k][0] += al
                per_ds[name][k][1] += runs
                row[k] = al / runs * 720
            d = {s: [r["delays"][s] for r in res] for s in SHIFTS}
            med = {s: tuple(_med([x[i] for x in d[s]]) for i in (0, 1)) for s in SHIFTS}
            b = res[0]["bounds"]
            if a.warmup_compare:
                print(f"{name} | {draw} | h/warmup/bound_for {b[0]} -> {b[1]} |"
                      f" FA/30d {row['before']:.2f} / {row['after']:.2f} | delay +0.25 sd"
                      f" {med[0.25][0]} / {med[0.25][1]} h | +0.5 sd {med[0.5][0]} / {med[0.5][1]} h",
                      flush=True)  # fmt: skip
                continue
            print(f"{name} | {draw} | {np.mean([r['lag1'] for r in res]):.2f} | {b[0]:.2f} / {b[1]:.2f} |"
                  f" {b[2]:.0f} / {b[3]:.0f} | {row['before']:.2f} | {row['after']:.2f} |"
                  f" {med[0.25][0]} / {med[0.5][0]} | {med[0.25][1]} / {med[0.5][1]}", flush=True)  # fmt: skip
    budget_h = 90 * 24
    for name, v in per_ds.items():
        print(f"{name}: " + ", ".join(_mtbfa(k, *v[k], budget_h) for k in ("before", "after")))
    print("all: " + ", ".join(_mtbfa(k, *totals[k], budget_h) for k in ("before", "after")))
    print(
        f"# cpu {time.process_time() - cpu0:.0f} s, load {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    return 0


def _med(xs: list[int | None]) -> str:
    """Median delay in hours ('-' for none within the horizon, counted as infinite)."""
    v = sorted(float("inf") if x is None else x for x in xs)
    mid = v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])
    return "-" if mid == float("inf") else f"{mid:.0f}"


def _mtbfa(label: str, alarms: int, runs: int, budget_h: int) -> str:
    """Alarms, rate per 30 days, MTBFA / budget with the exact (Garwood) 95% Poisson
    interval on the count (scipy.stats.chi2)."""
    from scipy.stats import chi2

    lo = 0.5 * chi2.ppf(0.025, 2 * alarms) if alarms else 0.0
    hi = 0.5 * chi2.ppf(0.975, 2 * alarms + 2)
    mt = runs / alarms / budget_h if alarms else float("inf")
    ci = f"{runs / hi / budget_h:.3g}-{runs / lo / budget_h if lo else float('inf'):.3g}"
    return (f"{label} {alarms} false alarms in {runs} h ({alarms / runs * 720:.2f}/30d,"
            f" MTBFA/budget {mt:.3g}, 95% {ci})")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
