"""NannyML's univariate drift alerts per window, run by bench/alarms.py in NannyML's venv.

    bench/.peers-venv/nannyml/bin/python bench/peers/run_alarm_nannyml.py DIR [DIR ...]

Each DIR (one reference draw; several per process to pay NannyML's import once) holds reference.parquet, healthy.parquet (the healthy windows one after the other),
shifted.parquet (one column per shifted stream: the shifted column's values, window after
window) and meta.json ({"m": window size, "shifted": {"s0": [key, column], ...}}).
`UnivariateDriftCalculator` with its defaults (Jensen-Shannon, reference chunks' mean +
3 sd) and chunk_size = m; fitted on the reference. Prints one JSON line: "healthy": the
alerted columns per window; per shifted key, whether its column alerted per window; all DIRs in one object keyed by DIR. Object columns are treated as categorical.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd


def alerts(ref: pd.DataFrame, cur: pd.DataFrame, m: int) -> list[list[str]]:
    import nannyml as nml

    categorical = [c for c in ref.columns if ref[c].dtype == object]
    calc = nml.UnivariateDriftCalculator(
        column_names=list(ref.columns), treat_as_categorical=categorical, chunk_size=m
    )
    calc.fit(ref)
    table = calc.calculate(cur).filter(period="analysis").to_df()
    cols = [c for c in table.columns if c[-1] == "alert"]
    return [[c[0] for c in cols if bool(row[c])] for _, row in table.iterrows()]


def one(d: Path) -> dict:
    meta = json.loads((d / "meta.json").read_text())
    m = int(meta["m"])
    ref = pd.read_parquet(d / "reference.parquet")
    out: dict = {"healthy": alerts(ref, pd.read_parquet(d / "healthy.parquet"), m)}
    shifted = pd.read_parquet(d / "shifted.parquet")
    for sid, (key, column) in meta["shifted"].items():
        cur = pd.DataFrame({column: shifted[sid].to_numpy()})
        if ref[column].dtype == object:
            cur[column] = cur[column].astype(object)
        out[key] = [bool(a) for a in alerts(ref[[column]], cur, m)]
    return out


def main() -> int:
    print(json.dumps({d: one(Path(d)) for d in sys.argv[1:]}))
    return 0


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    sys.exit(main())
