"""At-least-once delivery with idempotent writes, under crashes, outages and rebalances."""

from __future__ import annotations

import threading
import time

from ingest_support import create_database, drop_database, events, set_connections, wait_until
from kafka.structs import TopicPartition

from monitor.errors import StorageError
from monitor.storage import StorageUnavailable, make_engine, upgrade


class Crash(Exception):
    """Stands in for a process dying after the DB commit and before the offset commit."""


def test_killed_between_db_commit_and_offset_commit_duplicates_nothing(kit):
    kit.create_topics(partitions=1)
    kit.produce(events(kit.model, 0, 300), partition=0)
    settings = kit.settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"max_poll_records": 100})}
    )
    calls = []

    def crash_on_second_batch(batch):
        calls.append(batch.size)
        if len(calls) == 2:
            raise Crash

    first = kit.ingestor(settings=settings, before_commit=crash_on_second_batch)
    thread, _, errors = kit.start(first)
    thread.join(60)
    assert len(errors) == 1 and isinstance(errors[0], Crash)
    committed = kit.committed()[0] or 0
    stored = kit.predictions()
    # At most the first batch's offsets reached Kafka; the second batch (and any later one the
    # pipeline had already stored) is in the database regardless.
    assert committed in (0, calls[0])
    assert stored >= calls[0] + calls[1] > committed

    second = kit.ingestor(settings=settings)
    thread, stop, errors = kit.start(second)
    wait_until(lambda: kit.committed()[0] == 300, what="offsets committed up to 300")
    stop.set()
    thread.join(30)
    assert not errors
    assert kit.predictions() == 300
    assert sum(second.metrics.consumed.values()) == 300 - committed  # it re-read the second batch
    assert second.metrics.duplicates == stored - committed  # ... and stored none of it twice


def test_database_outage_mid_stream_loses_nothing(kit, pg_server):
    name, url = create_database(pg_server)  # our own database: the outage must not hit others
    engine = make_engine(url)
    try:
        upgrade(engine)
        kit.create_topics(partitions=2)
        ingestor = kit.ingestor(settings=kit.settings(), engine=engine)
        # the kit counts rows in its own database: count in this one
        kit.engine = engine
        thread, stop, errors = kit.start(ingestor)
        kit.produce(events(kit.model, 0, 200))
        wait_until(lambda: kit.predictions() == 200, what="first 200 stored")
        wait_until(lambda: sum(v or 0 for v in kit.committed(partitions=2).values()) == 200)

        set_connections(pg_server, name, allow=False)
        kit.produce(events(kit.model, 200, 300))
        wait_until(lambda: ingestor.metrics.store_retries >= 3, what="store retries during outage")
        assert sum(v or 0 for v in kit.committed(partitions=2).values()) == 200  # nothing committed
        assert thread.is_alive() and not errors

        set_connections(pg_server, name, allow=True)
        wait_until(lambda: kit.predictions() == 500, what="all 500 stored after the outage")
        wait_until(lambda: sum(v or 0 for v in kit.committed(partitions=2).values()) == 500)
        stop.set()
        thread.join(30)
        assert not errors
        assert kit.predictions() == 500
    finally:
        engine.dispose()
        drop_database(pg_server, name)


def test_two_consumers_split_partitions_and_store_every_event_once(kit):
    kit.create_topics(partitions=4)
    all_tps = {TopicPartition(t, p) for t in kit.topics for p in range(4)}
    a = kit.ingestor()
    thread_a, stop_a, errors_a = kit.start(a)
    wait_until(lambda: a.owned_partitions() == all_tps, what="first member owns all")

    produced = threading.Event()

    def keep_producing():  # a steady stream across the join of the second member
        for chunk in range(10):
            kit.produce(events(kit.model, chunk * 100, 100))
            time.sleep(0.4)
        produced.set()

    producer = threading.Thread(target=keep_producing, daemon=True)
    producer.start()
    wait_until(lambda: kit.predictions() >= 100, what="first events stored")
    b = kit.ingestor()
    thread_b, stop_b, errors_b = kit.start(b)
    wait_until(  # disjoint too: between revoke and assign a member still counts its old ones
        lambda: (
            a.owned_partitions()
            and b.owned_partitions()
            and a.owned_partitions() | b.owned_partitions() == all_tps
            and not a.owned_partitions() & b.owned_partitions()
        ),
        what="split",
    )
    assert not a.owned_partitions() & b.owned_partitions()
    assert len(a.owned_partitions()) == len(b.owned_partitions()) == 4
    producer.join(60)
    assert produced.is_set()
    kit.produce(events(kit.model, 1000, 200))  # with both members in: each gets its share
    wait_until(lambda: kit.predictions() == 1200, what="1200 stored by the pair")
    assert sum(a.metrics.stored_predictions.values()) > 0
    assert sum(b.metrics.stored_predictions.values()) > 0

    stop_a.set()  # A leaves the group: B takes over its partitions
    thread_a.join(30)
    wait_until(lambda: b.owned_partitions() == all_tps, what="survivor owns all")
    kit.produce(events(kit.model, 1200, 200))
    wait_until(lambda: kit.predictions() == 1400, what="1400 stored")
    wait_until(
        lambda: sum(v or 0 for v in kit.committed(partitions=4).values()) == 1400,
        what="every offset committed",
    )
    stop_b.set()
    thread_b.join(30)
    assert not errors_a and not errors_b
    assert kit.predictions() == 1400


def test_a_database_that_refuses_the_batch_stops_the_consumer_without_committing(kit, pg_server):
    name, url = create_database(pg_server)  # never migrated: every insert is refused
    engine = make_engine(url)
    try:
        kit.create_topics(partitions=1)
        kit.produce(events(kit.model, 0, 20), partition=0)
        ingestor = kit.ingestor(engine=engine)
        thread, _, errors = kit.start(ingestor)
        thread.join(60)
        assert len(errors) == 1 and isinstance(errors[0], StorageError)
        assert not isinstance(errors[0], StorageUnavailable)
        assert ingestor.metrics.store_retries == 2  # three attempts in all, then it gives up
        assert kit.committed()[0] is None
    finally:
        engine.dispose()
        drop_database(pg_server, name)
