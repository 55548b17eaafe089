"""`monitor deploy`: record that a model version went live with its training data."""

from __future__ import annotations

import click

from monitor.cli._common import CONFIG, open_store


@click.command("deploy")
@click.option("--model", required=True, help="The model (as its monitors name it).")
@click.option("--version", "version", required=True, help="The version that went live.")
@click.option(
    "--reference",
    required=True,
    help="Its training data: a CSV or Parquet file path, or an MLflow models:/NAME/VERSION.",
)
@click.option(
    "--trigger",
    default=None,
    metavar="DELIVERY_ID",
    help="The outbox delivery id of the retraining trigger that caused it.",
)
@CONFIG
def deploy_cmd(
    model: str, version: str, reference: str, trigger: str | None, config_path: str | None
) -> None:
    """Switch the model's monitors to VERSION and its reference; resolve the old version's
    drift and performance alerts as superseded. The same deployment twice records once."""
    from monitor.deployments import deploy

    settings, engine = open_store(config_path)
    outcome = deploy(
        engine, settings, model=model, version=version, reference=reference, trigger=trigger
    )
    d = outcome.deployment
    if not outcome.created:
        click.echo(f"deployment {d.id}: {model} version {d.version} already recorded")
        return
    refs = ", ".join(f"{m} v{v}" for m, v in sorted(d.reference_versions.items()))
    click.echo(f"deployment {d.id}: {model} version {d.version} (references: {refs})")
    click.echo(f"superseded alerts: {len(d.superseded)}")
    if d.trigger_delivery_id:
        click.echo(f"trigger: delivery {d.trigger_delivery_id} (alert {d.alert_id})")


COMMANDS = [deploy_cmd]
