"""Issue 29, its first pieces: a Patroni cluster on etcd comes up with a synchronous standby; a
PostgreSQL killed under its Patroni is back taking writes within seconds; the leader's machine
dies and the standby takes over behind HAProxy, nothing acknowledged lost, the old leader back
as a replica. (The bank workload through the app, and the pgBackRest restore drill, are still
to come.)"""

import os
import signal
import time
from contextlib import closing

import psycopg
import pytest

from tests.ha.cluster import start_cluster
from tests.scale.servers import tool


@pytest.fixture
def cluster():
    for name in ("etcd", "patroni", "pgbackrest"):
        tool(name)  # `make test` installs them (make scale-tools)
    etcd, nodes = start_cluster(2)
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        etcd.stop()


def write(url: str, value: int) -> bool:
    try:
        with closing(psycopg.connect(url, autocommit=True, connect_timeout=1)) as conn:
            conn.execute("INSERT INTO t VALUES (%s)", (value,))
        return True
    except psycopg.Error:
        return False


def test_the_cluster_has_a_synchronous_standby_and_a_killed_primary_comes_back(cluster):
    primary = next(n for n in cluster if n.role() == "primary")
    with closing(psycopg.connect(primary.url, autocommit=True)) as conn:
        assert conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall() == [("sync",)]
        conn.execute("CREATE TABLE t (id int)")
    assert all(write(primary.url, i) for i in range(100))  # each acknowledged by the standby too

    pid = int((primary.dir / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = killed + 60
    while not (leader := next((n for n in cluster if n.role() == "primary"), None)) or not write(leader.url, 100):
        assert time.monotonic() < deadline, "no writes 60 s after the primary's PostgreSQL was killed"
        time.sleep(0.1)
    print(f"[ha] writes back {time.monotonic() - killed:.1f} s after kill -9 of the primary's postmaster")
    with closing(psycopg.connect(leader.url, autocommit=True)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 101


def test_the_leaders_machine_dies_and_the_synchronous_standby_takes_over_losing_nothing():
    """Three nodes (strict synchronous replication keeps writing with one standby left); a writer
    through HAProxy's primary port the whole time, each row retried with its id until
    acknowledged. The leader's Patroni and PostgreSQL are SIGKILLed; the standby is promoted,
    every acknowledged row is on it, and the old leader, started again, rejoins as a replica."""
    import threading

    from tests.ha.cluster import Proxy

    for name in ("etcd", "patroni", "haproxy"):
        tool(name)
    etcd, nodes = start_cluster(3)
    proxy = Proxy(nodes)
    acked: list[tuple[int, float]] = []
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            while not stop.is_set():  # the same row until acknowledged: ON CONFLICT answers a retry once
                try:
                    with closing(psycopg.connect(proxy.primary_url, autocommit=True, connect_timeout=1)) as conn:
                        conn.execute("SET statement_timeout = '3s'")
                        conn.execute("INSERT INTO t VALUES (%s) ON CONFLICT DO NOTHING", (n,))
                    acked.append((n, time.monotonic()))
                    break
                except psycopg.Error:
                    time.sleep(0.05)

    try:
        with closing(psycopg.connect(proxy.primary_url, autocommit=True)) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(2)
        old = next(n for n in nodes if n.role() == "primary")
        crashed = time.monotonic()
        old.crash()
        deadline = crashed + 90
        while not acked or acked[-1][1] < crashed + 0.5 or len([a for a in acked if a[1] > crashed]) < 20:
            assert time.monotonic() < deadline, "no writes through the proxy 90 s after the leader died"
            time.sleep(0.2)
        stop.set()
        thread.join(10)
        after = [t for _, t in acked if t > crashed]
        gap = after[0] - crashed
        new = next(n for n in nodes if n.role() == "primary")
        assert new is not old
        with closing(psycopg.connect(new.url, autocommit=True)) as conn:
            rows = {r[0] for r in conn.execute("SELECT id FROM t").fetchall()}
        assert {n for n, _ in acked} <= rows  # every acknowledged row survived
        print(f"[ha] leader {old.name} killed: {gap:.1f} s without writes; {len(acked):,} rows acknowledged, 0 lost")

        old.start()  # the old leader comes back: rewound, a replica of the new one
        _until = time.monotonic() + 90
        while old.role() != "replica":
            assert time.monotonic() < _until, "the old leader did not rejoin as a replica"
            time.sleep(0.5)
        print(f"[ha] {old.name} back as a replica {time.monotonic() - crashed:.0f} s after it died")
    finally:
        stop.set()
        proxy.stop()
        for node in nodes:
            node.stop()
        etcd.stop()


def test_a_restore_to_a_point_in_time_holds_exactly_what_was_committed_before_it():
    """pgBackRest: WAL archived from the leader, a full then an incremental backup; a wrong batch
    of rows after a noted moment; a restore to just before that moment, into a fresh cluster on
    another port, holds every row committed before it and none after."""
    from tests.ha.cluster import Backups

    for name in ("etcd", "patroni", "pgbackrest"):
        tool(name)
    backups = Backups()
    etcd, nodes = start_cluster(2, archive=backups.archive_command)
    restored = None
    try:
        leader = next(n for n in nodes if n.role() == "primary")
        backups.configure(leader)
        backups.run("stanza-create")
        with closing(psycopg.connect(leader.url, autocommit=True)) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, what text)")
            conn.execute("INSERT INTO t SELECT g, 'before the full backup' FROM generate_series(1, 100) g")
            backups.run("backup", "--type=full")
            conn.execute("INSERT INTO t SELECT g, 'before the incremental' FROM generate_series(101, 200) g")
            backups.run("backup", "--type=incr")
            conn.execute("INSERT INTO t SELECT g, 'kept' FROM generate_series(201, 300) g")
            time.sleep(0.1)
            moment = conn.execute("SELECT now()::text").fetchone()[0]  # the mistake comes after this
            time.sleep(0.1)
            conn.execute("INSERT INTO t SELECT g, 'the wrong batch' FROM generate_series(301, 400) g")
            conn.execute("SELECT pg_switch_wal()")
        backups.run("check")  # every WAL up to now archived
        info = backups.run("info")
        assert "full backup" in info and "incr backup" in info, info
        started = time.monotonic()
        restored = backups.restore_at(moment)
        took = time.monotonic() - started
        with closing(psycopg.connect(restored.url, autocommit=True)) as conn:
            deadline = time.monotonic() + 60  # replaying up to the moment, then promoted
            while conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                assert time.monotonic() < deadline, "the restored cluster was not promoted"
                time.sleep(0.2)
            took = time.monotonic() - started
            ids = [r[0] for r in conn.execute("SELECT id FROM t ORDER BY id").fetchall()]
        assert ids == list(range(1, 301))
        print(f"[ha] restored to {moment} in {took:.1f} s: 300 rows, the wrong batch of 100 not there")
    finally:
        if restored:
            restored.stop()
        for node in nodes:
            node.stop()
        etcd.stop()
        backups.stop()
