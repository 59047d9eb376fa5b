"""The high-availability pieces (issue 29), started on 127.0.0.1 and stopped by PID, from Debian's
packages: a three-member etcd (Patroni's consensus store: its v2 API, which Debian's Patroni
speaks through python3-etcd) and Patroni nodes running Debian's PostgreSQL 15 (pgBackRest 2.45
knows it; the embedded wheel's PostgreSQL is newer than it knows). PostgreSQL refuses root, so
as root each Patroni runs as localdb.USER, as the scale tests' servers do.

HAProxy in front routes to the primary (and to the replicas) by Patroni's health checks;
pgBackRest backs the cluster up into a local repository and restores it to a point in time
into a fresh cluster. docs/OPERATIONS.md is the runbook built on these."""

import json
import os
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
        except (OSError, ValueError):  # not answering yet; a pid file being written
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
        self.cluster = ",".join(f"e{i}=http://127.0.0.1:{peer}" for i, (_, peer) in enumerate(self.ports))
        self.procs = [self._start(i) for i in range(members)]
        _wait(self.healthy, "etcd healthy")

    def _start(self, i: int) -> subprocess.Popen:
        client, peer = self.ports[i]
        return subprocess.Popen(
            [
                shutil.which("etcd") or "/usr/bin/etcd",
                "--name", f"e{i}",
                "--data-dir", str(self.dir / f"e{i}"),  # kept: a member started again rejoins with it
                "--listen-client-urls", f"http://127.0.0.1:{client}",
                "--advertise-client-urls", f"http://127.0.0.1:{client}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", self.cluster,
                "--initial-cluster-token", self.dir.name,
                "--initial-cluster-state", "new",
                "--enable-v2=true",
            ],
            stdout=open(self.dir / f"e{i}.log", "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self, i: int) -> None:
        """Member i's machine dies (SIGKILL); the other two keep the quorum."""
        self.procs[i].kill()
        self.procs[i].wait(10)

    def start(self, i: int) -> None:
        """Member i again, on its data: it catches up from the others."""
        self.procs[i] = self._start(i)
        _wait(self.healthy, "etcd healthy again")

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
                   max_replication_slots: 10, synchronous_commit: "on", archive_mode: "on",
                   archive_command: "{archive}"}}
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

    def __init__(self, etcd: Etcd, name: str, scope: str, archive: str = "/bin/true"):
        self.dir = _own_dir(f"wallet-patroni-{name}-")
        self.name, self.rest, self.port = name, localdb.free_port(), localdb.free_port()
        config = self.dir / "patroni.yml"
        config.write_text(
            CONFIG.format(
                scope=scope,
                name=name,
                rest=self.rest,
                etcd=etcd.hosts,
                port=self.port,
                dir=self.dir,
                bin=PG_BIN,
                archive=archive,
            )
        )
        if localdb.as_user():
            shutil.chown(config, localdb.USER)
        self.start()

    def start(self) -> None:
        """Start (or start again, on the same data: an old leader rejoins, rewound)."""
        config = self.dir / "patroni.yml"
        self.log = open(self.dir / "patroni.log", "a")
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

    def ctl(self, *args: str) -> str:
        """patronictl with this node's configuration, as the runbook runs it (docs/OPERATIONS.md)."""
        done = subprocess.run(["/usr/bin/patronictl", "-c", str(self.dir / "patroni.yml"), *args],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"patronictl {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def postmaster(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().split("\n", 1)[0])

    def crash(self) -> None:
        """The node's machine dies: SIGKILL to Patroni and to its PostgreSQL."""
        pid = self.postmaster()
        os.killpg(self.proc.pid, signal.SIGKILL)  # runuser, Patroni and what shares their group
        self.proc.wait(10)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Patroni stops its PostgreSQL on SIGTERM; the process group's leftovers after, and a
        postmaster still running (it has a process group of its own: one Patroni had started
        again outlived Patroni in a run) is SIGKILLed; its children exit on its death."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            pid = self.postmaster()
            os.kill(pid, signal.SIGKILL)
            _wait(lambda: not Path(f"/proc/{pid}").exists(), "the postmaster gone", 10)
        except (OSError, ValueError):
            pass  # no postmaster.pid, or its process already gone
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(nodes: int = 2, scope: str = "wallet", archive: str = "/bin/true") -> tuple[Etcd, list[Patroni]]:
    """etcd, then `nodes` Patroni nodes; returns once one is primary and the others replicas
    (or stops what it started and raises). `archive`: the archive_command (pgBackRest's
    archive-push for the restore drill)."""
    etcd, members = Etcd(), []
    try:
        members += [Patroni(etcd, f"node{i}", scope, archive) for i in range(nodes)]
        _wait(lambda: sorted(m.role() or "" for m in members) == ["primary"] + ["replica"] * (nodes - 1),
              "one primary and the rest replicas", 90)  # fmt: skip
    except BaseException:
        for member in members:
            member.stop()
        etcd.stop()
        raise
    return etcd, members


def primary(nodes: list[Patroni]) -> Patroni | None:
    """The node whose Patroni says it is the primary, if one does."""
    return next((n for n in nodes if n.role() == "primary"), None)


class Proxy:
    """Debian's HAProxy in TCP mode in front of the nodes' PostgreSQL: one port for the primary,
    one for the replicas, each server judged by its Patroni's REST health check (`/primary`,
    `/replica`); a server marked down has its sessions cut, so clients reconnect to the new
    primary."""

    def __init__(self, nodes: list[Patroni]):
        from tests.scale.servers import haproxy_process

        self.dir = Path(tempfile.mkdtemp(prefix="wallet-ha-proxy-"))
        self.primary_port, self.replica_port = localdb.free_port(), localdb.free_port()

        def servers(check: str) -> str:
            return (
                "\n".join(f"  server {n.name} 127.0.0.1:{n.port} check port {n.rest}" for n in nodes)
                + f"\n  option httpchk GET /{check}\n  http-check expect status 200"
            )

        (self.dir / "haproxy.cfg").write_text(f"""global
  maxconn 2000
defaults
  mode tcp
  timeout connect 1s
  timeout client 30m
  timeout server 30m
  default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
listen primary
  bind 127.0.0.1:{self.primary_port}
{servers("primary")}
listen replicas
  bind 127.0.0.1:{self.replica_port}
  balance roundrobin
{servers("replica")}
""")
        self.proc = haproxy_process(self.dir, self.primary_port)
        _wait(self._settled, "HAProxy's primary port reaching the primary alone", 30)

    def _settled(self) -> bool:
        """Servers start up until their first checks: ten connections in a row on the primary port
        all reach a primary."""
        import psycopg

        for _ in range(10):
            try:
                with psycopg.connect(self.primary_url, autocommit=True, connect_timeout=1) as conn:
                    if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        return False
            except psycopg.Error:
                return False
        return True

    @property
    def primary_url(self) -> str:
        return self.url()

    def url(self, database: str = "postgres", replica: bool = False) -> str:
        """A database through the primary port (writes), or the replicas' port."""
        return f"postgresql://postgres@127.0.0.1:{self.replica_port if replica else self.primary_port}/{database}"

    def stop(self) -> None:
        from tests.scale.servers import _stop

        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Backups:
    """pgBackRest with a local repository (a folder), for a cluster's stanza: the archive_command
    the nodes push WAL with, backups from the leader, and restores into a fresh data directory."""

    def __init__(self, stanza: str = "wallet"):
        self.dir = _own_dir("wallet-pgbackrest-")
        self.stanza, self.conf = stanza, self.dir / "pgbackrest.conf"
        for sub in ("repo", "log", "lock", "spool"):
            (self.dir / sub).mkdir()
            if localdb.as_user():
                shutil.chown(self.dir / sub, localdb.USER)

    def configure(self, leader: Patroni) -> None:
        self.conf.write_text(
            f"[global]\nrepo1-path={self.dir}/repo\nrepo1-retention-full=2\nlog-path={self.dir}/log\n"
            f"lock-path={self.dir}/lock\nspool-path={self.dir}/spool\nstart-fast=y\narchive-async=n\n"
            f"[{self.stanza}]\npg1-path={leader.dir}/data\npg1-port={leader.port}\npg1-socket-path={leader.dir}\n"
            f"pg1-user=postgres\n"
        )
        if localdb.as_user():
            shutil.chown(self.conf, localdb.USER)

    @property
    def archive_command(self) -> str:
        return f"/usr/bin/pgbackrest --config={self.conf} --stanza={self.stanza} archive-push %p"

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*localdb.as_user(), "/usr/bin/pgbackrest", f"--config={self.conf}", f"--stanza={self.stanza}", *args],
            cwd="/",
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"pgbackrest {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def restore_at(self, target: str) -> "Restored":
        """A fresh cluster restored to just before `target` (a timestamp), started on its own port."""
        restored = Restored()
        try:
            self.run("restore", f"--pg1-path={restored.data}", "--type=time", f"--target={target}",
                     "--target-action=promote", "--target-exclusive")  # fmt: skip
            restored.start()
        except BaseException:
            restored.stop()  # no folder left behind
            raise
        return restored

    def stop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Restored:
    """A cluster restored by pgBackRest: its own port, no archiving, not part of Patroni."""

    def __init__(self):
        self.dir = _own_dir("wallet-restored-")
        self.data, self.port = self.dir / "data", localdb.free_port()
        self.data.mkdir(mode=0o700)
        if localdb.as_user():
            shutil.chown(self.data, localdb.USER)

    def start(self) -> None:
        with open(self.data / "postgresql.auto.conf", "a") as f:
            f.write(
                f"\nport = {self.port}\nunix_socket_directories = '{self.dir}'\narchive_mode = off\n"
                "synchronous_standby_names = ''\nhot_standby = on\n"
            )
        subprocess.run(
            [*localdb.as_user(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"),
             "-w", "-t", "120", "start"],
            cwd="/", check=True, capture_output=True, start_new_session=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [*localdb.as_user(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            cwd="/", capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)
