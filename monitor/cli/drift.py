"""`monitor drift REFERENCE CURRENT`: batch drift check, also a CI/CD gate.

Exit codes: 0 nothing the gate looks at holds (or no --fail-on-drift); 1 with
--fail-on-drift when the gate fails: the rules the config names, else dataset drift or
(when `multivariate: true`) the domain classifier's verdict; 2 unreadable input, bad
config, mismatched columns or unknown method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def load_drift_config(path: str | Path) -> Any:
    """The `DriftSettings` of a drift-options file (`monitor report` reads the same files)."""
    from monitor.cli.drift_config import load_drift_config as load

    config = load(path)
    if config.settings is None:
        from monitor.settings import DriftSettings

        return DriftSettings()
    return config.settings


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
    help="YAML with drift options (method, threshold, per_feature, ignore, drift_share, bins, "
    "multivariate, rules), or a service config with --monitor.",
)
@click.option(
    "--monitor",
    "monitor_name",
    default=None,
    help="With a service config: take this monitor's drift options and rules.",
)
@click.option("--columns", default=None, help="Comma-separated columns to compare (default: all).")
@click.option("--method", default=None, help="Method for every feature it applies to.")
@click.option(
    "--threshold",
    type=click.Choice(["auto"]),
    default=None,
    help="auto: thresholds from the reference's own variability, calibrated on the fly "
    "(slower; docs/drift.md). Default: the fixed thresholds (or the config's numbers).",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="With --threshold auto: the chance that an unchanged dataset is reported as drifted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help="Exit 1 when a rule of the config fires (without rules: dataset drift, or the "
    "domain classifier's verdict with multivariate: true).",
)
def drift(
    reference: Path,
    current: Path,
    config_path: Path | None,
    monitor_name: str | None,
    columns: str | None,
    method: str | None,
    threshold: str | None,
    alpha: float,
    as_json: bool,
    fail_on_drift: bool,
) -> int:
    """Compare CURRENT with REFERENCE (CSV or Parquet files) and report drift per feature."""
    from monitor.threads import configure

    configure()  # before numpy loads OpenBLAS: one thread per column worker

    from monitor.cli.drift_config import load_drift_config as load
    from monitor.cli.drift_gate import gate_lines, judge
    from monitor.cli.inputs import quiet_scipy_notes

    quiet_scipy_notes()
    config = load(config_path, monitor_name)
    report, decision = _compare(reference, current, config, columns, method, threshold, alpha)
    gate = judge(report, config)
    if as_json:
        import orjson

        out = report.to_dict()
        if decision is not None:
            out["dataset_decision"] = decision
        if config.rules:
            out["rules"] = gate.to_list()
        click.echo(orjson.dumps(out).decode())
    else:
        click.echo("\n".join([render_table(report), *gate_lines(report, gate)]))
    return 1 if fail_on_drift and gate.failed else 0


def _compare(
    reference: Path,
    current: Path,
    config: Any,
    columns: str | None,
    method: str | None,
    threshold: str | None,
    alpha: float,
) -> tuple[Any, dict[str, Any] | None]:
    """The report (and with --threshold auto the dataset decision): apart from the command
    so its options, reading and printing stay readable. Column by column from the files
    unless auto thresholds or the domain classifier need the frames."""
    import dataclasses

    from monitor.cli.drift_gate import with_multivariate
    from monitor.cli.inputs import parse_columns, read_inputs
    from monitor.drift.columnar import compare_files
    from monitor.drift.options import DriftOptions
    from monitor.drift.result import DriftReport

    settings = config.settings
    options = (
        DriftOptions.from_settings(settings.fixed(), prefix="")  # "auto" only on request
        if settings is not None
        else DriftOptions()
    )
    if method is not None:
        options = dataclasses.replace(options, method=method)
    decision = None
    report: DriftReport | None
    if threshold == "auto":
        from monitor.cli.drift_auto import auto_report
        from monitor.drift.config import DriftSettings

        ref, cur, names = read_inputs(reference, current, columns)
        update = {"threshold": "auto", **({"method": method} if method else {})}
        auto = (settings or DriftSettings()).model_copy(update=update)
        report, decision = auto_report(ref, cur, auto, options, names, alpha)
        report = with_multivariate(report, config, ref, cur)
    else:  # arrays, column pair by column pair; pandas frames only when a column needs them
        report = compare_files(reference, current, options, parse_columns(columns))
    if report is None or (config.multivariate and threshold != "auto"):
        from monitor.drift.engine import compare

        ref, cur, names = read_inputs(reference, current, columns)
        report = report or compare(ref, cur, options, names)
        report = with_multivariate(report, config, ref, cur)
    return report, decision


COMMANDS = [drift]
