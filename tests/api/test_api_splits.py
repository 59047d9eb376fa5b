"""Splits (issue 26): POST /api/v1/transfers with `to`, one payer and 2 to 100 payees in one
transaction: one debit of the sum, a credit each, one fee; the same rules as any movement."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from wallet_app.finance.reconcile import reconcile
from wallet_app.ledger import fees, rates
from wallet_app.services.audit import Actor

ADMIN = Actor("user:admin", "admin@example.com")


def k():
    return str(uuid.uuid4())


@pytest.fixture
def market(api):
    """A buyer with 100.00 USD, a seller, the platform, and a EUR wallet (USD unless said)."""
    made = {}
    for name, currency in (("buyer", "USD"), ("seller", "USD"), ("platform", "USD"), ("euro", "EUR")):
        made[name] = api.post("/wallets", {"owner_name": name.title(), "currency": currency}).json["id"]
    api.post(f"/wallets/{made['buyer']}/fund", {"amount": "100.00"}, key=k())
    return made


def test_a_split_pays_each_payee_in_one_transaction_with_one_fee(api, market, session):
    fees.set_fee("USD", "transfer", fixed="0.50", actor=ADMIN)  # a split pays a transfer's fee
    to = [{"wallet_id": market["seller"], "amount": "45.00"}, {"wallet_id": market["platform"], "amount": "5.00"}]
    body = {"from_wallet_id": market["buyer"], "to": to, "reference": "order-7"}
    paid = api.post("/transfers", body, key="split-1")
    assert paid.status_code == 201, paid.json
    tx = paid.json
    assert (tx["kind"], tx["amount"], tx["fee"], tx["dest_wallet_id"]) == ("split", "50.00", "0.50", None)
    legs = {(e["wallet_id"], e["system"]): e["amount"] for e in tx["entries"]}
    assert legs[(market["buyer"], None)] == "-50.50"
    assert legs[(market["seller"], None)] == "45.00" and legs[(market["platform"], None)] == "5.00"
    assert sum(Decimal(a) for a in legs.values()) == 0
    assert [api.get(f"/wallets/{market[w]}").json["balance"] for w in ("buyer", "seller", "platform")] == [
        "49.50",
        "45.00",
        "5.00",
    ]
    again = api.post("/transfers", body, key="split-1")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == tx["id"]
    other = api.post("/transfers", {**body, "reference": "order-8"}, key="split-1")
    assert other.json["code"] == "idempotency_key_reused"
    assert reconcile(session).ok
    rev = api.post(f"/transactions/{tx['id']}/reversals", {"reason": "undo"}, key=k())
    assert (rev.status_code, rev.json["code"]) == (422, "kind_not_reversible")


@pytest.mark.parametrize(
    "to, field, code",
    [
        ([{"wallet_id": "seller", "amount": "1.00"}], "to", "invalid_input"),  # one destination
        (
            [{"wallet_id": "seller", "amount": "1.00"}, {"wallet_id": "seller", "amount": "1.00"}],
            "to[1].wallet_id",
            "invalid_input",
        ),
        (
            [{"wallet_id": "seller", "amount": "1.00"}, {"wallet_id": "buyer", "amount": "1.00"}],
            "to[1].wallet_id",
            "invalid_input",
        ),
        (
            [{"wallet_id": "seller", "amount": "1.00"}, {"wallet_id": "euro", "amount": "1.00"}],
            "to[1].wallet_id",
            "currency_mismatch",
        ),
        (
            [{"wallet_id": "seller", "amount": "1.00"}, {"wallet_id": "platform", "amount": "1.001"}],
            "to",
            "invalid_amount",
        ),
        (
            [{"wallet_id": "seller", "amount": "60.00"}, {"wallet_id": "platform", "amount": "60.00"}],
            "amount",
            "insufficient_funds",
        ),
    ],
)
def test_a_split_is_refused_whole_naming_its_destination(api, market, session, to, field, code):
    to = [{**part, "wallet_id": market[part["wallet_id"]]} for part in to]
    before = session.execute(text("SELECT count(*) FROM transactions")).scalar()
    refused = api.post("/transfers", {"from_wallet_id": market["buyer"], "to": to}, key=k())
    assert refused.status_code == 422 and refused.json["code"] == code, refused.json
    assert refused.json["errors"][0]["field"] == field
    assert session.execute(text("SELECT count(*) FROM transactions")).scalar() == before


def test_a_split_with_to_wallet_id_or_a_rate_is_malformed(api, market):
    to = [{"wallet_id": market["seller"], "amount": "1.00"}, {"wallet_id": market["platform"], "amount": "1.00"}]
    for extra in ({"to_wallet_id": market["seller"]}, {"amount": "2.00"}, {"pending": True}):
        answer = api.post("/transfers", {"from_wallet_id": market["buyer"], "to": to, **extra}, key=k())
        assert answer.status_code == 422 and answer.json["errors"][0]["field"] == next(iter(extra))
    assert api.post("/transfers", {"from_wallet_id": market["buyer"]}, key=k()).json["errors"][0]["field"] == (
        "to_wallet_id"
    )


def test_a_split_above_the_threshold_waits_like_any_movement(api, market):
    rates.set_threshold("USD", "30.00", actor=ADMIN)
    to = [{"wallet_id": market["seller"], "amount": "20.00"}, {"wallet_id": market["platform"], "amount": "20.00"}]
    waiting = api.post("/transfers", {"from_wallet_id": market["buyer"], "to": to}, key=k())
    assert waiting.status_code == 202 and waiting.json["status"] == "awaiting_approval"
    assert api.get(f"/wallets/{market['buyer']}").json["available"] == "60.00"
