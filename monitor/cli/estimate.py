"""`monitor estimate REFERENCE CURRENT`: estimate a model's performance on unlabelled rows.

The estimator is fitted on REFERENCE (which needs the target column) and applied to CURRENT;
when CURRENT has the target too, the realised value is shown beside each estimate.
Exit codes: 0 estimated; 2 unreadable input, missing/mismatched columns or unknown method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.errors import InputError


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _names(text: str | None, option: str) -> list[str]:
    names = [c.strip() for c in (text or "").split(",") if c.strip()]
    if text is not None and not names:
        raise InputError(f"{option} names no column")
    return names


def _need(frame: Any, columns: list[str], which: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{which} has no column {_printable(missing[0])!r}")


def _proba_spec(text: str) -> list[tuple[str | None, str]]:
    """`--proba COL` (binary, positive class) or `--proba CLASS=COL,CLASS=COL,...`."""
    parts = _names(text, "--proba")
    if len(parts) == 1 and "=" not in parts[0]:
        return [(None, parts[0])]
    spec: list[tuple[str | None, str]] = []
    for part in parts:
        cls, sep, col = part.partition("=")
        if not sep or not cls or not col:
            raise InputError(f"--proba: {_printable(part)!r} is not CLASS=COLUMN")
        spec.append((cls, col))
    return spec


def _values(frame: Any, column: str | None) -> list[Any] | None:
    if column is None or column not in frame.columns:
        return None
    return [None if v != v else v for v in frame[column].astype(object).tolist()]


def _classes(ref: Any, target: str, prediction: str | None) -> list[Any]:
    seen = set()
    for col in (target, prediction):
        for v in _values(ref, col) or []:
            if v is not None:
                seen.add(v)
    classes = sorted(seen, key=lambda v: (str(type(v)), v))
    if len(classes) != 2:
        raise InputError(
            f"one --proba column needs two classes in the reference, found {len(classes)}; "
            "give CLASS=COLUMN for each class"
        )
    return classes


def _classification(ref, cur, target, prediction, proba_text) -> tuple[Any, Any]:
    from monitor.performance.estimation import classification_data

    spec = _proba_spec(proba_text)
    cols = [c for _, c in spec]
    _need(ref, [target, *cols] + ([prediction] if prediction else []), "REFERENCE")
    _need(cur, cols + ([prediction] if prediction else []), "CURRENT")
    classes = _classes(ref, target, prediction) if spec[0][0] is None else [c for c, _ in spec]
    out = []
    for frame in (ref, cur):
        scores = frame[cols].to_numpy(dtype=float, na_value=float("nan"))
        out.append(
            classification_data(
                scores[:, 0] if len(cols) == 1 else scores,
                classes,
                _values(frame, prediction),
                _values(frame, target),
            )
        )
    return out[0], out[1]


def _regression(ref, cur, target, prediction, features_text) -> tuple[Any, Any]:
    from monitor.performance.estimation import regression_data
    from monitor.performance.estimation.frames import feature_matrices

    if prediction is None:
        raise InputError("--prediction is needed for dle")
    _need(ref, [target, prediction], "REFERENCE")
    _need(cur, [prediction], "CURRENT")
    features = _names(features_text, "--features") or [
        c for c in ref.columns if c not in (target, prediction)
    ]
    _need(ref, features, "REFERENCE")
    _need(cur, features, "CURRENT")
    x_ref, x_cur = feature_matrices(ref, cur, features)
    out = []
    for frame, x in ((ref, x_ref), (cur, x_cur)):
        pred = frame[prediction].to_numpy(dtype=float, na_value=float("nan"))
        y = None
        if target in frame.columns:
            y = frame[target].to_numpy(dtype=float, na_value=float("nan"))
        out.append(regression_data(x, pred, y))
    return out[0], out[1]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def render_table(result: Any) -> str:
    head = ("metric", "estimate", "band", "sampling error", "reference error", "realised")
    rows = [head]
    for m in result.metrics.values():
        band = "-" if m.lower is None else f"[{m.lower:.4g}, {m.upper:.4g}]"
        rows.append(
            (
                m.name,
                _fmt(m.value),
                band,
                _fmt(m.sampling_error),
                _fmt(m.reference_error),
                _fmt(m.realised),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("")
    lines.append(f"method: {result.method}; rows: {result.rows}")
    for m in result.metrics.values():
        if m.reason:
            lines.append(f"note: {m.name}: {m.reason}")
    lines.extend(f"note: {_printable(n)}" for n in result.notes)
    return "\n".join(lines)


@click.command("estimate")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("current", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="Label column (needed in REFERENCE).")
@click.option("--prediction", default=None, help="Predicted class / value column.")
@click.option("--proba", default=None, help="COL (binary: positive class) or CLASS=COL,...")
@click.option("--features", default=None, help="dle: feature columns (default: the others).")
@click.option(
    "--method",
    type=click.Choice(["cbpe", "dle", "ac", "atc"]),
    default=None,
    help="Estimator (default: cbpe with --proba, else dle).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
def estimate(
    reference: Path,
    current: Path,
    target: str,
    prediction: str | None,
    proba: str | None,
    features: str | None,
    method: str | None,
    as_json: bool,
) -> int:
    """Fit an estimator on REFERENCE and estimate performance on CURRENT (CSV or Parquet)."""
    import orjson

    from monitor.drift.frames import read_frame
    from monitor.performance.estimation import get_estimator

    method = method or ("cbpe" if proba else "dle")
    chosen = get_estimator(method)
    if chosen.task == "classification" and proba is None:
        raise InputError(f"--proba is needed for {method}")
    ref, cur = read_frame(reference), read_frame(current)
    if chosen.task == "classification":
        ref_data, cur_data = _classification(ref, cur, target, prediction, proba)
    else:
        ref_data, cur_data = _regression(ref, cur, target, prediction, features)
    result = chosen.estimate(chosen.fit(ref_data), cur_data)
    if as_json:
        click.echo(orjson.dumps(result.to_dict()).decode())
    else:
        click.echo(render_table(result))
    return 0


COMMANDS = [estimate]
