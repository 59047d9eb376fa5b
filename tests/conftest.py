"""Fixtures: a fresh PostgreSQL database per run, apps, a per-test session rolled back at
the end, clients, and an actor to act as."""

import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from tests import pg
from wallet_app import create_app
from wallet_app.extensions import db
from wallet_app.finance.reconcile import reconcile
from wallet_app.ledger import operations, queries
from wallet_app.services.audit import Actor

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
# Double entry, checked independently of reconcile: transactions whose legs do not sum to
# zero per currency, plus currencies whose balances (system wallets included) do not.
DOUBLE_ENTRY_VIOLATIONS = """
    SELECT (SELECT count(*) FROM (SELECT 1 FROM wallet_history h JOIN wallets w ON w.id = h.wallet_id
                                  GROUP BY h.transaction_id, w.currency HAVING sum(h.amount) <> 0) t)
         + (SELECT count(*) FROM (SELECT 1 FROM wallets GROUP BY currency HAVING sum(balance) <> 0) c)"""


def make_app(database_url: str, **config):
    # Sign-ins and failed API authentications from 127.0.0.1 add up over a run; the tests of
    # those per-address limits set their own.
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DB_POOL_SIZE": 24,
            "SIGNIN_RATE_LIMIT": "10000/minute",
            "API_AUTH_FAILURE_LIMIT": "10000/minute",
            **config,
        }
    )


