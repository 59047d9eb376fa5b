"""The app behind PgBouncer in transaction pooling (Debian's 1.18: no protocol-level prepared
statements): the bank test (its worker included) passes through it with DB_PREPARE_THRESHOLD=none, and the test
below shows what that setting prevents."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests import pg
from tests.conftest import make_app, migrate
from tests.scale.servers import PgBouncer
from tests.test_bank import check_bank, delivering, set_policy
from wallet_app.extensions import db


@pytest.fixture
def bounced_cluster():
    """A cluster this test may restart, a migrated database on it, and PgBouncer in front:
    (cluster, the database's URL through PgBouncer)."""
    cluster = pg.Cluster()
    bouncer = None
    try:
        name = pg.create_database(cluster.url)
        migrate(pg.with_database(cluster.url, name))
        set_policy(pg.with_database(cluster.url, name))  # the bank test's thresholds, fees and rates
        bouncer = PgBouncer(cluster.port)
        yield cluster, bouncer
    finally:
        if bouncer is not None:
            bouncer.stop()
        cluster.destroy()


def test_the_bank_test_passes_through_pgbouncer_in_transaction_pooling(bounced_cluster, capsys, monkeypatch):
    cluster, bouncer = bounced_cluster
    name = _database(cluster)
    monkeypatch.setenv("DB_PREPARE_THRESHOLD", "none")  # gunicorn and the flask commands read it
    url = bouncer.url(name)
    with delivering(url) as delivered:  # the worker through the bouncer too
        check_bank((cluster, url), delivered, capsys)
    with pg_connection(bouncer.url("pgbouncer")) as admin:
        pools = {row[0]: row for row in admin.execute("SHOW POOLS").fetchall()}
    assert pools[name][-1] == "transaction"  # the pool the bank test used pooled transactions


@pytest.mark.parametrize("threshold, fails", [(0, True), ("none", False)])
def test_prepared_statements_break_behind_pgbouncer_unless_turned_off(bounced_cluster, threshold, fails):
    """Two app connections sharing PgBouncer's one server connection: with psycopg preparing
    statements, one prepares a name the other already left on that server connection."""
    cluster, _ = bounced_cluster
    single = PgBouncer(cluster.port, pool_size=1)
    try:
        app = make_app(single.url(_database(cluster)), DB_PREPARE_THRESHOLD=threshold)
        with app.app_context():
            errors, first, second = [], db.engine.connect(), db.engine.connect()
            # Each connection names its statements _pg3_0, _pg3_1, ...: on the one server
            # connection they share, the second soon reuses a name the first left there.
            for conn, sql in [(first, "SELECT count(*) FROM wallets")] + [(second, f"SELECT {i}") for i in range(10)]:
                try:
                    conn.execute(text(sql)).scalar()
                except DBAPIError as exc:
                    errors.append(exc)
                conn.commit()  # PgBouncer takes the server connection back (a rollback would
                # make psycopg deallocate what it prepared)
            first.close()
            second.close()
            db.engine.dispose()
        assert bool(errors) is fails, errors
        if fails:
            assert "prepared statement" in str(errors[0])
    finally:
        single.stop()


def _database(cluster) -> str:
    with pg_connection(cluster.url) as conn:
        return conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'wallet_test_%'").fetchone()[0]


def pg_connection(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)
