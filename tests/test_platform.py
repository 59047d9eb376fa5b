"""Cross-cutting behaviour: health endpoints, security headers, structured request logs."""
import json
import logging

import pytest

from tests import pg
from tests.conftest import make_app


def test_healthz_and_readyz_answer_when_the_database_is_up(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok"


def test_readyz_is_503_when_the_database_is_unreachable():
    port = pg._free_port()  # nothing listens there
    app = make_app(f"postgresql://postgres@127.0.0.1:{port}/nowhere")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"
    assert app.test_client().get("/healthz").status_code == 200


def test_a_single_statement_that_cannot_connect_raises_sqlalchemys_error():
    """As engine.connect() did: the API's handlers catch DBAPIError (a 503), not psycopg's own."""
    from sqlalchemy.exc import DBAPIError

    from wallet_app.extensions import db
    from wallet_app.services.atomic import execute_one, single_statements

    app = make_app(f"postgresql://postgres@127.0.0.1:{pg._free_port()}/nowhere")
    with app.app_context(), pytest.raises(DBAPIError):
        execute_one(single_statements(db.session), "SELECT 1", {})


@pytest.mark.parametrize("path", ["/", "/healthz", "/auth/login", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_hsts_is_sent_over_https(client):
    headers = client.get("/healthz", base_url="https://wallet.example").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_each_request_logs_one_json_line_without_secrets(client, caplog):
    logger = logging.getLogger("wallet_app.requests")
    logger.addHandler(caplog.handler)
    try:
        secret = "s3cr3t-token-value"
        response = client.get(f"/healthz?token={secret}", headers={
            "Authorization": f"Bearer {secret}", "X-Request-ID": "req-123"})
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "wallet_app.requests"]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["request_id"] == "req-123" == response.headers["X-Request-ID"]
    assert entry["route"] == "/healthz" and entry["status"] == 200 and entry["method"] == "GET"
    assert isinstance(entry["duration_ms"], float)
    assert secret not in lines[0]


def request_log_lines(client, *requests) -> list[dict]:
    """The request log's lines for `requests`, each a (method, path, kwargs) for `client`."""
    logger = logging.getLogger("wallet_app.requests")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        for method, path, kwargs in requests:
            client.open(path, method=method, **kwargs)
    finally:
        logger.removeHandler(handler)
    return [json.loads(r.getMessage()) for r in records]


def test_the_request_log_names_who_made_each_request(client, make_token, login_as):
    """A token's call, an operator's page and an anonymous one, each logged with its route,
    status and principal (an API answer carries the same headers as a page)."""
    token, secret = make_token("read")
    bearer = {"headers": {"Authorization": f"Bearer {secret}"}}
    api, anonymous = request_log_lines(client, ("GET", "/api/v1/wallets?limit=1", bearer),
                                       ("GET", "/api/v1/wallets", {}))
    assert api["principal"] == f"token:{token['id']}" and api["route"] == "/api/v1/wallets"
    assert api["status"] == 200
    assert anonymous["principal"] is None and anonymous["status"] == 401
    user = login_as("viewer")
    (page,) = request_log_lines(client, ("GET", "/", {}))
    assert page["principal"] == f"user:{user.id}" and page["status"] == 200 and page["route"] == "/"
    answer = client.get("/api/v1/wallets", **bearer)
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    assert len(answer.headers["X-Request-ID"]) == 32


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "<script> bad id"})
    assert response.headers["X-Request-ID"] != "<script> bad id"
    assert len(response.headers["X-Request-ID"]) == 32


def test_both_connection_pools_take_the_configured_size(fresh_database_url):
    """API auth and transfers use the autocommit pool; left at SQLAlchemy's default of five it
    opened and closed a PostgreSQL connection per request beyond that (seen in make bench)."""
    from wallet_app.extensions import db

    app = make_app(fresh_database_url(), DB_POOL_SIZE=12)
    with app.app_context():
        pools = [db.engines[name].pool for name in (None, "autocommit")]
        assert [(p.size(), p._max_overflow) for p in pools] == [(12, 5), (12, 5)]
        db.engine.dispose()


def test_a_write_after_every_pooled_connection_died_goes_through(committing_app):
    """A database restart kills every pooled connection at once. The first dead one a write
    meets marks the whole pool stale, so the write's retry reconnects instead of drawing the
    next dead connection (with 10 dead and 5 attempts, it used to fail)."""
    import uuid

    import psycopg

    from wallet_app.extensions import db
    from wallet_app.ledger import operations
    from wallet_app.services.audit import Actor

    actor = Actor("user:1", "ops@example.com", "127.0.0.1")
    with committing_app.app_context():
        wallet = operations.create_wallet("Restart", "USD", actor=actor)["id"]
        operations.fund(wallet, "1.00", idempotency_key=str(uuid.uuid4()), actor=actor)
        pool = db.engines["autocommit"].pool
        held = [pool.connect() for _ in range(pool.size())]  # every slot opened, then idle
        for fairy in held:
            fairy.close()
        url = committing_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
        with psycopg.connect(url, autocommit=True) as killer:
            killed = killer.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        assert killed >= pool.size()
        assert operations.fund(wallet, "2.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction["entries"]
        with psycopg.connect(url) as reader:
            assert reader.execute("SELECT balance FROM wallets WHERE id = %s", (wallet,)).fetchone()[0] == 3
