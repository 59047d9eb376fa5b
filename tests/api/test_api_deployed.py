"""The API as deployed: real commits, no test transaction around it, so the production path
runs (autocommit pool, pre-compiled statements on the driver connection)."""

import uuid

import pytest

from tests.api.conftest import Api
from tests.conftest import make_app
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token, revoke_token


@pytest.fixture
def deployed_app(fresh_database_url):
    app = make_app(fresh_database_url())
    app.config["TESTING"] = False  # as in production: errors are answered, not raised
    yield app
    with app.app_context():
        db.engine.dispose()


def test_an_integration_moves_money_through_the_deployed_api(deployed_app):
    with deployed_app.app_context():
        token, secret = create_token(f"partner-{uuid.uuid4().hex[:6]}", "read,write", actor=Actor("cli", "cli"))
    api = Api(deployed_app.test_client(), secret)
    a = api.post("/wallets", {"owner_name": "Ada", "currency": "USD"}).json["id"]
    b = api.post("/wallets", {"owner_name": "Alan", "currency": "USD"}).json["id"]
    assert api.post(f"/wallets/{a}/fund", {"amount": "100.00"}, key="fund-1").status_code == 201

    first = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "30.00"}, key="rent-1")
    again = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "30.00"}, key="rent-1")
    overdraft = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "70.01"}, key="rent-2")

    assert first.status_code == 201 and first.json["amount"] == "30.00"
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert overdraft.status_code == 422 and overdraft.json["code"] == "insufficient_funds"
    assert [api.get(f"/wallets/{w}").json["balance"] for w in (a, b)] == ["70.00", "30.00"]
    with deployed_app.app_context():
        revoke_token(token["id"], actor=Actor("cli", "cli"))
    assert api.get(f"/wallets/{a}").status_code == 401
