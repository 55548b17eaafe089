"""The consumer while its database is down: lag, start-up, group membership, resuming."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from ingest_support import create_database, drop_database, events, set_connections, wait_until

from monitor.storage import make_engine, upgrade


@dataclass
class OwnDb:
    """A migrated database of this test only: closing it is an outage nobody else sees."""

    pg_server: str
    name: str
    url: str
    engine: Any

    def down(self) -> None:
        set_connections(self.pg_server, self.name, allow=False)

    def up(self) -> None:
        set_connections(self.pg_server, self.name, allow=True)


@pytest.fixture
def own_db(pg_server: str) -> Iterator[OwnDb]:
    name, url = create_database(pg_server)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield OwnDb(pg_server, name, url, engine)
    finally:
        engine.dispose()
        drop_database(pg_server, name)


def _total_lag(ingestor: Any) -> int:
    return sum(ingestor.metrics.snapshot().lag.values())


def test_lag_during_a_database_outage_grows_to_the_true_value(kit, own_db):
    kit.create_topics(partitions=2)
    kit.engine = own_db.engine  # count rows in this test's database
    ingestor = kit.ingestor(engine=own_db.engine)
    thread, stop, errors = kit.start(ingestor)
    kit.produce(events(kit.model, 0, 200))
    wait_until(lambda: kit.predictions() == 200, what="first 200 stored")
    wait_until(lambda: sum(v or 0 for v in kit.committed(partitions=2).values()) == 200)

    own_db.down()
    kit.produce(events(kit.model, 200, 300))
    wait_until(lambda: ingestor.metrics.store_retries >= 1, what="a store retry")
    kit.produce(events(kit.model, 500, 400))  # produced while the partitions are paused
    # Nothing of the 700 is stored: that is the lag, whatever the consumer has polled.
    wait_until(lambda: _total_lag(ingestor) == 700, timeout=20, what="lag of 700")

    own_db.up()
    wait_until(lambda: kit.predictions() == 900, what="all 900 stored after the outage")
    wait_until(lambda: _total_lag(ingestor) == 0, timeout=20, what="lag back to 0")
    stop.set()
    thread.join(30)
    assert not errors
