"""The consumer while its database is down: lag, start-up, group membership, resuming."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from ingest_support import create_database, drop_database, events, set_connections, wait_until
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy, free_port

from monitor.errors import ConfigError
from monitor.settings import parse_settings
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


@pytest.fixture
def proxy(ingest_db_url: str) -> Iterator[TcpProxy]:
    """A severable proxy in front of the shared Postgres."""
    url = make_url(ingest_db_url)
    p = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield p
    finally:
        p.close()


def _proxied(db_url: str, proxy: TcpProxy) -> str:
    return make_url(db_url).set(port=proxy.port).render_as_string(hide_password=False)


class Lines:
    """Collects a subprocess's stderr lines in a thread (so the pipe never fills up)."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def count(self, needle: str) -> int:
        return sum(needle in line for line in list(self.lines))

    def text(self) -> str:
        return "".join(self.lines)


def _ready(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_a_consumer_started_while_the_database_is_down_waits_for_it(kit, proxy, tmp_path):
    kit.create_topics(partitions=2)
    metrics_port = free_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": kit.settings().kafka.model_dump(mode="json"),
                "database": {"url": _proxied(kit.db_url, proxy), "auto_upgrade": True},
                "ingest": {"retry_backoff_max_s": 1.0},
                "api": {"metrics_port": metrics_port},
                "monitors": [{"name": kit.model, "model": kit.model}],
            }
        )
    )
    proxy.sever()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--config", str(config), "--role", "consumer"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = Lines(proc.stderr)
    try:
        wait_until(
            lambda: err.count("event=database_unavailable") >= 3 or proc.poll() is not None,
            what="three logged attempts",
        )
        assert proc.poll() is None, err.text()[-3000:]
        wait_until(lambda: _ready(metrics_port) == 503, what="/readyz answering 503")

        proxy.restore()
        kit.produce(events(kit.model, 0, 50))
        wait_until(lambda: kit.predictions() == 50, timeout=60, what="50 stored once it is back")
        wait_until(lambda: _ready(metrics_port) == 200, what="/readyz answering 200")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.text()[-3000:]
    assert "Traceback" not in err.text()


def test_after_a_long_outage_the_consumer_resumes_within_the_probe_cap(kit, own_db):
    kit.create_topics(partitions=1)
    kit.engine = own_db.engine
    settings = kit.settings()  # with the default backoff cap (the kit's own is 1 s)
    settings = settings.model_copy(update={"ingest": type(settings.ingest)()})
    ingestor = kit.ingestor(settings=settings, engine=own_db.engine)
    thread, stop, errors = kit.start(ingestor)
    kit.produce(events(kit.model, 0, 10), partition=0)
    wait_until(lambda: kit.predictions() == 10, what="first 10 stored")

    own_db.down()
    kit.produce(events(kit.model, 10, 10), partition=0)
    # 7 failed attempts: an uncapped exponential backoff would now wait 6.4-12.8 s
    wait_until(lambda: ingestor.metrics.store_retries >= 7, timeout=60, what="7 retries")
    own_db.up()
    back = time.monotonic()
    wait_until(lambda: kit.predictions() == 20, timeout=30, what="the rest stored")
    resumed_s = time.monotonic() - back
    stop.set()
    thread.join(30)
    assert not errors
    assert resumed_s < 4.0, f"resumed {resumed_s:.1f} s after the database returned"


def test_redelivered_events_are_counted_and_logged_as_deduplicated(kit, caplog):
    kit.create_topics(partitions=1)
    kit.produce(events(kit.model, 0, 100), partition=0)
    first = kit.ingestor()
    thread, stop, errors = kit.start(first)
    wait_until(lambda: kit.committed()[0] == 100, what="100 committed")
    stop.set()
    thread.join(30)
    # the group's offset goes back to 0 (as after a crash before the commit): all redelivered
    rewind = KafkaConsumer(bootstrap_servers=kit.bootstrap, group_id=f"g-{kit.uid}")
    try:
        rewind.commit({TopicPartition(kit.topics[0], 0): OffsetAndMetadata(0, "", -1)})
    finally:
        rewind.close(autocommit=False)

    caplog.set_level(logging.INFO, logger="monitor.ingest")
    second = kit.ingestor()
    thread, stop, errors = kit.start(second)
    wait_until(lambda: kit.committed()[0] == 100, what="100 committed again")
    stop.set()
    thread.join(30)
    assert not errors and kit.predictions() == 100
    assert second.metrics.duplicates == 100
    dedup = [r for r in caplog.records if r.getMessage() == "redelivered_deduplicated"]
    assert sum(r.duplicates for r in dedup) == 100
    assert all(r.partitions == f"{kit.topics[0]}:0" for r in dedup)
    [stopped] = [r for r in caplog.records if r.getMessage() == "consumer_stopped"]
    assert stopped.duplicates == 100


