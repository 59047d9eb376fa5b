"""The read-session helper: where a read that may lag runs (docs/SCALING.md).

With REPLICA_DATABASE_URL set, the reads of a GET (pages, lists, history, exports, dashboard
figures, the API's GETs) run on the streaming replica when it answers, is no further behind
than REPLICA_MAX_LAG_SECONDS and has replayed the reader's own last write (read-your-writes:
the primary's WAL position after each commit, kept per principal). Otherwise, and for every
POST (writes, the confirmation step, the receipt after a write) and every read that does not
come through here (reconcile, the engine, sign-in), the primary. Without a replica, nothing
changes: `session()` is `db.session`.
"""

import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .extensions import db, redis_client
from .request_log import principal

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a requirement
    RedisError = OSError

# On the replica, one round trip: what it has replayed, and how far behind that is. It is
# behind only while it has received more than it replayed (an idle primary is not lag), by
# the age of the last transaction it replayed; a replica not streaming from the primary
# cannot tell, so it counts as lagging.
_PROBE = text("""SELECT pg_last_wal_replay_lsn()::text AS replayed,
    CASE WHEN NOT EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 'Infinity'
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
         ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
    END::float8 AS lag""")
_WRITTEN = "SELECT pg_current_wal_lsn()::text"
# Keep a principal's last write position (as fixed-width hex, so strings compare as numbers),
# never moving it back when two instances record writes of one principal out of order.
_REMEMBER = """local old = redis.call('GET', KEYS[1])
if not old or old < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end"""


@dataclass
class Replica:
    """What this process last learnt of the replica, for /readyz and for skipping it while down."""

    state: str = "unknown"  # ok | lagging | down | unknown
    lag: float | None = None
    retry_at: float = 0.0


def init_app(app: Flask) -> None:
    app.extensions["reads"] = Replica()
    app.extensions["last_writes"] = _Memory()  # without Redis: this process only

    if app.testing:

        @app.after_request
        def say_where_reads_ran(response):
            """Tests only: which server the request's reads went to (tests/scale)."""
            if "read_from" in g:
                response.headers["X-Read-From"] = g.read_from
            return response

    @app.teardown_appcontext
    def close_read_session(exc):
        session = g.pop("read_session", None)
        if session is not None and session is not db.session:
            conn = session.bind
            session.close()
            conn.close()


def session() -> Session:
    """The session for a read that may lag: see the module's docstring. One per request."""
    if not (
        current_app.config.get("REPLICA_DATABASE_URL") and has_request_context() and request.method in ("GET", "HEAD")
    ):
        return db.session
    if "read_session" not in g:
        g.read_session = _replica_session() or db.session
        g.read_from = "primary" if g.read_session is db.session else "replica"
    return g.read_session


def _replica_session() -> Session | None:
    """A session on a replica connection fit for this principal's reads, or None."""
    replica, config = current_app.extensions["reads"], current_app.config
    if time.monotonic() < replica.retry_at:
        return None
    conn, row = _probe()
    if conn is None:
        return None
    replica.lag = row.lag
    if row.replayed is None or row.lag > config["REPLICA_MAX_LAG_SECONDS"]:
        replica.state = "lagging"
        conn.close()
        return None
    replica.state = "ok"
    who = principal()
    needed = _last_write(who) if who else None
    if needed is not None and needed > lsn(row.replayed):
        conn.close()  # this principal wrote what the replica has not replayed yet
        return None
    return Session(bind=conn)


def _probe():
    """(replica connection in a transaction, probe row), or (None, None) when it does not
    answer. A pooled connection dropped by a replica restart is retried once on a new one."""
    replica = current_app.extensions["reads"]
    for attempt in (1, 2):
        conn = None
        try:
            conn = db.engines["replica"].connect()
            return conn, conn.execute(_PROBE).one()
        except SQLAlchemyError as exc:
            if conn is not None:
                conn.close()
            if attempt == 2 or not getattr(exc, "connection_invalidated", False):
                break
    replica.state, replica.lag = "down", None
    replica.retry_at = time.monotonic() + current_app.config["REPLICA_RETRY_SECONDS"]
    return None, None


