"""Failover under load (issue 29): the bank workload of tests/bank.py runs through the app
(gunicorn), whose DATABASE_URL is HAProxy's primary port in front of three Patroni nodes
(synchronous, strict), while the leader dies: its PostgreSQL alone (Patroni restarts it), or
its whole machine (PostgreSQL, Patroni and its etcd member: the synchronous standby takes
over, and the old leader, started again, rejoins as a replica). Every check of the bank test
holds on the cluster afterwards (tests/test_bank.py: nothing acknowledged lost, nothing
applied twice, every request answered, reconcile on the leader); the test prints the
seconds without writes and the requests retried."""

import os
import signal
import time
from contextlib import closing

import psycopg
import pytest

from tests import bank
from tests.conftest import migrate
from tests.ha.cluster import Proxy, _wait, primary, start_cluster
from tests.scale.servers import tool
from tests.test_bank import check_bank, delivering, set_policy

SECONDS = float(os.environ.get("HA_BANK_SECONDS", "30"))  # of load; the leader dies at a fifth


@pytest.fixture
def ha():
    """etcd, three Patroni nodes and HAProxy, a migrated database `wallet` on the cluster with
    the bank test's policy: (etcd, nodes, the database's URL through the primary port)."""
    for name in ("etcd", "patroni", "haproxy"):
        tool(name)  # `make test` installs them (make scale-tools)
    etcd, nodes = start_cluster(3)
    proxy = None
    try:
        proxy = Proxy(nodes)
        with closing(psycopg.connect(proxy.primary_url, autocommit=True)) as conn:
            assert conn.execute("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'").fetchone()[0]
            conn.execute("CREATE DATABASE wallet")
        url = proxy.url("wallet")
        migrate(url)
        set_policy(url)
        yield etcd, nodes, url
    finally:
        if proxy is not None:
            proxy.stop()
        for node in nodes:
            node.stop()
        etcd.stop()


def leader_dies(etcd, nodes, machine: bool, seen: dict):
    """A bank.run fault: a fifth into the run the leader's postmaster is SIGKILLed, or (machine)
    its Patroni, PostgreSQL and etcd member are; once a primary answers again, a dead machine
    is started again (etcd member, then Patroni on its old data). What happened, when, in `seen`."""

    def inject(t: bank.Target) -> None:
        try:
            if t.stop.wait(t.seconds / 5):
                return
            old = seen["old"] = primary(nodes)
            pid, seen["killed"] = old.postmaster(), time.monotonic()
            if machine:
                old.crash()
                etcd.kill(nodes.index(old))
                t.stats.faults.append(f"{old.name} dies: PostgreSQL, Patroni and etcd member SIGKILLed")
            else:
                os.kill(pid, signal.SIGKILL)
                t.stats.faults.append(f"{old.name}'s postmaster SIGKILLed")

            def new_primary():  # not the dead postmaster, which Patroni may not have noticed yet
                node = primary(nodes)
                return node if node and node.postmaster() != pid else None

            seen["new"] = _wait(new_primary, "a primary again", 90)
            seen["promoted"] = time.monotonic() - seen["killed"]
            if machine:
                etcd.start(nodes.index(old))
                old.start()
            back = "replica" if seen["new"] is not old else "primary"
            _wait(lambda: old.role() == back and old.postmaster() != pid, "the old leader back", 90)
            seen["back"] = time.monotonic() - seen["killed"]
        except BaseException as exc:  # the test reports it
            seen["error"] = exc

    return inject


@pytest.mark.parametrize("machine", [False, True], ids=["postgres-killed", "machine-dies"])
def test_the_bank_workload_survives_the_leader_dying(ha, machine, capsys):
    etcd, nodes, url = ha
    seen: dict = {}
    started = time.monotonic()
    with delivering(url) as delivered:  # the webhook worker through the failover too
        stats = check_bank(
            (None, url), delivered, capsys, faults=leader_dies(etcd, nodes, machine, seen), seconds=SECONDS, clients=8
        )
    assert "error" not in seen, seen.get("error")
    assert len(stats.faults) == 1 and "back" in seen, (stats.faults, seen)
    old, new = seen["old"], seen["new"]
    if machine:  # the synchronous standby took over; the old leader rejoined behind it
        assert new is not old and old.role() == "replica"
    # Writes went on after the leader died, on a primary with a synchronous standby (strict).
    after = [t for t in stats.acked_at if t > seen["killed"] + seen["promoted"]]
    assert len(after) >= 20, len(after)
    with closing(psycopg.connect(new.url, autocommit=True)) as conn:
        states = dict(conn.execute("SELECT application_name, sync_state FROM pg_stat_replication").fetchall())
    assert sorted(states.values()) == ["async", "sync"], states
    assert sorted(n.role() or "" for n in nodes) == ["primary", "replica", "replica"]
    back_as, listed = old.role(), new.ctl("list")  # the runbook's first command
    assert all(f"| {n.name} " in listed for n in nodes) and "Leader" in listed and "Sync Standby" in listed, listed
    if not machine:  # the runbook's planned switchover, to the synchronous standby
        standby = next(n for n in nodes if states.get(n.name) == "sync")
        switched = time.monotonic()
        new.ctl("switchover", "--leader", new.name, "--candidate", standby.name, "--force")
        _wait(lambda: standby.role() == "primary" and new.role() == "replica", "the switchover", 60)
        switched = time.monotonic() - switched
    rewound = "running pg_rewind from" in (old.dir / "patroni.log").read_text()  # Patroni's own line
    with capsys.disabled():
        print(
            f"\n[ha] {stats.faults[0]}: {bank.longest_silence(stats):.1f} s without writes "
            f"(a primary again after {seen['promoted']:.1f} s, {new.name}); {len(stats.acknowledged):,} "
            f"acknowledged, 0 lost, 0 twice; {stats.retries} retries of {len(stats.retried_keys)} requests; "
            f"{old.name} back as {back_as} after {seen['back']:.0f} s"
            f"{' (pg_rewind)' if rewound else ''}; {time.monotonic() - started:.0f} s in all\n{listed}"
            + ("" if machine else f"[ha] switchover {new.name} -> {standby.name} (no load): {switched:.1f} s")
        )
