"""An exchange is reversed as a double-entry system reverses any transaction: every leg goes
back at the exchange's own rate, whatever the house's rate is now (the customer gets back
what they paid, its spread per refund_fee; the fx wallets carry the difference), in full or in
parts that add up exactly; four eyes count what each side pays and receives in its own
currency. In the service, the API and the console alike; reconcile checks it."""

import uuid

import pytest
from sqlalchemy import text

from tests.api.conftest import Api
from tests.conftest import CHECKER, csrf_from, form_data
from wallet_app.errors import WalletError
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor

ADMIN = Actor("user:admin", "admin@example.com")


def k() -> str:
    return str(uuid.uuid4())


def fx_balances(session) -> dict:
    return {
        c: f"{b:f}"
        for c, b in session.execute(text("SELECT currency, balance FROM wallets WHERE system_purpose = 'fx'"))
        if b
    }


@pytest.fixture
def exchanged(service, make_wallet, actor):
    """USD wallet with 100.00 exchanges 10.01 USD into an empty EUR wallet at the house's 0.92
    (spread 50 bps: a fee of 0.06 USD): 9.20 EUR. Then the house's rate moves to 0.50."""
    usd, eur = make_wallet(balance="100.00", owner_name="Ada"), make_wallet("EUR", owner_name="Eve")
    rates.set_rate("USD", "EUR", "0.92", spread_bps=50, actor=ADMIN)
    done = service.transfer(usd["id"], eur["id"], "10.01", idempotency_key=k(), actor=actor, rate="0.92").transaction
    assert (done["kind"], done["dest_amount"], done["fee"]) == ("exchange", "9.20", "0.06")
    rates.set_rate("USD", "EUR", "0.50", spread_bps=50, actor=ADMIN)
    return usd["id"], eur["id"], done


def test_a_full_reversal_returns_every_leg_at_the_exchanges_rate(service, exchanged, actor, session):
    usd, eur, done = exchanged
    back = service.reverse(done["id"], reason="wrong wallet", refund_fee=True, idempotency_key=k(), actor=actor)
    back = back.transaction
    assert (back["kind"], back["amount"], back["currency"]) == ("reversal", "10.01", "USD")
    assert (back["rate"], back["dest_amount"], back["dest_currency"]) == ("0.92", "9.20", "EUR")
    assert sorted((e["system"] or "customer", e["currency"], e["amount"]) for e in back["entries"]) == [
        ("customer", "EUR", "-9.20"),
        ("customer", "USD", "10.07"),  # 10.01 and its spread of 0.06 back
        ("fees", "USD", "-0.06"),
        ("fx", "EUR", "9.20"),
        ("fx", "USD", "-10.01"),
    ]
    assert service.get_wallet(usd)["balance"] == "100.00" and service.get_wallet(eur)["balance"] == "0.00"
    assert fx_balances(session) == {}  # the desk is square again, whatever today's rate
    assert service.get_transaction(done["id"])["reversed_amount"] == "10.01"
    assert service.reconcile().ok


def test_partial_reversals_add_up_to_the_converted_amount_exactly(service, exchanged, actor, session):
    usd, eur, done = exchanged
    returned = []
    for amount in ("3.33", "3.33", None):  # None: what is left (3.35)
        back = service.reverse(done["id"], amount=amount, reason="in parts", idempotency_key=k(), actor=actor)
        returned.append((back.transaction["amount"], back.transaction["dest_amount"]))
    # Each part's share rounded up on the running total: 3.33 x 9.20/10.01 = 3.0605 -> 3.07, then
    # 6.66 x 9.20/10.01 = 6.1211 -> 6.13 (6.13 - 3.07 = 3.06), and the rest is what is left: 3.07.
    assert returned == [("3.33", "3.07"), ("3.33", "3.06"), ("3.35", "3.07")]
    assert service.get_wallet(eur)["balance"] == "0.00"
    assert service.get_wallet(usd)["balance"] == "99.94"  # the spread kept: no refund_fee
    assert fx_balances(session) == {}
    with pytest.raises(WalletError) as refused:
        service.reverse(done["id"], amount="0.01", reason="again", idempotency_key=k(), actor=actor)
    assert refused.value.code == "reversal_exceeds_original"
    assert service.reconcile().ok


def test_a_reversal_needs_the_destinations_money_and_refuses_leaving_nothing(
    service, exchanged, actor, make_wallet, ledger_snapshot
):
    usd, eur, done = exchanged
    other = make_wallet("EUR", owner_name="Otto")
    service.transfer(eur, other["id"], "5.00", idempotency_key=k(), actor=actor)
    before = ledger_snapshot()
    with pytest.raises(WalletError) as refused:
        service.reverse(done["id"], reason="too late", idempotency_key=k(), actor=actor)
    assert (refused.value.code, refused.value.field) == ("insufficient_funds", "amount")
    assert ledger_snapshot() == before


def test_four_eyes_count_the_reversal_in_the_currency_each_side_moves(service, exchanged, actor):
    """The EUR side pays 9.20 EUR: above a EUR threshold of 5.00 it waits, though 10.01 USD is
    far below the USD one; approved later, it still goes back at the exchange's rate."""
    usd, eur, done = exchanged
    rates.set_threshold("USD", "1000.00", actor=ADMIN)
    rates.set_threshold("EUR", "5.00", actor=ADMIN)
    asked = service.reverse(done["id"], reason="above EUR's threshold", idempotency_key=k(), actor=actor)
    waiting = asked.transaction
    assert waiting["status"] == "awaiting_approval"
    assert service.get_wallet(eur)["held"] == "9.20"  # what its source will pay, in its currency
    rates.set_rate("USD", "EUR", "0.70", spread_bps=50, actor=ADMIN)
    posted = service.approve(waiting["id"], idempotency_key=k(), actor=CHECKER).transaction
    assert (posted["status"], posted["rate"], posted["dest_amount"]) == ("posted", "0.92", "9.20")
    assert service.get_wallet(eur)["balance"] == "0.00" and service.get_wallet(usd)["balance"] == "99.94"
    assert service.reconcile().ok