def status() -> dict:
    """The replica's state for /readyz: none (not configured), ok, lagging, down. Probed now,
    unless it is down and not due for another try: a balancer's frequent checks must not
    wait on an unreachable replica (the instance stays ready, reading the primary)."""
    if not current_app.config.get("REPLICA_DATABASE_URL"):
        return {"replica": "none"}
    replica = current_app.extensions["reads"]
    if time.monotonic() < replica.retry_at:
        return {"replica": replica.state, "replica_lag_seconds": replica.lag}
    conn, row = _probe()
    if conn is not None:
        conn.close()
        replica.lag = row.lag
        lagging = row.replayed is None or row.lag > current_app.config["REPLICA_MAX_LAG_SECONDS"]
        replica.state = "lagging" if lagging else "ok"
    return {"replica": replica.state, "replica_lag_seconds": replica.lag}


def note_write() -> None:
    """After a commit on the primary: remember its WAL position as the principal's last
    write, so that principal's reads wait for the replica to replay it, and skip cached
    figures (cache.py) meanwhile. Called by atomic(); a no-op with neither in use.

    Without a replica, only an operator's write is marked: the one cached figure a write
    changes without deleting it is the dashboard, which only operators read (an API token's
    mark was a Redis round trip on every transfer for nothing: bench/PROFILE.md)."""
    config = current_app.config
    replica = config.get("REPLICA_DATABASE_URL")
    who = principal() if has_request_context() else None
    if who is None or not (
        replica or (who.startswith("user:") and config.get("REDIS_URL") and config["CACHE_SECONDS"] > 0)
    ):
        return
    position = 0
    if replica:
        with db.engines["autocommit"].connect() as conn:
            position = lsn(conn.exec_driver_sql(_WRITTEN).scalar())
    # Past the lag limit the replica is skipped anyway (a minute covers clocks and margins);
    # past CACHE_SECONDS the cache holds nothing older than the write.
    horizon = max(60, config["REPLICA_MAX_LAG_SECONDS"] * 2) if replica else 0
    ttl = math.ceil(max(config["CACHE_SECONDS"], horizon))
    redis = redis_client()
    if redis is None:
        current_app.extensions["last_writes"].remember(who, position, ttl)
        return
    try:
        redis.eval(_REMEMBER, 1, _key(who), f"{position:016x}", ttl)
    except RedisError:  # _last_write cannot answer either: this principal reads the primary
        pass


def wrote_recently() -> bool:
    """Whether the requesting principal has a write the replica may not have replayed yet
    (the cache skips its figures for them: wallet_app/cache.py)."""
    who = principal() if has_request_context() else None
    return who is not None and _last_write(who) is not None


def _last_write(who: str) -> int | None:
    redis = redis_client()
    if redis is None:
        return current_app.extensions["last_writes"].get(who)
    try:
        value = redis.get(_key(who))
    except RedisError:
        return _UNKNOWN  # cannot tell what this principal wrote: the primary answers
    return None if value is None else int(value, 16)


_UNKNOWN = 2**64  # beyond any position a replica has replayed


def _key(who: str) -> str:
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}:last-write:{who}"


def lsn(text_lsn: str) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a number."""
    high, low = text_lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class _Memory:
    """Last writes kept in this process, when there is no Redis (one process, or tests)."""

    def __init__(self):
        self._lock, self._items = threading.Lock(), {}

    def remember(self, who: str, position: int, ttl: int) -> None:
        with self._lock:
            old = self._items.get(who)
            keep = max(position, old[0]) if old and old[1] > time.monotonic() else position
            self._items[who] = (keep, time.monotonic() + ttl)

    def get(self, who: str) -> int | None:
        with self._lock:
            item = self._items.get(who)
        return item[0] if item and item[1] > time.monotonic() else None
