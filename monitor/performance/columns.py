"""Turn raw label / prediction values (JSON scalars, None for missing) into typed arrays.

Events carry labels and predictions as JSON numbers, strings or bools, so one column can mix
types. The rules, in one place so every metric agrees on what a class is:
- missing: None, and NaN or +-inf (never a valid label or prediction);
- a bool is the integer class 0/1 (so label `true` matches prediction `1`);
- a float with an integral value is that integer (label `1.0` matches prediction `1`);
- if any value of the compared columns is a string, every class is compared as a string
  (`1` -> "1", `1.0` -> "1", `true` -> "1"); otherwise classes are numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from monitor.jsonsafe import json_safe  # noqa: F401 - re-exported for the metric modules

ColumnKind = Literal["int", "float", "str"]


@dataclass(frozen=True)
class Column:
    """`values` (int64, float64 or str) where `valid`; `had_bool`/`had_str`: what the raw
    values were, for task inference."""

    values: np.ndarray
    valid: np.ndarray
    kind: ColumnKind
    had_bool: bool = False

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index: np.ndarray) -> Column:
        return Column(self.values[index], self.valid[index], self.kind, self.had_bool)


def _class_str(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _from_float(arr: np.ndarray, had_bool: bool = False) -> Column:
    valid = np.isfinite(arr)
    if valid.all():
        if np.all(arr == np.trunc(arr)) and np.all(np.abs(arr) < 2**53):
            return Column(arr.astype(np.int64), valid, "int", had_bool)
        return Column(arr, valid, "float", had_bool)
    vals = arr[valid]
    if np.all(vals == np.trunc(vals)) and np.all(np.abs(vals) < 2**53):
        return Column(np.where(valid, arr, 0).astype(np.int64), valid, "int", had_bool)
    return Column(arr, valid, "float", had_bool)


def to_column(values: Any) -> Column:
    """Normalise one column of raw values (see the module rules); a Column is returned as is."""
    if isinstance(values, Column):
        return values
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    kind = arr.dtype.kind
    if kind == "b":
        return Column(arr.astype(np.int64), np.ones(len(arr), bool), "int", True)
    if kind in "iu":
        return Column(arr.astype(np.int64, copy=False), np.ones(len(arr), bool), "int")
    if kind == "f":
        return _from_float(arr.astype(np.float64, copy=False))
    if kind in "US":
        return Column(arr.astype(str), np.ones(len(arr), bool), "str")
    types = set(map(type, arr.tolist()))
    had_bool = bool(types & {bool, np.bool_})
    if types & {str, np.str_}:
        valid = np.fromiter((_is_present(v) for v in arr), bool, len(arr))
        text = np.array([_class_str(v) if ok else "" for v, ok in zip(arr, valid, strict=True)])
        return Column(text.astype(str), valid, "str", had_bool)
    numbers = np.asarray(
        [np.nan if v is None else v for v in arr] if type(None) in types else arr, dtype=np.float64
    )
    return _from_float(numbers, had_bool)


def _is_present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float | np.floating):
        return bool(np.isfinite(value))
    return True


def unify(*columns: Column) -> tuple[Column, ...]:
    """Bring columns to one class kind: str if any is str, else float if any is float."""
    kinds = {c.kind for c in columns}
    if kinds <= {"int"} or len(kinds) == 1:
        return columns
    if "str" in kinds:
        return tuple(_as_str(c) for c in columns)
    return tuple(Column(c.values.astype(np.float64), c.valid, "float", c.had_bool) for c in columns)


def _as_str(column: Column) -> Column:
    if column.kind == "str":
        return column
    text = np.array([_class_str(v) for v in column.values.tolist()], dtype=str)
    if len(text) == 0:
        text = np.array([], dtype=str)
    return Column(text, column.valid, "str", column.had_bool)


def convert_classes(values: Iterable[Any], kind: ColumnKind) -> np.ndarray | None:
    """Class names given out of band (probability keys, a known class list, pos_label) in
    `kind`; None when they cannot be (e.g. key "cat" for integer classes)."""
    raw = list(values)
    if kind == "str":
        return np.array([_class_str(v) for v in raw], dtype=str)
    try:
        nums = np.array([float(v) for v in raw], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if kind == "int":
        if not np.all(np.isfinite(nums)) or np.any(nums != np.trunc(nums)):
            return None
        return nums.astype(np.int64)
    return nums


def unique_classes(*arrays: np.ndarray) -> np.ndarray:
    """Sorted distinct values of several arrays; a counting path for small non-negative ints."""
    parts: list[np.ndarray] = []
    for arr in arrays:
        if len(arr) == 0:
            continue
        if arr.dtype.kind == "i":
            lo, hi = int(arr.min()), int(arr.max())
            if lo >= 0 and hi < 1 << 20:
                parts.append(np.flatnonzero(np.bincount(arr, minlength=hi + 1)).astype(np.int64))
                continue
        parts.append(np.unique(arr))
    if not parts:
        return np.array([])
    out = parts[0]
    for p in parts[1:]:
        out = np.union1d(out, p)
    return out


def python_value(value: Any) -> Any:
    """A class as a plain JSON-able Python value."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def python_values(values: Sequence[Any] | np.ndarray) -> list[Any]:
    return [python_value(v) for v in values]