def test_the_api_reverses_an_exchange_and_refuses_an_adjustment_with_its_own_code(client, make_token, exchanged):
    usd, eur, done = exchanged
    api = Api(client, make_token("read,write")[1])
    back = api.post(f"/transactions/{done['id']}/reversals", {"reason": "x", "amount": "5.00"}, key=k())
    assert back.status_code == 201
    assert (back.json["amount"], back.json["dest_amount"], back.json["rate"]) == ("5.00", "4.60", "0.92")
    maker = Api(client, make_token("read,write,approve")[1])
    checker = Api(client, make_token("read,write,approve")[1])
    asked = maker.post(f"/wallets/{usd}/adjustments", {"amount": "1.00", "direction": "credit", "reason": "y"}, key=k())
    checker.post(f"/transactions/{asked.json['id']}/approve", key=k())
    refused = api.post(f"/transactions/{asked.json['id']}/reversals", {"reason": "x"}, key=k())
    assert (refused.status_code, refused.json["code"], refused.json["errors"][0]["field"]) == (
        422,
        "kind_not_reversible",
        "transaction_id",
    )


def test_the_console_reviews_and_reverses_an_exchange_at_its_rate(client, login_as, service, exchanged):
    usd, eur, done = exchanged
    login_as("support")
    page = client.get(f"/transactions/{done['id']}").get_data(as_text=True)
    assert "Review reversal" in page and "cannot be reversed" not in page
    data = {"csrf_token": csrf_from(page), "reason": "wrong wallet", "idempotency_key": k(), "amount": ""}
    review = client.post(f"/transactions/{done['id']}/reverse/confirm", data=data)
    body = review.get_data(as_text=True)
    assert review.status_code == 200 and "Converted back at the exchange's own rate of 0.92" in body
    assert "9.20" in body
    action = f"/transactions/{done['id']}/reverse"
    confirmed = client.post(action, data={**form_data(body, action), "csrf_token": data["csrf_token"]})
    assert confirmed.status_code in (200, 303)
    assert service.get_wallet(eur)["balance"] == "0.00" and service.get_wallet(usd)["balance"] == "99.94"


def test_the_console_refuses_to_reverse_an_adjustment_with_the_engines_own_code(
    client, login_as, service, make_wallet, actor
):
    wallet = make_wallet(owner_name="Ann")
    asked = service.ask(
        "adjustment",
        wallet["id"],
        {"amount": "2.00", "direction": "credit", "reason": "x"},
        idempotency_key=k(),
        actor=actor,
    ).transaction
    service.approve(asked["id"], idempotency_key=k(), actor=CHECKER)
    login_as("support")
    page = client.get(f"/transactions/{asked['id']}").get_data(as_text=True)
    assert "Adjustments cannot be reversed." in page and "Review reversal" not in page
    data = {"csrf_token": csrf_from(page), "reason": "oops", "idempotency_key": k()}
    refused = client.post(f"/transactions/{asked['id']}/reverse", data=data)
    assert refused.status_code == 422
    assert "that kind cannot be reversed" in refused.get_data(as_text=True)
    assert service.get_wallet(wallet["id"])["balance"] == "2.00"


def test_reconcile_lists_a_reversal_that_gave_back_more_than_the_exchanges_rate(service, exchanged, actor, session):
    """A reversal doctored to pay the customer 1.00 USD more out of the fx wallet (balanced,
    so every other check passes) is an fx_positions mismatch naming the exchange."""
    usd, eur, done = exchanged
    rates.set_rate("USD", "EUR", "0.92", spread_bps=50, actor=ADMIN)  # the pair's position is sound
    back = service.reverse(done["id"], amount="5.00", reason="x", idempotency_key=k(), actor=actor).transaction
    assert service.reconcile().ok
    params = {"id": back["id"], "usd": usd}
    session.execute(
        text("""
        UPDATE wallet_history h SET amount = h.amount + CASE WHEN w.system_purpose = 'fx' THEN -1 ELSE 1 END,
                                    balance_after = h.balance_after + CASE WHEN w.system_purpose = 'fx' THEN -1
                                                                           ELSE 1 END
        FROM wallets w WHERE w.id = h.wallet_id AND h.transaction_id = :id AND w.currency = 'USD'
                         AND w.system_purpose IS DISTINCT FROM 'fees'"""),
        params,
    )
    session.execute(
        text("""
        UPDATE wallets w SET balance = w.balance + CASE WHEN w.system_purpose = 'fx' THEN -1 ELSE 1 END
        WHERE w.currency = 'USD' AND (w.id = :usd OR w.system_purpose = 'fx')"""),
        params,
    )
    failed = {c.name: c.mismatches for c in service.reconcile().checks if not c.passed}
    assert list(failed) == ["fx_positions"]
    assert failed["fx_positions"] == [
        f"transaction {done['id']} (exchange): its reversals took 6.00 USD out of the fx desk and put back 4.60 EUR"
    ]
