"""`monitor drift REFERENCE CURRENT`: batch drift check, also a CI/CD gate.

Exit codes: 0 no dataset drift (or drift without --fail-on-drift); 1 dataset drift with
--fail-on-drift; 2 unreadable input, bad config, mismatched columns or unknown method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.errors import ConfigError


def load_drift_config(path: str | Path) -> Any:
    """A YAML file of `DriftSettings` keys, validated; ConfigError names the bad key path."""
    import yaml
    from pydantic import ValidationError

    from monitor.settings import DriftSettings

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config error: cannot read {p}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"config error: {p} is not valid YAML") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config error at <root>: {p} must hold a mapping of drift options")
    try:
        return DriftSettings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or "<root>"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"config error at {where}: {msg}") from None


def _printable(text: str) -> str:
    """Untrusted names shown on a terminal: control characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _num(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.4g}"


def render_table(report: Any) -> str:
    """A fixed-width table, one feature per line, then the dataset verdict."""
    head = (
        "feature",
        "kind",
        "method",
        "statistic",
        "p_value",
        "threshold",
        "drift",
        "missing ref",
        "missing cur",
    )
    rows = [head]
    for f in report.features:
        rows.append(
            (
                _printable(f.name),
                f.kind,
                f.method,
                _num(f.statistic),
                _num(f.p_value),
                _num(f.threshold),
                "DRIFT" if f.drifted else "ok",
                f"{f.missing_share_reference:.2%}",
                f"{f.missing_share_current:.2%}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    drifted = sum(f.drifted for f in report.features)
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    lines.append("")
    lines.append(
        f"dataset: {verdict} ({drifted}/{len(report.features)} features drifted, share "
        f"{report.drift_share:.2f}, threshold {report.drift_share_threshold:.2f}); "
        f"rows: reference {report.reference_rows}, current {report.current_rows}"
    )
    for f in report.features:
        if "error" in f.quality:
            lines.append(f"note: {_printable(f.name)}: {f.quality['error']}")
    return "\n".join(lines)


@click.command("drift")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("current", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML with drift options: method, threshold, per_feature, ignore, drift_share, bins.",
)
@click.option("--columns", default=None, help="Comma-separated columns to compare (default: all).")
@click.option("--method", default=None, help="Method for every feature it applies to.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--fail-on-drift", is_flag=True, help="Exit 1 when the dataset drifts.")
def drift(
    reference: Path,
    current: Path,
    config_path: Path | None,
    columns: str | None,
    method: str | None,
    as_json: bool,
    fail_on_drift: bool,
) -> int:
    """Compare CURRENT with REFERENCE (CSV or Parquet files) and report drift per feature."""
    import dataclasses

    import orjson

    from monitor.cli.inputs import quiet_scipy_notes, read_inputs
    from monitor.drift.engine import compare
    from monitor.drift.options import DriftOptions
    from monitor.settings import DriftSettings

    quiet_scipy_notes()
    settings = load_drift_config(config_path) if config_path else DriftSettings()
    options = DriftOptions.from_settings(settings, prefix="")
    if method is not None:
        options = dataclasses.replace(options, method=method)
    ref, cur, names = read_inputs(reference, current, columns)
    report = compare(ref, cur, options, names)
    if as_json:
        click.echo(orjson.dumps(report.to_dict()).decode())
    else:
        click.echo(render_table(report))
    return 1 if fail_on_drift and report.dataset_drift else 0


COMMANDS = [drift]
