"""Run one write operation as one database transaction, retried whole on transient failure."""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from flask import current_app
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .. import reads
from ..extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# Deadlock or serialization failure: the database gave up on us, try again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def is_retryable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True  # dropped before commit; the idempotency key makes a retry safe
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def atomic(session: "Session | SingleStatements", operation: Callable[[Session], T]) -> T:
    """Call `operation(session)` and commit; roll back on any error.

    A retryable database error runs the whole operation again (with the same idempotency
    key, so a commit that did land before a dropped connection is replayed, not repeated).
    Domain errors roll back and propagate: nothing is left behind.
    """
    attempts = current_app.config.get("WRITE_RETRIES", 5)
    for attempt in range(1, attempts + 1):
        try:
            result = operation(session)
            session.commit()
            reads.note_write()  # read-your-writes when reads may go to a replica
            return result
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not is_retryable(exc):
                raise
            log.warning("retrying write after %s (attempt %d)", exc.orig.__class__.__name__, attempt)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


class SingleStatements:
    """Statements that are each their own transaction, on the "autocommit" engine's pool
    (config.py): execute_one checks a connection out for its one statement and back in at
    once. No BEGIN/COMMIT round trips, no ORM session and no SQLAlchemy Connection (its
    set-up and close were ~5% of an API transfer's CPU: bench/PROFILE.md). atomic() takes it
    as a session whose commit and rollback have nothing left to do."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def single_statements(session: Session) -> SingleStatements | None:
    """On PostgreSQL, SingleStatements for a write that is ONE statement. None elsewhere, and
    when `session` is bound to a connection of its own (the tests' rolled-back transaction),
    which must keep the write: the caller then uses the session."""
    engines = db.engines
    # A scoped session's bind is its factory's: asking the session itself would make one per
    # request only to answer (a few % of an API transfer's CPU, bench/PROFILE.md).
    factory = getattr(session, "session_factory", None)
    bind = factory.kw.get("bind") if factory is not None else session.bind
    if bind is not None or "autocommit" not in engines:
        return None
    return SingleStatements(engines["autocommit"])


def execute_one(conn: Connection | SingleStatements, sql: str, params: dict) -> tuple | None:
    """Run one statement pre-compiled to psycopg's placeholders on the driver connection (of
    `conn`, or checked out for it) and return its first row (a plain tuple) or None.

    For the per-request statements (token lookup, movements): SQLAlchemy's execution layer
    (context, events, result metadata) was a large part of an API transfer's Python time
    (bench/PROFILE.md). Errors still arrive as SQLAlchemy's DBAPIError with disconnects
    detected and the connection invalidated, so retries (atomic) and the 503 handler see
    them as before.
    """
    # A disconnect marks the whole pool stale, as SQLAlchemy's own execution does: after a
    # database restart every pooled connection is dead, and atomic()'s retries must get new
    # ones, not the next dead one (Pool._invalidate is what Connection calls for it).
    if isinstance(conn, SingleStatements):
        engine = conn.engine
        try:
            fairy = engine.raw_connection()
        except psycopg.Error as exc:  # could not connect: wrapped as engine.connect() would
            raise DBAPIError.instance(
                None,
                None,
                exc,
                psycopg.Error,
                dialect=engine.dialect,
                connection_invalidated=engine.dialect.is_disconnect(exc, None, None),
            ) from None
        try:
            return _execute(
                fairy.driver_connection, engine.dialect, lambda exc: engine.pool._invalidate(fairy, exc), sql, params
            )
        finally:
            fairy.close()

    def invalidate(exc):
        conn.engine.pool._invalidate(conn.connection, exc, _checkin=False)
        conn.invalidate(exc)

    return _execute(conn.connection.driver_connection, conn.dialect, invalidate, sql, params)


def _execute(driver: psycopg.Connection, dialect, invalidate, sql: str, params: dict) -> tuple | None:
    with driver.cursor() as cursor:
        try:
            cursor.execute(sql, params)
        except psycopg.Error as exc:
            disconnect = dialect.is_disconnect(exc, driver, cursor)
            if disconnect:
                invalidate(exc)
            raise DBAPIError.instance(
                sql, params, exc, psycopg.Error, connection_invalidated=disconnect, dialect=dialect
            ) from None
        return cursor.fetchone()
