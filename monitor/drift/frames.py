"""Reading reference/current files (CSV or Parquet) and inferring each column's kind.

Every failure is an InputError naming the file or column, so the CLI prints one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.drift.registry import Kind
from monitor.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

LOW_CARDINALITY = 20  # integer columns with at most this many distinct reference values
PARQUET_MAGIC = b"PAR1"


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return True
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def _to_pandas(table) -> pd.DataFrame:
    """Strings become pandas categoricals: a code array instead of a Python str per row."""
    return table.to_pandas(strings_to_categorical=True, split_blocks=True, self_destruct=True)


def _read_csv(path: Path, columns: list[str] | None) -> pd.DataFrame:
    from pyarrow import csv

    convert = csv.ConvertOptions(strings_can_be_null=True, include_columns=columns)
    return _to_pandas(csv.read_csv(path, convert_options=convert))


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """Parquet read one column at a time, string columns dictionary-encoded.

    Peak memory is the decoded frame plus one column's pages (a whole-table read holds
    every column's pages and decoded values at once: ~30% more at 1M rows), and strings
    arrive as dictionary codes, so no Python string is built per row. The file's pandas
    metadata is kept, so a stored index comes back as the index, as with `read_table`.
    """
    import pyarrow as pa
    from pyarrow import parquet

    schema = parquet.read_schema(path)
    names = schema.names if columns is None else list(columns)  # a subset: no stored index
    strings = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    file = parquet.ParquetFile(path, read_dictionary=strings)
    arrays = [file.read(columns=[name]).column(0) for name in names]
    return _to_pandas(pa.Table.from_arrays(arrays, names=names, metadata=schema.metadata))


def read_frame(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (Parquet by suffix or magic bytes, else CSV).

    String columns come back as pandas categoricals (far less memory than one Python
    object per row; the categorical engine counts their codes directly).
    """
    import pyarrow as pa

    p = Path(path)
    try:
        is_parquet = _is_parquet(p)
        if columns is not None:
            _check_columns(p, is_parquet, columns)
        if is_parquet:
            return _read_parquet(p, columns)
        return _read_csv(p, columns)
    except FileNotFoundError:
        raise InputError(f"cannot read {p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {p}: is a directory") from None
    except (OSError, pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {p}: {reason}") from None


def _check_columns(path: Path, is_parquet: bool, columns: list[str]) -> None:
    """Fail with the missing names before reading any data."""
    if is_parquet:
        from pyarrow import parquet

        names = set(parquet.read_schema(path).names)
    else:
        from pyarrow import csv

        names = set(csv.open_csv(path).schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError(f"{path} has no column(s) {', '.join(map(repr, missing))}")


def _series_kind(s: pd.Series) -> Kind | None:
    """Kind of one window's column, or None when it holds no value to judge by."""
    import pandas as pd

    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_integer_dtype(dtype):
        return "categorical" if s.nunique() <= LOW_CARDINALITY else "numeric"
    if pd.api.types.is_float_dtype(dtype):
        return float_kind(s.to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in {"string", "boolean", "categorical"}:
            return "categorical"
        if inferred == "empty":
            return None
        if inferred in {"integer", "floating", "mixed-integer-float", "decimal"}:
            return float_kind(s.to_numpy(dtype=np.float64, na_value=np.nan))
    raise _cannot_infer(str(s.name), f"values of type {pd.api.types.infer_dtype(s, skipna=True)}")


def float_kind(values: np.ndarray) -> Kind | None:
    """Floats are numeric, except integral values with few distinct ones (ints with gaps)."""
    head = values[:1000]
    head = head[np.isfinite(head)]
    if head.size and not np.array_equal(head, np.round(head)):
        return "numeric"  # the common case, decided without scanning the column
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    if np.array_equal(finite, np.round(finite)) and np.unique(finite).size <= LOW_CARDINALITY:
        return "categorical"
    return "numeric"


def _cannot_infer(name: str, what: str) -> InputError:
    return InputError(
        f"cannot infer the kind of column {name!r} ({what}); "
        "set it with per_feature: {name: {kind: numeric|categorical}}"
    )


def infer_kind(name: str, reference: pd.Series, current: pd.Series) -> Kind:
    """The kind of a column, judged on the reference (the current window when it is empty).

    Strings, bools and pandas categoricals are categorical; integers (and integral floats)
    with at most 20 distinct reference values are categorical; other numbers are numeric.
    Dates, mixed types and anything else raise InputError. A column with no value on
    either side is categorical (nothing to compare; its result only reports missing share).
    """
    import pandas as pd

    ref_kind = _series_kind(reference)
    if ref_kind is not None:
        if reference.dtype == current.dtype and reference.dtype.kind in "biuf":
            return ref_kind  # same numeric/bool dtype: nothing to check
        if not _compatible(current, ref_kind):
            raise InputError(
                f"column {name!r} is {ref_kind} in the reference but holds "
                f"{pd.api.types.infer_dtype(current, skipna=True)} values in the current data"
            )
        return ref_kind
    cur_kind = _series_kind(current)
    return cur_kind if cur_kind is not None else "categorical"


def _compatible(current: pd.Series, kind: Kind) -> bool:
    """Whether the current window's values can be read as `kind`."""
    import pandas as pd

    inferred = pd.api.types.infer_dtype(current, skipna=True)
    if inferred == "empty":
        return True
    numeric_like = {"integer", "floating", "mixed-integer-float", "decimal", "boolean"}
    if kind == "numeric":
        return inferred in numeric_like
    return inferred in numeric_like | {"string", "categorical"}
