"""Revoking an API token holds from its very next request, on a real server whose workers
each cache the tokens they have seen (services/tokens.py, api/routes.py)."""

import os
import uuid
from decimal import Decimal

import psycopg
import pytest
import requests

from tests import bank, pg
from tests.conftest import make_app
from wallet_app.extensions import db
from wallet_app.ledger import operations
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token, revoke_token

CLI = Actor("cli", "cli")


@pytest.fixture
def served(fresh_database_url):
    """gunicorn as deployed (2 workers, each with its own token cache) on a fresh database with
    two funded wallets: (app, base URL, database URL, (wallet a, wallet b))."""
    url = fresh_database_url()
    app = make_app(url)
    with app.app_context():
        a = operations.create_wallet("Ada", "USD", actor=CLI)["id"]
        b = operations.create_wallet("Alan", "USD", actor=CLI)["id"]
        operations.fund(a, "100.00", idempotency_key=str(uuid.uuid4()), actor=CLI)
    port = pg._free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": uuid.uuid4().hex,
        "BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "2",
        "WEB_THREADS": "2",
        "DB_POOL_SIZE": "2",
    }
    env.pop("REDIS_URL", None)
    server = bank.Gunicorn(port, env)
    try:
        bank.wait_ready(port)
        yield app, f"http://127.0.0.1:{port}", url, (a, b)
    finally:
        server.stop()
        with app.app_context():
            for engine in db.engines.values():  # the autocommit pool too (the fund above used it)
                engine.dispose()


def test_a_revoked_token_is_refused_on_its_very_next_request(served):
    app, base, url, (a, b) = served
    with app.app_context():
        token, secret = create_token("partner", "read,write", actor=CLI)
    auth = {"Authorization": f"Bearer {secret}"}

    def transfer(body, key=None):
        # A new connection each time, so the requests spread over both workers.
        return requests.post(
            f"{base}/api/v1/transfers",
            json=body,
            timeout=10,
            headers={**auth, "Idempotency-Key": key or str(uuid.uuid4())},
        )

    pay = {"from_wallet_id": a, "to_wallet_id": b, "amount": "0.01"}
    assert [transfer(pay).status_code for _ in range(20)] == [201] * 20  # every worker has it cached
    with app.app_context():
        revoke_token(token["id"], actor=CLI)

    refused_key = str(uuid.uuid4())
    first = transfer(pay, refused_key)
    assert first.status_code == 401 and first.json()["code"] == "unauthorized"
    assert first.headers["WWW-Authenticate"].startswith("Bearer")
    # Whichever worker answers, whatever the request: a movement, a bad one, a read.
    answers = [transfer(pay).status_code for _ in range(10)]
    answers.append(transfer({**pay, "amount": "1000.00"}).status_code)  # else 422 insufficient_funds
    answers.append(transfer({**pay, "amount": 5}).status_code)  # else 422 invalid_amount
    answers.append(
        requests.post(
            f"{base}/api/v1/wallets/{a}/fund",
            json={"amount": "1.00"},
            timeout=10,
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        ).status_code
    )
    answers.append(requests.get(f"{base}/api/v1/wallets/{a}", headers=auth, timeout=10).status_code)
    assert answers == [401] * 14

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM transactions WHERE kind = 'transfer'").fetchone()[0] == 20
        assert conn.execute("SELECT count(*) FROM idempotency_keys WHERE key = %s", (refused_key,)).fetchone()[0] == 0
        assert conn.execute("SELECT balance FROM wallets WHERE id = %s", (b,)).fetchone()[0] == Decimal("0.20")
