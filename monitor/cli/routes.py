"""`monitor routes list|test`: the configured notification routes, and a test send over one.

Exit codes: 0 the test was delivered; 1 the target refused or could not be reached (the
reason is printed); 2 bad input or config (unknown route, unset auth variable at load).
"""

from __future__ import annotations

import click

from monitor.cli._common import CONFIG, service_settings
from monitor.errors import RouteTestFailed


@click.group("routes")
def routes() -> None:
    """Notification routes (Slack, webhooks, Alertmanager, retraining targets)."""


@routes.command("list")
@CONFIG
def list_routes(config_path: str | None) -> None:
    """Name and type of each route in alerting.routes."""
    settings = service_settings(config_path)
    for name, route in sorted(settings.alerting.routes.items()):
        click.echo(f"{name}\t{route.type}")


@routes.command("test")
@click.argument("name")
@CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def test_route(name: str, config_path: str | None, as_json: bool) -> None:
    """Send one test notification (event "route.test") over route NAME, once, not stored.

    \b
    A retraining route starts a real run of its target: the run's conf/inputs carry
    event=route.test so the pipeline can stop early.
    """
    from monitor.cli.dead_letters import escape_text
    from monitor.notify.probe import send_test

    settings = service_settings(config_path)
    result = send_test(settings.alerting, name)
    if as_json:
        import orjson

        click.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_SORT_KEYS).decode())
    r = result.result
    if r.outcome != "delivered":
        raise RouteTestFailed(f"route {name!r} ({result.channel}): not delivered: {r.error}")
    if not as_json:
        answer = dict(r.answer or {})
        parts = [f"route {name!r} ({result.channel}): delivered"]
        if r.external_id:
            parts.append(f"run id {escape_text(r.external_id, 200)}")
        if answer.get("url"):
            parts.append(f"url {escape_text(str(answer['url']), 300)}")
        parts.append(f"delivery id {result.delivery_id}")
        click.echo("; ".join(parts))


COMMANDS = [routes]
