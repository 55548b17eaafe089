"""Reading CSV/Parquet columns straight into arrays (pyarrow, no pandas), one at a time.

What the batch CLI needs and nothing more: a numeric column becomes one float64 array
(NaN = missing); a string or bool column becomes integer codes into its few distinct
values (Arrow dictionary encoding: no Python object per row). Integer columns stay one
int64/float64 array until their kind is known. A Parquet column is read only when a
worker asks for it, so at most `workers` column pairs are in memory at once.

Types this reader does not handle the way `frames.read_frame` + pandas would (dates,
decimals, nested, a column whose Arrow type differs between the two files) make
`supported` False and the caller takes the pandas path instead: identical numbers either way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from monitor.errors import InputError

PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class Column:
    """One file's column: `values` (numbers) or `codes` + `categories` (strings, bools)."""

    values: np.ndarray | None = None  # float64 or int64; NaN = missing (floats)
    codes: np.ndarray | None = None  # int64 codes into `categories`, -1 = missing
    categories: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.values) if self.values is not None else len(self.codes)  # type: ignore[arg-type]


def is_parquet(path: Path) -> bool:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return True
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def _group(t: Any) -> str | None:
    """'float', 'int', 'string', 'bool' for the Arrow types read here; None: not handled."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return "string" if _group(t.value_type) == "string" else None
    if pa.types.is_floating(t) or pa.types.is_null(t):  # null: no value at all, all NaN
        return "float"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    return None


class Source:
    """A CSV or Parquet file opened for column reads; errors are InputErrors naming it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._table = None
        self._file = None
        with _errors(path):
            if is_parquet(path):
                from pyarrow import parquet

                schema = parquet.read_schema(path)
                strings = [f.name for f in schema if _group(f.type) == "string"]
                # no pre-buffering: its read cache completes Arrow futures on Arrow's IO
                # pool, and concurrent reads of one file through it hung (seen at 10k rows)
                self._file = parquet.ParquetFile(path, read_dictionary=strings, pre_buffer=False)
                self.rows = self._file.metadata.num_rows
                self.has_index = _stored_index(schema)
            else:
                from pyarrow import csv

                convert = csv.ConvertOptions(
                    strings_can_be_null=True,
                    auto_dict_encode=True,
                    auto_dict_max_cardinality=2**31 - 1,
                )
                self._table = csv.read_csv(path, convert_options=convert)
                schema = self._table.schema
                self.rows = self._table.num_rows
                self.has_index = False
        self._lock = threading.Lock()
        self.names: list[str] = list(schema.names)
        self.groups = {f.name: _group(f.type) for f in schema}

    def read(self, name: str) -> Column:
        """One column as arrays (a Parquet column is read from disk now)."""
        with _errors(self.path):
            if self._file is not None:
                # one reader at a time per file (a ParquetFile is not safe to share), decoded
                # on this worker's thread: our workers are the parallelism, not Arrow's pool
                with self._lock:
                    chunked = self._file.read(columns=[name], use_threads=False).column(0)
            else:
                chunked = self._table.column(name)  # type: ignore[union-attr]
            return to_column(chunked, self.groups[name])


def _stored_index(schema: Any) -> bool:
    """Whether pandas stored an index as a column (`read_frame` makes it the index)."""
    import json

    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return False
    try:
        index = json.loads(raw).get("index_columns", [])
    except ValueError:
        return True  # unreadable pandas metadata: let the pandas path decide
    return any(isinstance(entry, str) for entry in index)


def to_column(chunked: Any, group: str | None) -> Column:
    """Arrow chunked array -> Column (floats with NaN, ints as int64, strings/bools as codes).

    Built from the Arrow buffers with numpy alone: pyarrow's own `to_numpy`/`fill_null`
    import pandas (a second of start-up) to convert.
    """
    import pyarrow as pa

    chunks = chunked.chunks
    if group in ("float", "int"):
        if group == "int" and chunked.null_count == 0:
            return Column(values=_joined([_fixed(c.cast(pa.int64()), np.int64) for c in chunks]))
        return Column(values=_joined([_fixed(c.cast(pa.float64()), np.float64) for c in chunks]))
    if group == "bool":
        return _bools(chunks)
    if not chunks:
        return Column(codes=np.empty(0, dtype=np.int64), categories=[])
    chunked = chunked.unify_dictionaries()
    categories = chunked.chunk(0).dictionary.to_pylist()
    codes = [
        _fixed(c.indices, np.dtype(f"int{c.indices.type.bit_width}"), -1, c) for c in chunked.chunks
    ]
    return Column(codes=_joined(codes, np.int64), categories=categories)


def _joined(parts: list[np.ndarray], dtype: Any = None) -> np.ndarray:
    if len(parts) == 1 and (dtype is None or parts[0].dtype == dtype):
        return parts[0]
    if not parts:
        return np.empty(0, dtype=dtype or np.float64)
    return np.concatenate(parts).astype(dtype or parts[0].dtype, copy=False)


def _fixed(arr: Any, dtype: Any, missing: Any = np.nan, validity_of: Any = None) -> np.ndarray:
    """A fixed-width Arrow array as numpy (zero copy without nulls), nulls set to `missing`."""
    n = len(arr)
    data = arr.buffers()[1]
    if data is None:  # the null type: nothing but nulls
        return np.full(n, missing, dtype=dtype)
    out = np.frombuffer(data, dtype=dtype, count=n, offset=arr.offset * np.dtype(dtype).itemsize)
    holder = arr if validity_of is None else validity_of
    if holder.null_count:
        out = out.copy()
        out[~_valid(holder)] = missing
    return out


def _valid(arr: Any) -> np.ndarray:
    """The validity bitmap of an Arrow array as booleans."""
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[arr.offset : arr.offset + len(arr)].astype(bool)


def _bools(chunks: list[Any]) -> Column:
    """Bools as codes into [first value seen, the other] (pandas' factorize order)."""
    parts = []
    for c in chunks:
        bits = np.unpackbits(np.frombuffer(c.buffers()[1], dtype=np.uint8), bitorder="little")
        codes = bits[c.offset : c.offset + len(c)].astype(np.int64)  # 0 False, 1 True
        if c.null_count:
            codes[~_valid(c)] = -1
        parts.append(codes)
    codes = _joined(parts, np.int64)
    seen = codes[codes >= 0]
    if seen.size and seen[0] == 1:  # True came first
        codes = np.where(codes >= 0, 1 - codes, codes)
        return Column(codes=codes, categories=[True, False])
    return Column(codes=codes, categories=[False, True])


class _errors:
    """Arrow/OS failures while reading `path` become one InputError line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc is None or isinstance(exc, InputError):
            return False
        import pyarrow as pa

        p = self.path
        if isinstance(exc, FileNotFoundError):
            raise InputError(f"cannot read {p}: no such file") from None
        if isinstance(exc, IsADirectoryError):
            raise InputError(f"cannot read {p}: is a directory") from None
        if isinstance(exc, OSError | pa.ArrowException | ValueError | UnicodeDecodeError):
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot read {p}: {reason}") from None
        return False
