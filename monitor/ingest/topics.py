"""Create topics explicitly, with the partition count we want; creating twice is fine.

Why explicit: a broker that auto-creates topics picks its own partition count (tansu: 4),
and partitions are how consumers scale out, so the count is a decision, not an accident.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from monitor.errors import TopicError
from monitor.settings import KafkaSettings

log = logging.getLogger("monitor.ingest.topics")

_TOPIC_ALREADY_EXISTS = 36


def create_topics(
    kafka: KafkaSettings,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = -1,
    bootstrap: list[str] | None = None,
) -> list[str]:
    """Create each topic with `partitions` partitions unless it exists; return those created.

    replication_factor -1 means the broker's default.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import for_code

    opts = kafka.client_options()
    if bootstrap:
        opts["bootstrap_servers"] = bootstrap
    wanted = {
        name: {"num_partitions": partitions, "replication_factor": replication_factor}
        for name in dict.fromkeys(names)
    }
    admin = KafkaAdminClient(**opts)
    try:
        result = admin.create_topics(wanted, raise_errors=False, wait_for_metadata=False)
        created = []
        for topic in result["topics"]:
            code = topic["error_code"]
            if code == 0:
                created.append(topic["name"])
            elif code != _TOPIC_ALREADY_EXISTS:
                err = for_code(code).__name__
                raise TopicError(
                    f"cannot create topic {topic['name']!r}: {err} {topic.get('error_message') or ''}".strip()
                )
        if created:
            admin.wait_for_topics(created)
        log.info(
            "topics_ready", extra={"topics_created": ",".join(created), "partitions": partitions}
        )
        return created
    finally:
        admin.close()
