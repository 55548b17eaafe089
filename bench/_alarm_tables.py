"""Constants and tables of bench/alarms.py (split out to keep each module under 400 lines)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS, SHIFT_AT, BUDGET_WINDOWS = 240, 120, 720
SHIFTED = 60  # shifted windows computed per shift (delays beyond: "-")
LONG = 14_400  # resampled healthy windows per draw for the long-run rate (20 x 30 days)
FRESH = 1_000  # further healthy windows they are resampled from
# the new rules: a guard with 5% of the budget, the guaranteed self-starting CUSUM the rest
GUARD_SHARE, GUARD_DELTA, WARMUP, K_NEW, CUSUM_DELTA, CAP = 0.05, 0.01, 96, 1.0, 0.02, 3.0
LEARN_DELTAS = {"ss-cusum learning δ0.5": 0.5, "ss-cusum learning δ0.2": 0.2,
                "ss-cusum learning δ0.05": 0.05}  # fmt: skip
# the monitors' defaults after s23-budget: a 90-day budget split 1/10 per-window (the guarded
# Holm rule of `auto_verdict`), 9/10 sequential (learning, no delta: the average bound)
DEFAULT_90D = ("per-window default (90d)", "ss-cusum default (90d)", "monitor default (90d)")
BUDGET_90D = 90 * 24
RULES = (
    "engine feature",
    "engine dataset",
    "p<0.05",
    "Evidently preset",
    "Evidently column",
    "NannyML ±3σ",
    "auto+holm",
    "cusum",
    "guard",
    "ss-cusum guaranteed",
    *LEARN_DELTAS,
    "ss-cusum proposed",
    *DEFAULT_90D,
)
# "ss-cusum proposed": learning, delta 0.2, the learned bound where rho <= 0.9 (run 4)
SEQUENTIAL = ("ss-cusum guaranteed", *LEARN_DELTAS, "ss-cusum proposed", *DEFAULT_90D)  # long run
NUMERIC_SHIFTS = ("+0.1σ", "+0.25σ", "+0.5σ", "×1.25", "20% missing")
CATEGORICAL_SHIFTS = ("10% mass", "25% mass")


def shift(values: pd.Series, how: str, ref: pd.Series, rng) -> pd.Series:
    v = values.copy()
    if how.endswith("mass"):
        share = 0.10 if how.startswith("10") else 0.25
        top = ref.value_counts().index
        hit = (v == top[0]).to_numpy() & (rng.random(len(v)) < share)
        v[hit] = top[1]
        return v
    sd, mean = float(ref.std(ddof=0)), float(ref.mean())
    if how == "20% missing":
        v[rng.random(len(v)) < 0.2] = np.nan
    elif how == "×1.25":
        v = mean + (v - mean) * 1.25
    else:
        v = v + float(how[1:-1]) * sd
    return v


def delay(fired: list[bool]) -> int | None:
    for t in range(SHIFT_AT, len(fired)):
        if fired[t]:
            return t - SHIFT_AT + 1
    return None


def print_draws(name: str, frame: pd.DataFrame, m: int, draws: list[dict]) -> None:
    per30 = BUDGET_WINDOWS / WINDOWS
    print(f"\n### {name} ({len(frame)} rows, {frame.shape[1]} features), windows of {m} rows")
    cal = ", ".join(f"{d['calibrate_cpu_s']:.2f}" for d in draws)
    pin = max(d["pin"] for d in draws)
    print(f"calibration CPU s per draw: {cal}; fresh windows' z vs the engine's: {pin:.1e}")
    pins = [p for d in draws for p in d.get("ev_pin", [])]
    if pins:
        agree = ", ".join(f"{a}/{n}" for a, n in pins)
        print(f"Evidently's verdicts equal to its full Report's (columns per pin window): {agree}")
    errors = {d["nannyml_error"] for d in draws if "nannyml_error" in d}
    print(("NannyML: " + "; ".join(errors) + "\n") if errors else "")
    head = "| rule | false alarms / 30 days, per draw (240 windows) | long run, per draw | "
    print(head + " | ".join(_shift_names(draws)) + " |")
    print("|---" * (3 + len(_shift_names(draws))) + "|")
    for rule in RULES:
        ran = [d for d in draws if rule in d["healthy"]]
        if not ran:
            continue
        fa = ", ".join(f"{sum(d['healthy'][rule]) * per30:.0f}" for d in ran)
        fa += " | " + (
            ", ".join(f"{d['long'][rule]:.2f}" for d in ran) if rule in SEQUENTIAL else ""
        )
        cells = []
        for key in draws[0]["shifted"]:
            ds = [delay(d["shifted"][key][0][rule]) for d in ran]
            cells.append(", ".join("-" if x is None else str(x) for x in ds))
        print(f"| {rule} | {fa} | " + " | ".join(cells) + " |")
    flagged = []
    for key in draws[0]["shifted"]:
        shares = ", ".join(f"{d['shifted'][key][1]:.0%}" for d in draws)
        flagged.append(f"{key[1]}: {shares}")
    print("\ncolumn flagged by the engine per shifted window (per draw): " + "; ".join(flagged))


def rate(draw: dict, rule: str) -> float:
    """False alarms per 30 days for one draw: long run for sequential rules, else 240 windows."""
    if rule in SEQUENTIAL:
        return draw["long"][rule]
    return sum(draw["healthy"][rule]) * BUDGET_WINDOWS / WINDOWS


def print_summary(m: int, draws: list[dict]) -> None:
    """Every data set and draw at window size m: per-draw rates and the issue's delays."""
    limit = 5 if m >= 5000 else 24
    hows = sorted({how for d in draws for _, how in d["shifted"]}, key=_SHIFT_ORDER.index)
    print(f"\n### All data sets, windows of {m} rows ({len(draws)} data set x draw pairs)\n")
    cells = " | ".join(f"{how}: caught within {limit} / median delay" for how in hows)
    print(
        f"| rule | false alarms / 30 days per draw: min / median / max | MTBFA / budget | {cells} |"
    )
    print("|---" * (3 + len(hows)) + "|")
    for rule in RULES:
        ran = [d for d in draws if rule in d["healthy"]]
        if not ran:
            continue
        r = np.array([rate(d, rule) for d in ran])
        days = 90 if rule.endswith("(90d)") else 30  # MTBFA against the rule's own budget
        ratio = "inf" if r.mean() == 0 else f"{30 / days / r.mean():.2f}"
        above = int((r > 1).sum())
        row = [f"{r.min():.2f} / {np.median(r):.2f} / {r.max():.2f} ({above}/{len(r)} > 1)", ratio]
        for how in hows:
            ds = [delay(v[0][rule]) for d in ran for (_, h), v in d["shifted"].items() if h == how]
            hit = [x for x in ds if x is not None]
            caught = sum(x <= limit for x in hit)
            med = f"{np.median(hit):.0f}" if hit else "-"
            row.append(f"{caught}/{len(ds)} / {med}")
        print(f"| {rule} | " + " | ".join(row) + " |")
    flags = []
    for how in hows:
        v = [x[1] for d in draws for (_, h), x in d["shifted"].items() if h == how]
        flags.append(f"{how}: {np.mean(v):.0%}")
    print(
        "\nengine flags the shifted column in (mean share of shifted windows): " + "; ".join(flags)
    )


_SHIFT_ORDER = list(NUMERIC_SHIFTS + CATEGORICAL_SHIFTS)


def _shift_names(draws: list[dict]) -> list[str]:
    return [f"delay {how} ({c})" for c, how in draws[0]["shifted"]]
