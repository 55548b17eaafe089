"""JSON-safe values: numpy scalars to Python, NaN/±inf to None (JSON has neither).

A leaf module (numpy only) so drift results, performance metrics, runs and alerts share one
definition without importing each other's packages.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """Recursively: numpy scalars -> Python, NaN/±inf -> None, tuple -> list, keys -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value
