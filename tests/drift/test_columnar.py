"""The CLI's array path (`compare_files`) equals `engine.compare` on the frames, and the CLI
process never imports pandas."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyarrow import parquet

from monitor.drift.columnar import compare_files
from monitor.drift.engine import compare
from monitor.drift.frames import read_frame
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.errors import InputError

N = 3_000


def frames(seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, N)
    x[rng.random(N) < 0.05] = np.nan
    x[:3] = [np.inf, -np.inf, np.inf]
    gappy = rng.integers(0, 6, N).astype(float) * 2
    gappy[rng.random(N) < 0.1] = np.nan
    words = rng.choice(["a", "b", "ü", "d"], N, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    words[rng.random(N) < 0.05] = None
    if shift:
        words[:40] = "new"
    flags = pd.array(rng.random(N) < 0.3 + shift / 10, dtype="boolean")
    flags[rng.random(N) < 0.02] = pd.NA
    return pd.DataFrame(
        {
            "x": x,
            "few_ints": rng.integers(0, 5 + int(shift), N),
            "many_ints": rng.integers(0, 1_000, N),
            "gappy": gappy,
            "words": words,
            "flag": rng.random(N) < 0.5,
            "flag_na": flags,
            "empty": np.full(N, np.nan),
            "constant": np.full(N, 3.5),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("columnar")
    ref, cur = frames(1, 0.0), frames(2, 0.4)
    parquet.write_table(pa.Table.from_pandas(ref, preserve_index=False), root / "ref.parquet")
    # several row groups: dictionaries differ between chunks
    parquet.write_table(
        pa.Table.from_pandas(cur, preserve_index=False), root / "cur.parquet", row_group_size=700
    )
    ref.drop(columns=["flag_na"]).to_csv(root / "ref.csv", index=False)
    cur.drop(columns=["flag_na"]).to_csv(root / "cur.csv", index=False)
    return root


OPTIONS = [
    DriftOptions(),
    DriftOptions(workers=1, small_sample=10_000),  # p-value tests at this size
    DriftOptions(
        method="psi",
        ignore=("constant",),
        per_feature={"few_ints": FeatureOptions(kind="numeric", method="ks", threshold=0.01)},
        extra=("anderson",),
    ),
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_equals_the_frame_engine(files, options, suffix):
    ref, cur = files / f"ref.{suffix}", files / f"cur.{suffix}"
    got = compare_files(ref, cur, options)
    assert got is not None
    want = compare(read_frame(ref), read_frame(cur), options)
    assert got.to_dict() == want.to_dict()
    assert any(f.drifted for f in got.features) and len(got.features) >= 7


def test_selected_columns_equal_the_frame_engine(files):
    ref, cur = files / "ref.parquet", files / "cur.parquet"
    got = compare_files(ref, cur, DriftOptions(), ["words", "x"])
    want = compare(read_frame(ref, ["words", "x"]), read_frame(cur, ["words", "x"]))
    assert got is not None and got.to_dict() == want.to_dict()
    with pytest.raises(InputError, match="has no column"):
        compare_files(ref, cur, DriftOptions(), ["x", "nope"])


def test_types_it_does_not_read_go_to_the_frame_path(tmp_path):
    dates = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=10), "x": np.arange(10.0)})
    dates.to_parquet(tmp_path / "d.parquet")
    assert compare_files(tmp_path / "d.parquet", tmp_path / "d.parquet", DriftOptions()) is None
    # a stored (non-range) index: read_frame makes it the index, not a column
    named = pd.DataFrame({"x": np.arange(10.0)}, index=pd.Index(list("abcdefghij"), name="k"))
    named.to_parquet(tmp_path / "i.parquet")
    assert compare_files(tmp_path / "i.parquet", tmp_path / "i.parquet", DriftOptions()) is None
    # strings in one file, numbers in the other
    pd.DataFrame({"x": ["1", "2"]}).to_parquet(tmp_path / "s.parquet")
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(tmp_path / "n.parquet")
    assert compare_files(tmp_path / "s.parquet", tmp_path / "n.parquet", DriftOptions()) is None


PROBE = """
import sys
from monitor.cli import main
code = main(["drift", sys.argv[1], sys.argv[2], "--json"])
heavy = [m for m in ("pandas", "sklearn") if m in sys.modules]
print("HEAVY", " ".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def test_the_cli_process_never_imports_pandas(tmp_path):
    """Reading and counting are pyarrow + numpy; binned statistics need scipy.special only."""
    rng = np.random.default_rng(5)
    for name, seed in (("ref", 1), ("cur", 2)):
        pd.DataFrame(
            {
                "c": np.random.default_rng(seed).choice(["a", "b", "c"], 2_000),
                "k": rng.integers(0, 4, 2_000),
            }
        ).to_parquet(tmp_path / f"{name}.parquet", index=False)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, tmp_path / "ref.parquet", tmp_path / "cur.parquet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["features"][0]["method"] == "jensenshannon"
    heavy = proc.stderr.split("HEAVY", 1)[1].split()
    assert heavy == []


STRESS = """
import sys
from pathlib import Path
from monitor.drift.columnar import compare_files
from monitor.drift.options import DriftOptions
for _ in range(int(sys.argv[3])):
    compare_files(Path(sys.argv[1]), Path(sys.argv[2]), DriftOptions(workers=4))
print("done")
"""


def test_concurrent_column_reads_never_hang(tmp_path):
    """Workers read columns of one Parquet file at once (a shared ParquetFile with
    pre-buffering failed with "ReadRangeCache did not find matching cache entry" or hung):
    many runs finish, without an error, well inside the timeout."""
    rng = np.random.default_rng(9)
    for name in ("ref", "cur"):
        frame = pd.DataFrame({f"x{i}": rng.normal(size=5_000) for i in range(20)})
        frame["c"] = rng.choice(["a", "b", "c"], 5_000)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        parquet.write_table(table, tmp_path / f"{name}.parquet", row_group_size=1_000)
    proc = subprocess.run(
        [sys.executable, "-c", STRESS, tmp_path / "ref.parquet", tmp_path / "cur.parquet", "30"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr
