"""Issue 29, its first piece: a Patroni cluster on etcd comes up with a synchronous standby, and
a PostgreSQL killed under its Patroni is back taking writes within seconds, nothing committed
lost. (Failover to the standby under the bank workload, pg_rewind, HAProxy and the restore
drill are still to come.)"""

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
