"""The bench's own set-up: a throwaway database, the app from its factory, migrations,
gunicorn and flask commands on that database. No test fixtures: tests/pg.py is used only to
find a PostgreSQL server and to create and drop a database."""

import http.client
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests import pg  # noqa: E402
from wallet_app import create_app  # noqa: E402
from wallet_app.extensions import db  # noqa: E402

MIGRATIONS = ROOT / "migrations"
BIN = ROOT / ".venv" / "bin"


@contextmanager
def throwaway_database():
    """Yields the URL of a new, empty database; dropped at the end (with the cluster, if
    tests/pg.py had to start one)."""
    server, cluster = pg.server_url()
    name = pg.create_database(server)
    try:
        yield pg.with_database(server, name)
    finally:
        pg.drop_database(server, name)
        if cluster:
            cluster.destroy()


def checkpoint(url: str) -> None:
    """CHECKPOINT before each measured run: every run then starts with clean buffers and pays
    for its own full-page writes, not for those of the run before (without it, pgbench at 16
    clients varied 2,788 - 3,728/s in three runs of one sitting)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def libpq_parts(url: str) -> dict:
    """Host, port, user and database name for pgbench."""
    parts = make_url(url)
    return {
        "host": parts.host or "/var/run/postgresql",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "dbname": parts.database,
    }


def make_app(url: str, **config) -> Flask:
    """The app as production builds it, on `url`; plain-HTTP cookies for the test client."""
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(16), "SESSION_COOKIE_SECURE": False, **config}
    )


def migrate(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        for engine in db.engines.values():
            engine.dispose()


def flask_env(url: str, **extra: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1", **extra}


def flask_command(url: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` on the bench database."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env or flask_env(url),
        capture_output=True,
        text=True,
    )


def reconcile(url: str) -> tuple[int, str]:
    """`flask reconcile` on the bench database: (exit code, its report)."""
    done = flask_command(url, "reconcile")
    return done.returncode, done.stdout + done.stderr


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


def wait_ready(port: int, limit: float = 30.0) -> None:
    """Return once /readyz answers 200; raise after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn: /readyz not ready within {limit:.0f} s")


# How each server is started on PORT for a WSGI app: gunicorn with gunicorn.conf.py (production),
# granian with the same processes (one per core) and threads, for the comparison asked in issue 16.
SERVERS = {
    "gunicorn": lambda target, port, env, bin_: [str(bin_ / "gunicorn"), "-c", "gunicorn.conf.py", target],
    "granian": lambda target, port, env, bin_: [
        str(bin_ / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        env.get("WEB_WORKERS", str(os.cpu_count())),
        "--blocking-threads",
        env.get("WEB_THREADS", "4"),
        "--no-ws",
        "--log-level",
        "warning",
        target,
    ],
}


@contextmanager
def gunicorn(env: dict, target: str = "wsgi:app", server: str = "gunicorn", root: Path = ROOT):
    """`target` (the app, or bench.floor:app) of the checkout at `root` (this one, or an older
    one with its own .venv) served on a free loopback port by `server` with gunicorn.conf.py's
    settings: yields (master pid, port)."""
    port = pg._free_port()
    proc = subprocess.Popen(
        SERVERS[server](target, port, env, root / ".venv" / "bin"),
        cwd=root,
        env={**env, "BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        yield proc.pid, port
    finally:
        proc.terminate()
        proc.wait(30)


def console_client(app: Flask, role: str = "viewer"):
    """A test client signed in as a new operator of `role` (the session signing in sets, without
    hashing a password); the app's JSON request log still written, not shown."""
    import logging
    import uuid

    from wallet_app.services.audit import Actor
    from wallet_app.services.operators import create_operator
    from wallet_app.services.signin import open_session

    with app.app_context():
        user = create_operator(
            f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench password 123", role, actor=Actor("cli", "cli")
        )
        login_id, token = user.get_id(), open_session(user.id, "127.0.0.1")
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess["sid"] = login_id, True, token
    for handler in logging.getLogger("wallet_app.requests").handlers:
        handler.setStream(open(os.devnull, "w"))
    return client
