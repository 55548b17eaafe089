"""The engine's shortcuts give the same numbers as the general paths they skip."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from monitor.drift import DriftOptions, FeatureOptions, compare, read_frame

rng = np.random.default_rng(11)


def _strings(labels, n, p=None):
    return pd.Series(rng.choice(np.array(labels, dtype=object), size=n, p=p), dtype=object)


def test_string_columns_counted_once_match_the_inferred_categorical_path():
    ref = pd.DataFrame({"s": _strings(["a", "b", "c"], 3000), "x": rng.normal(size=3000)})
    cur = pd.DataFrame({"s": _strings(["a", "b", "d"], 2000, [0.5, 0.3, 0.2])})
    cur["x"] = rng.normal(0.1, 1, size=2000)
    ref.loc[::7, "s"] = None
    cur.loc[::5, "s"] = np.nan
    fast = compare(ref, cur)
    # pandas categoricals take the code-counting path, never the object-string shortcut
    slow = compare(ref.astype({"s": "category"}), cur.astype({"s": "category"}))
    assert fast.feature("s").to_dict() == slow.feature("s").to_dict()
    assert fast.feature("s").kind == "categorical"
    assert fast.feature("s").stats["new_categories"].keys() == {"d"}


def test_threads_and_column_order_do_not_change_the_report(monkeypatch):
    from monitor.drift import engine

    ref = pd.DataFrame({"x": rng.normal(size=500), "s": _strings(["a", "b"], 500)})
    cur = pd.DataFrame({"x": rng.normal(size=400), "s": _strings(["a", "b"], 400)})
    one = compare(ref, cur, DriftOptions(workers=1))
    monkeypatch.setattr(engine, "POOL_MIN_VALUES", 0)  # threads even for this small input
    two = compare(ref, cur, DriftOptions(workers=2))
    assert one == two
    assert [f.name for f in two.features] == ["x", "s"]


def test_numbers_in_the_current_window_of_a_string_column_still_follow_the_general_rule():
    ref = pd.DataFrame({"s": _strings(["1", "2"], 100)})
    cur = pd.DataFrame({"s": pd.Series([1, 2] * 50, dtype=object)})
    assert compare(ref, cur).feature("s").kind == "categorical"


def test_a_string_column_forced_numeric_is_still_an_input_error():
    from monitor.errors import InputError

    frame = pd.DataFrame({"s": _strings(["a", "b"], 50)})
    options = DriftOptions(per_feature={"s": FeatureOptions(kind="numeric")})
    with pytest.raises(InputError, match="non-numeric"):
        compare(frame, frame, options)


def test_parquet_strings_arrive_as_categoricals_in_file_order(tmp_path):
    frame = pd.DataFrame({"s": ["b", None, "a", "b"], "x": [1.0, np.nan, 3.0, 4.0]})
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    back = read_frame(tmp_path / "f.parquet")
    assert isinstance(back["s"].dtype, pd.CategoricalDtype)
    assert back["s"].astype(object).where(back["s"].notna(), None).tolist() == [
        "b",
        None,
        "a",
        "b",
    ]
    assert back["x"].tolist()[0] == 1.0 and np.isnan(back["x"].tolist()[1])
    assert list(read_frame(tmp_path / "f.parquet", ["x"]).columns) == ["x"]


def test_importing_results_does_not_import_scipy_or_pandas():
    code = (
        "import sys, monitor.drift.result, monitor.drift.registry; "
        "print('scipy.stats' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
