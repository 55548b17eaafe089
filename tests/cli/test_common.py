"""The CLI's shared printing helpers (monitor.cli._common): numbers, untrusted names, JSON."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np

from monitor.cli._common import echo_json, num, safe


def test_num_prints_fixed_decimals_and_a_dash_for_none() -> None:
    assert num(None) == "-"
    assert num(0.12345) == "0.123"
    assert num(2, 1) == "2.0"


def test_safe_replaces_control_characters_and_bounds_the_length() -> None:
    assert safe("a\x1b[31mb\nc") == "a?[31mb?c"
    assert safe("x" * 10, limit=5) == "xxxx…"
    assert safe(42) == "42"


def test_echo_json_writes_indented_json_with_nan_as_null(capsys) -> None:
    echo_json({"a": math.nan, "b": np.float64(1.5), "at": datetime(2026, 1, 1, tzinfo=UTC)})
    out = capsys.readouterr().out
    assert out.endswith("}\n") and "\n  " in out
    assert json.loads(out) == {"a": None, "b": 1.5, "at": "2026-01-01T00:00:00+00:00"}
