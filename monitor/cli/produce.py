"""`monitor produce-sample`: write synthetic prediction (and label) events to Kafka."""

from __future__ import annotations

import click

from monitor.cli._common import CONFIG


@click.command("produce-sample")
@click.option(
    "--bootstrap",
    metavar="HOST:PORT",
    default=None,
    help="Kafka bootstrap server(s), comma-separated (default: from --config).",
)
@CONFIG  # topics and security/SASL/TLS options; without one: built-in defaults
@click.option(
    "--model",
    default="churn",
    show_default=True,
    help="Model name on the events (the feature schema is the sample churn model's).",
)
@click.option("--model-version", default="1", show_default=True)
@click.option(
    "--count",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Number of prediction messages (malformed ones included).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Messages per second; 0 sends as fast as possible.",
)
@click.option(
    "--drift",
    type=float,
    default=0.0,
    show_default=True,
    help="Shift 3 numeric features by this many standard deviations and tilt the "
    "contract mix, so drift monitors have something to find.",
)
@click.option(
    "--bad-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of malformed messages (not JSON, missing field, wrong type, NaN, "
    "unknown model), to exercise the dead-letter path.",
)
@click.option(
    "--label-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of predictions that also get a label event (ground truth).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Same seed, same events (ids and values).",
)
@click.option(
    "--create-topics",
    "partitions",
    type=click.IntRange(min=1),
    default=None,
    help="Create the topics first with this many partitions (skipped if they exist).",
)
@click.pass_context
def produce_sample(
    ctx: click.Context,
    bootstrap: str | None,
    config_path: str | None,
    model: str,
    model_version: str,
    count: int,
    rate: float,
    drift: float,
    bad_share: float,
    label_share: float,
    seed: int,
    partitions: int | None,
) -> None:
    """Write synthetic but realistic prediction events to Kafka.

    Events follow the event contract (see README): 20 features (15 numeric, 5 categorical),
    a prediction, its probability and a segment; labels go to the labels topic.
    """
    from monitor import logs
    from monitor.ingest.errors import kafka_errors
    from monitor.ingest.producer import SampleSpec, generate, make_producer, send_all
    from monitor.ingest.topics import create_topics
    from monitor.settings import load_settings

    settings = load_settings(config_path)
    opts = ctx.obj or {}
    logs.configure(
        opts.get("log_format") or settings.logging.format,
        opts.get("log_level") or settings.logging.level,
    )
    servers = [s.strip() for s in bootstrap.split(",") if s.strip()] if bootstrap else None
    kafka = settings.kafka
    topics = {"predictions": kafka.predictions_topic, "labels": kafka.labels_topic}
    spec = SampleSpec(
        model=model,
        model_version=model_version,
        count=count,
        seed=seed,
        drift=drift,
        bad_share=bad_share,
        label_share=label_share,
    )
    with kafka_errors(servers or kafka.bootstrap_servers):
        if partitions:
            create_topics(kafka, topics.values(), partitions, bootstrap=servers)
        producer = make_producer(kafka, servers)
        try:
            sent = send_all(producer, generate(spec), topics, rate=rate)
        finally:
            producer.close()
    click.echo(f"sent {sent} messages to {topics['predictions']} and {topics['labels']}")


COMMANDS = [produce_sample]
