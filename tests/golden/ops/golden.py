"""Golden files of the operational edges (issue 13: pin JSON shapes before moving code).

`compare(name, got)` checks `got` against tests/golden/ops/<name>.json; with
MONITOR_UPDATE_GOLDEN=1 it (re)writes the file instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def shape(value: Any) -> Any:
    """The JSON document with every scalar replaced by its JSON type name."""
    if isinstance(value, dict):
        return {str(k): shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def compare(name: str, got: Any) -> None:
    path = HERE / f"{name}.json"
    if os.environ.get("MONITOR_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(path.read_text())
    assert json.loads(json.dumps(got)) == want, f"{path.name} differs (MONITOR_UPDATE_GOLDEN=1)"