def _stored_ids(kit: Any) -> list[str]:
    from sqlalchemy import select

    from monitor.storage.tables import predictions

    p = predictions.c
    with kit.engine.connect() as conn:
        return list(conn.execute(select(p.event_id).where(p.model == kit.model)).scalars())


@pytest.mark.timeout(240)
def test_a_member_cut_off_from_the_database_hands_its_partitions_over(kit, proxy, caplog):
    """Three members; C reaches Postgres through a proxy that is severed: after
    `leave_group_after_s` C leaves, A and B take its partitions, C rejoins once it is back."""
    leave_after = 5.0
    caplog.set_level(logging.INFO, logger="monitor.ingest")
    kit.create_topics(partitions=6)
    all_tps = {TopicPartition(t, p) for t in kit.topics for p in range(6)}
    settings = kit.settings(leave_group_after_s=leave_after)
    cut_engine = make_engine(_proxied(kit.db_url, proxy))
    try:
        a, b = kit.ingestor(settings=settings), kit.ingestor(settings=settings)
        c = kit.ingestor(settings=settings, engine=cut_engine)
        for member in (a, b, c):
            kit.start(member)
        members = (a, b, c)
        wait_until(
            lambda: (
                all(m.owned_partitions() for m in members)
                and set().union(*(m.owned_partitions() for m in members)) == all_tps
            ),
            what="three members share the partitions",
        )
        produced = 0

        def produce(n: int) -> None:
            nonlocal produced
            kit.produce(events(kit.model, produced, n))  # keyed: spread over all partitions
            produced += n

        produce(600)
        wait_until(lambda: kit.predictions() == 600, what="600 stored by the three")
        wait_until(lambda: c.metrics.batches > 0, what="C stored its share")

        proxy.sever()
        cut_at = time.monotonic()
        produce(600)  # C's share of these waits on its database
        wait_until(
            lambda: (
                not c.owned_partitions() and a.owned_partitions() | b.owned_partitions() == all_tps
            ),
            timeout=leave_after + 20,
            what="A and B own every partition",
        )
        handed_over_s = time.monotonic() - cut_at
        wait_until(lambda: kit.predictions() == 1200, timeout=60, what="1200 stored by A and B")
        produce(300)
        wait_until(lambda: kit.predictions() == 1500, timeout=60, what="1500 stored by A and B")

        proxy.restore()
        wait_until(lambda: bool(c.owned_partitions()), timeout=30, what="C rejoined")
        before = c.metrics.snapshot().batches
        produce(600)
        wait_until(lambda: c.metrics.snapshot().batches > before, what="C storing again")
        wait_until(lambda: kit.predictions() == 2100, timeout=60, what="2100 stored")
        wait_until(
            lambda: sum(v or 0 for v in kit.committed(partitions=6).values()) == 2100,
            what="every offset committed",
        )
    finally:
        kit.stop_all()
        cut_engine.dispose()
    ids = _stored_ids(kit)
    assert len(ids) == len(set(ids)) == produced == 2100  # 0 lost, 0 duplicated
    assert set(ids) == {f"e{i}" for i in range(produced)}
    # C left leave_after after its first failed store (checked every second at most) ...
    [left] = [r for r in caplog.records if r.getMessage() == "group_left_database_unavailable"]
    assert leave_after <= left.seconds < leave_after + 2.5
    # ... and A and B took over in one rebalance (~3 s with a 6 s session)
    assert handed_over_s < leave_after + 12, f"handed over after {handed_over_s:.1f} s"
    assert [r.getMessage() for r in caplog.records].count("group_rejoined") == 1


@pytest.mark.parametrize(("key", "value"), [("leave_group_after_s", 0), ("retry_backoff_max_s", 0)])
def test_outage_settings_are_validated_at_load(key, value):
    with pytest.raises(ConfigError, match=f"ingest.{key}"):
        parse_settings({"ingest": {key: value}})


def test_outage_settings_defaults_and_never_leaving():
    ingest = parse_settings({}).ingest
    assert (ingest.leave_group_after_s, ingest.retry_backoff_max_s) == (15.0, 2.0)
    never = parse_settings({"ingest": {"leave_group_after_s": None}}).ingest
    assert never.leave_group_after_s is None
