"""Issue 29's first restore drill, on a plain table (the drill on the app's ledger replaces it):
pgBackRest restores a Patroni cluster to just before a noted moment."""

import time
from contextlib import closing

import psycopg

from tests.ha.cluster import start_cluster
from tests.scale.servers import tool


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