def migrate(database_url: str) -> None:
    app = make_app(database_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_server():
    """(server URL, template database): migrated once, copied for every database the run makes."""
    server, cluster = pg.server_url()
    template = pg.create_database(server)
    made = []
    try:
        migrate(pg.with_database(server, template))
        yield server, template, made
    finally:
        for name in made + [template]:
            pg.drop_database(server, name)
        if cluster:
            cluster.destroy()


@pytest.fixture(scope="session")
def fresh_database_url(pg_server):
    """A factory: a new, migrated, empty PostgreSQL database, dropped at the end of the run."""
    server, template, made = pg_server

    def make() -> str:
        name = pg.create_database(server, template=template)
        made.append(name)
        return pg.with_database(server, name)

    return make


@pytest.fixture(scope="session")
def postgresql_app(fresh_database_url):
    return make_app(fresh_database_url())


@pytest.fixture
def app(postgresql_app):
    """The app of the per-test session, on the run's shared PostgreSQL database."""
    return postgresql_app


@pytest.fixture
def session(app):
    """db.session joined into an outer transaction that is rolled back after the test;
    the code under test commits savepoints ("join into an external transaction")."""
    with app.app_context():
        conn = db.engine.connect()
        outer = conn.begin()
        real = db.session
        # A plain Session: Flask-SQLAlchemy's own picks the engine per table, not our connection.
        db.session = scoped_session(
            sessionmaker(bind=conn, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = real
            outer.rollback()
            conn.close()


@pytest.fixture
def committing_app(fresh_database_url):
    """An app on its own fresh database, with real commits: for concurrency tests."""
    app = make_app(fresh_database_url())
    yield app
    with app.app_context():
        for engine in db.engines.values():  # the autocommit pool's too: the server has 100 slots
            engine.dispose()


@pytest.fixture
def actor():
    return Actor(scope="user:1", name="tester@example.com", ip="127.0.0.1")


def ledger_api():
    """The ledger's operations and reads side by side, plus reconcile, as tests call them."""
    return SimpleNamespace(
        **{n: getattr(m, n) for m in (operations, queries) for n in m.__all__}, reconcile=lambda: reconcile(db.session)
    )


@pytest.fixture
def service(session):
    return ledger_api()


# A second person, who approves what the test's setup moves above the threshold.
CHECKER = Actor(scope="user:checker", name="checker@example.com", ip="127.0.0.1")


def approved(result) -> dict:
    """The transaction of a setup movement, approved by CHECKER if it waits for a second person
    (four eyes binds every principal, the command line's included)."""
    tx = result.transaction
    if tx["status"] == "awaiting_approval":
        tx = operations.approve(tx["id"], idempotency_key=str(uuid.uuid4()), actor=CHECKER).transaction
    return tx


def console_world(svc, actor) -> dict:
    """A ledger in every state a console page can show, in amounts of four digits and more
    (an amount that skips the formatter then shows without its separator): the wallets `big`
    (USD, a long name), `bob` (USD) and `eve` (EUR), and the transactions `done` (a transfer
    with a fee, reversed in part by `reversal`), `held`, `voided`, `expired`, `waiting`
    (awaiting approval), `rejected`, `exchange`, `withdrawal` and `split`; `batch`, one posted in part.
    Needs an app context."""
    from wallet_app.ledger import fees, rates

    def k():
        return str(uuid.uuid4())

    rates.set_threshold("USD", "10000.00", actor=actor)  # a wallet's day, not one movement
    rates.set_rate("USD", "EUR", "0.9", actor=actor)
    fees.set_fee("USD", "transfer", fixed="1.75", actor=actor)
    big = svc.create_wallet("Maria Magdalena " * 12, "USD", actor=actor)
    approved(svc.fund(big["id"], "1234567.50", idempotency_key=k(), actor=actor))
    bob, eve = svc.create_wallet("Bob Payee", "USD", actor=actor), svc.create_wallet("Eve Euro", "EUR", actor=actor)
    w = {"big": svc.get_wallet(big["id"]), "bob": bob, "eve": eve}

    def move(to, amount, **kw):
        return svc.transfer(big["id"], to["id"], amount, idempotency_key=k(), actor=actor, **kw).transaction

    w["done"] = move(bob, "2500.00", reference="INV-2026-17")
    w["reversal"] = svc.reverse(
        w["done"]["id"], amount="1200.00", reason="sent too much", idempotency_key=k(), actor=actor
    ).transaction
    w["held"] = move(bob, "1500.00", pending=True)
    w["voided"] = move(bob, "1100.00", pending=True)
    svc.void(w["voided"]["id"], idempotency_key=k(), actor=actor)
    w["expired"] = move(bob, "1300.00", pending=True)
    db.session.execute(
        text("UPDATE transactions SET expires_at = now() - interval '1 minute' WHERE id = :id"),
        {"id": w["expired"]["id"]},
    )
    db.session.commit()
    svc.expire_holds()
    w["waiting"] = move(bob, "12000.00")
    w["rejected"] = move(bob, "13000.00")
    svc.reject(w["rejected"]["id"], reason="not today", idempotency_key=k(), actor=CHECKER)
    w["exchange"] = move(eve, "1000.00", rate="0.9")
    w["withdrawal"] = svc.withdraw(bob["id"], "1000.00", idempotency_key=k(), actor=actor).transaction
    carol = svc.create_wallet("Carol Shop", "USD", actor=actor)
    to = [{"wallet_id": bob["id"], "amount": "1100.00"}, {"wallet_id": carol["id"], "amount": "55.00"}]
    w["split"] = svc.split(big["id"], to, idempotency_key=k(), actor=actor).transaction
    from wallet_app.ledger import batches

    items = [
        {"kind": "transfer", "from_wallet_id": bob["id"], "to_wallet_id": carol["id"], "amount": "1250.00"},
        {"kind": "transfer", "from_wallet_id": bob["id"], "to_wallet_id": bob["id"], "amount": "1.00"},  # refused
    ]
    w["batch"] = batches.post(items, mode="independent", idempotency_key=k(), actor=actor).batch
    return w


@pytest.fixture
def make_wallet(service, actor):
    """Create a wallet, funded when `balance` is given (above the approval threshold, a
    second person approves the funding, as the policy wants)."""

    def make(currency="USD", balance=None, owner_name="Test Owner", **kw):
        wallet = service.create_wallet(owner_name, currency, actor=actor, **kw)
        if balance is not None:
            approved(service.fund(wallet["id"], balance, idempotency_key=str(uuid.uuid4()), actor=actor))
        return service.get_wallet(wallet["id"])

    return make


@pytest.fixture
def ledger_snapshot(session):
    """Everything a failed operation must leave untouched."""

    def snap():
        q = lambda sql: session.execute(text(sql)).all()  # noqa: E731
        return {
            "wallets": q("SELECT id, balance, status FROM wallets ORDER BY id"),
            "history": q("SELECT count(*) FROM wallet_history"),
            "transactions": q("SELECT count(*) FROM transactions"),
            "keys": q("SELECT count(*) FROM idempotency_keys"),
        }

    return snap


os.environ.setdefault("SESSION_COOKIE_SECURE", "0")


class RequestPerContextClient(FlaskClient):
    """Each request gets its own app context, as in production: otherwise Flask reuses the
    test's context, and `g` (CSRF token cache, the API's token) leaks between requests. The
    per-test session factory still binds every request to the test's rolled-back connection."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # finish streamed bodies inside this context
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, session):
    """A test client on the per-test session (its requests see and roll back with the test)."""
    app.test_client_class = RequestPerContextClient
    return app.test_client()


@pytest.fixture
def make_operator(session):
    """Create an operator through the service; returns the User."""
    from wallet_app.services.operators import create_operator

    def make(role="support", email=None, password="correct horse battery staple"):
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        return create_operator(email, password, role, actor=Actor("cli", "cli"))

    return make


@pytest.fixture
def login_as(client, make_operator):
    """Sign the test client in as a new operator of `role` by setting the Flask-Login session
    (the sign-in form itself is tested in test_auth); returns the User."""

    def login(role="support"):
        user = make_operator(role)
        signed_in(client, user.id, user.get_id())
        return user

    return login


def signed_in(client, user_id: int, login_id: str) -> None:
    """Give `client` the cookie of a fresh server-side session of the operator (what a
    successful sign-in sets), without the cost of checking a password."""
    from wallet_app.services.signin import open_session

    with client.application.app_context():
        token = open_session(user_id, "127.0.0.1")
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess["sid"] = login_id, True, token


def csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def form_data(html: str, action: str) -> dict:
    """The hidden fields of the form posting to `action` in `html`, as the browser sends them."""
    import re
    from html import unescape

    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', html, re.S).group(1)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden":
            fields[attrs["name"]] = unescape(attrs.get("value", ""))  # as the browser reads it
    return fields


@pytest.fixture
def csrf(client):
    """A CSRF token for the client's session, read from a rendered page as a browser would."""

    def token():
        return csrf_from(client.get("/auth/login").get_data(as_text=True))

    return token


@pytest.fixture
def make_token(session):
    """An API token made through the service: (description, secret)."""
    from wallet_app.services.tokens import create_token

    def make(scopes="read,write", name=None, owner=None):
        return create_token(name or f"t-{uuid.uuid4().hex[:6]}", scopes, actor=Actor("cli", "cli"), owner=owner)

    return make


@pytest.fixture
def live_app(fresh_database_url):
    """The app served over real HTTP on 127.0.0.1 by a server thread, with a support operator
    sam@example.com (password "correct horse battery staple"): (app, base URL)."""
    import threading

    from werkzeug.serving import make_server

    from wallet_app.services.operators import create_operator

    app = make_app(fresh_database_url(), WTF_CSRF_TIME_LIMIT=None)
    with app.app_context():
        create_operator("sam@example.com", "correct horse battery staple", "support", actor=Actor("cli", "cli"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()
