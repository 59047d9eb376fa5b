"""The high-availability pieces (issue 29), started on 127.0.0.1 and stopped by PID, from Debian's
packages: a three-member etcd (Patroni's consensus store: its v2 API, which Debian's Patroni
speaks through python3-etcd) and Patroni nodes running Debian's PostgreSQL 15 (pgBackRest 2.45
knows it; the embedded wheel's PostgreSQL is newer than it knows). PostgreSQL refuses root, so
as root each Patroni runs as localdb.USER, as the scale tests' servers do.

A first piece of issue 29: the cluster comes up with a synchronous standby; failover under
load, pg_rewind, HAProxy on Patroni's health checks and the pgBackRest drill are still to
build on it."""

import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.scale.servers import _own_dir
from wallet_app import localdb

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _wait(check, what: str, limit: float = 60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"{what} after {limit:.0f} s")


class Etcd:
    """Three etcd members on loopback ports, each its own process (stopped by PID)."""

    def __init__(self, members: int = 3):
        self.dir = Path(tempfile.mkdtemp(prefix="wallet-etcd-"))
        self.ports = [(localdb.free_port(), localdb.free_port()) for _ in range(members)]
        cluster = ",".join(f"e{i}=http://127.0.0.1:{peer}" for i, (_, peer) in enumerate(self.ports))
        self.procs = []
        for i, (client, peer) in enumerate(self.ports):
            log = open(self.dir / f"e{i}.log", "w")
            self.procs.append(
                subprocess.Popen(
                    [
                        shutil.which("etcd") or "/usr/bin/etcd",
                        "--name", f"e{i}",
                        "--data-dir", str(self.dir / f"e{i}"),
                        "--listen-client-urls", f"http://127.0.0.1:{client}",
                        "--advertise-client-urls", f"http://127.0.0.1:{client}",
                        "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                        "--initial-cluster", cluster,
                        "--initial-cluster-token", self.dir.name,
                        "--initial-cluster-state", "new",
                        "--enable-v2=true",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        _wait(self.healthy, "etcd healthy")

    @property
    def hosts(self) -> str:
        return ",".join(f"127.0.0.1:{client}" for client, _ in self.ports)

    def healthy(self) -> bool:
        for client, _ in self.ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{client}/health", timeout=2) as r:
                if json.load(r).get("health") != "true":
                    return False
        return True

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


CONFIG = """
scope: {scope}
name: {name}
restapi: {{listen: "127.0.0.1:{rest}", connect_address: "127.0.0.1:{rest}"}}
etcd: {{hosts: "{etcd}"}}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 0
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      parameters: {{wal_level: replica, hot_standby: "on", wal_log_hints: "on", max_wal_senders: 10,
                   max_replication_slots: 10, synchronous_commit: "on"}}
  initdb: [{{encoding: UTF8}}, {{locale: C}}]
  pg_hba: ["host replication replicator 127.0.0.1/32 trust", "host all all 127.0.0.1/32 trust"]
postgresql:
  listen: "127.0.0.1:{port}"
  connect_address: "127.0.0.1:{port}"
  data_dir: "{dir}/data"
  bin_dir: "{bin}"
  pgpass: "{dir}/pgpass"
  authentication:
    replication: {{username: replicator, password: replicator}}
    superuser: {{username: postgres, password: postgres}}
    rewind: {{username: postgres, password: postgres}}
  parameters: {{unix_socket_directories: "{dir}"}}
"""


class Patroni:
    """One Patroni node (and the PostgreSQL it runs): its REST API and PostgreSQL ports."""

    def __init__(self, etcd: Etcd, name: str, scope: str):
        self.dir = _own_dir(f"wallet-patroni-{name}-")
        self.name, self.rest, self.port = name, localdb.free_port(), localdb.free_port()
        config = self.dir / "patroni.yml"
        config.write_text(
            CONFIG.format(
                scope=scope, name=name, rest=self.rest, etcd=etcd.hosts, port=self.port, dir=self.dir, bin=PG_BIN
            )
        )
        if localdb.as_user():
            shutil.chown(config, localdb.USER)
        self.log = open(self.dir / "patroni.log", "w")
        self.proc = subprocess.Popen(
            [*localdb.as_user(), "/usr/bin/patroni", str(config)],
            cwd="/",
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def role(self) -> str | None:
        """What Patroni's health checks answer: 'primary', 'replica' or None (neither, or down)."""
        for role in ("primary", "replica"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.rest}/{role}", timeout=2) as r:
                    if r.status == 200:
                        return role
            except OSError:
                continue
        return None

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.rest}/patroni", timeout=2) as r:
            return json.load(r)

    def stop(self) -> None:
        """Patroni stops its PostgreSQL on SIGTERM; the process group's leftovers after."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(nodes: int = 2, scope: str = "wallet") -> tuple[Etcd, list[Patroni]]:
    """etcd, then `nodes` Patroni nodes; returns once one is primary and the others replicas."""
    etcd = Etcd()
    members = [Patroni(etcd, f"node{i}", scope) for i in range(nodes)]
    _wait(lambda: sorted(m.role() or "" for m in members) == ["primary"] + ["replica"] * (nodes - 1),
          "one primary and the rest replicas", 90)  # fmt: skip
    return etcd, members
