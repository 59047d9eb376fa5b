"""Cross-cutting behaviour: health endpoints, security headers, structured request logs."""

import json
import logging
from contextlib import contextmanager

import pytest

from tests import pg
from tests.conftest import csrf_from, make_app


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


@contextmanager
def request_log():
    """The request log's lines written while the block runs."""
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("wallet_app.requests")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_each_request_logs_one_json_line_without_secrets(client):
    secret = "s3cr3t-token-value"
    with request_log() as lines:
        response = client.get(
            f"/healthz?token={secret}", headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "req-123"}
        )
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["request_id"] == "req-123" == response.headers["X-Request-ID"]
    assert entry["route"] == "/healthz" and entry["status"] == 200 and entry["method"] == "GET"
    assert isinstance(entry["duration_ms"], float)
    assert secret not in lines[0]


def test_the_request_log_names_who_made_each_request(client, make_token, login_as):
    """A token's call, an operator's page and an anonymous one, each logged with its route,
    status and principal (an API answer carries the same headers as a page)."""
    token, secret = make_token("read")
    bearer = {"Authorization": f"Bearer {secret}"}
    with request_log() as lines:
        answer = client.get("/api/v1/wallets?limit=1", headers=bearer)
        client.get("/api/v1/wallets")
    api, anonymous = map(json.loads, lines)
    assert api["principal"] == f"token:{token['id']}" and api["route"] == "/api/v1/wallets"
    assert api["status"] == 200
    assert anonymous["principal"] is None and anonymous["status"] == 401
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    assert len(answer.headers["X-Request-ID"]) == 32
    user = login_as("viewer")
    with request_log() as lines:
        client.get("/")
    page = json.loads(lines[0])
    assert page["principal"] == f"user:{user.id}" and page["status"] == 200 and page["route"] == "/"


def test_sign_in_and_sign_out_are_logged_as_the_operator(client, make_operator, csrf):
    """The sign-in request itself names the operator it signed in; the sign-out names nobody."""
    user = make_operator("viewer")
    form = {"email": user.email, "password": "correct horse battery staple", "csrf_token": csrf()}
    with request_log() as lines:
        assert client.post("/auth/login", data=form).status_code == 303
    assert json.loads(lines[0])["principal"] == f"user:{user.id}"
    form = {"csrf_token": csrf_from(client.get("/").get_data(as_text=True))}
    with request_log() as lines:
        assert client.post("/auth/logout", data=form).status_code == 303
    assert json.loads(lines[0])["principal"] is None


def test_a_request_whose_teardown_raised_is_still_logged():
    """An error that escapes Flask after the answer (a failing teardown) still leaves the
    request's line, with the status it answered."""
    app = make_app(f"postgresql://postgres@127.0.0.1:{pg._free_port()}/nowhere")

    @app.teardown_request
    def fails(exc):
        raise RuntimeError("teardown failed")

    with request_log() as lines, pytest.raises(RuntimeError):
        app.test_client().get("/healthz")
    assert [(json.loads(line)["route"], json.loads(line)["status"]) for line in lines] == [("/healthz", 200)]


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
            killed = killer.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        assert killed >= pool.size()
        assert operations.fund(wallet, "2.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction["entries"]
        with psycopg.connect(url) as reader:
            assert reader.execute("SELECT balance FROM wallets WHERE id = %s", (wallet,)).fetchone()[0] == 3
