"""Find a PostgreSQL server for the tests, or start a throwaway cluster, and make databases on it."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def _answers(url: str) -> bool:
    try:
        with closing(psycopg.connect(url, connect_timeout=3)):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster of our own, in a temp dir, on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so as root the cluster belongs to `postgres`.
    The bank test restarts it to inject faults.
    """

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="wallet-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses='127.0.0.1'\nport={self.port}\nunix_socket_directories='{self.dir}'\n"
                       "fsync=off\nmax_connections=200\n")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as, *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def server_url() -> tuple[str, Cluster | None]:
    """TEST_DATABASE_URL, else the local server, else a throwaway cluster we start."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url, None
    for url in ("postgresql://postgres@/postgres", "postgresql://postgres@127.0.0.1:5432/postgres"):
        if _answers(url):
            return url, None
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        raise RuntimeError("No PostgreSQL for the tests: set TEST_DATABASE_URL, start a local server, "
                           "or put initdb/pg_ctl on PATH.")
    cluster = Cluster()
    return cluster.url, cluster


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(server: str, template: str | None = None) -> str:
    name = f"wallet_test_{uuid.uuid4().hex[:10]}"
    with closing(psycopg.connect(server, autocommit=True)) as conn:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return name


def drop_database(server: str, name: str) -> None:
    with closing(psycopg.connect(server, autocommit=True)) as conn:
        for _ in range(50):
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)
