"""Reading CSV/Parquet and inferring kinds; every failure is one InputError line."""

import numpy as np
import pandas as pd
import pytest

from monitor.drift.frames import LOW_CARDINALITY, infer_kind, read_frame
from monitor.errors import InputError


def test_parquet_and_csv_round_trip(tmp_path):
    df = pd.DataFrame({"x": [1.5, np.nan, 3.0], "c": ["a", None, "é"]})
    df.to_parquet(tmp_path / "f.parquet")
    df.to_csv(tmp_path / "f.csv", index=False)
    for name in ("f.parquet", "f.csv"):
        got = read_frame(tmp_path / name)
        assert got["x"].isna().tolist() == [False, True, False]
        assert got["c"].isna().tolist() == [False, True, False]  # empty CSV field is missing
        assert got["c"].iloc[2] == "é"


def test_parquet_is_recognised_by_its_magic_bytes(tmp_path):
    pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "data.bin")
    assert read_frame(tmp_path / "data.bin")["x"].tolist() == [1.0]


def test_columns_are_selected_and_checked(tmp_path):
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_parquet(tmp_path / "f.parquet")
    assert list(read_frame(tmp_path / "f.parquet", ["y"]).columns) == ["y"]
    pd.DataFrame({"x": [1.0]}).to_csv(tmp_path / "f.csv", index=False)
    for name in ("f.csv", "f.parquet"):
        with pytest.raises(InputError, match="'z'"):
            read_frame(tmp_path / name, ["x", "z"])


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (None, ".csv", "no such file"),
        (b"PAR1 not really parquet", ".parquet", "cannot read"),
        (b"", ".csv", "cannot read"),
        (b"\xff\xfe\x00garbage\n\x00\x01", ".csv", "cannot read"),
    ],
)
def test_unreadable_files(tmp_path, content, suffix, message):
    path = tmp_path / f"f{suffix}"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_frame(path)


def test_a_directory_is_unreadable(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_frame(tmp_path)


def s(values, dtype=None):
    return pd.Series(values, dtype=dtype, name="col")


@pytest.mark.parametrize(
    ("values", "dtype", "kind"),
    [
        (["a", "b", None], object, "categorical"),
        (["a", "b"], "string", "categorical"),
        ([True, False], bool, "categorical"),
        ([True, None], "boolean", "categorical"),
        (list(range(LOW_CARDINALITY)), "int64", "categorical"),
        (list(range(LOW_CARDINALITY + 1)), "int64", "numeric"),
        ([0.5, 1.5, np.nan], "float64", "numeric"),
        ([0.0, 1.0, np.nan], "float64", "categorical"),  # integers with gaps
        ([1, 2.5, None], object, "numeric"),
        (pd.Categorical(["x", "y"]), None, "categorical"),
    ],
)
def test_kinds(values, dtype, kind):
    series = s(values, dtype)
    assert infer_kind("col", series, series) == kind


def test_all_missing_reference_takes_the_current_kind():
    assert infer_kind("col", s([None, None], object), s([0.5, 1.5])) == "numeric"
    assert infer_kind("col", s([np.nan]), s([np.nan])) == "categorical"


@pytest.mark.parametrize(
    "values", [pd.to_datetime(["2024-01-01"]), [1, "a"], [b"bytes", b"x"], [1 + 2j]]
)
def test_uninferable_kinds_name_the_column(values):
    series = s(values)
    with pytest.raises(InputError, match="cannot infer the kind of column 'col'"):
        infer_kind("col", series, series)


def test_numeric_reference_with_string_current_is_an_error():
    with pytest.raises(InputError, match="numeric in the reference"):
        infer_kind("col", s([0.5, 1.5]), s(["a", "b"]))
