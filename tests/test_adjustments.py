"""The adjustment, the kind that proves the catalogue is its one home: an operator's correction
between a customer wallet and the `adjustments` wallet of its currency, with a mandatory
reason, always waiting for a second person whoever asks; in the service, the API and the
console alike, in history, CSV and reconcile."""

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import text

from tests.api.conftest import Api
from tests.conftest import CHECKER, form_data
from wallet_app.api import schemas
from wallet_app.errors import InvalidInput, KindNotReversible, MakerCannotApprove, WalletError
from wallet_app.services.audit import Actor

FINANCE = Actor("user:finance", "finance@example.com", "127.0.0.1")
HX = {"HX-Request": "true"}


def k() -> str:
    return str(uuid.uuid4())


def adjustments_balance(session, currency="USD") -> str:
    balance = session.execute(
        text("SELECT balance FROM wallets WHERE system_purpose = 'adjustments' AND currency = :c"), {"c": currency}
    ).scalar_one()
    return f"{balance:.2f}"


def test_every_currency_has_an_unbounded_adjustments_wallet(session):
    rows = session.execute(
        text(
            "SELECT c.code, w.unbounded FROM currencies c LEFT JOIN wallets w "
            "ON w.currency = c.code AND w.system_purpose = 'adjustments' ORDER BY 1"
        )
    ).all()
    assert rows and all(unbounded is True for _, unbounded in rows)


def test_a_credit_waits_for_a_second_person_then_moves_from_the_adjustments_wallet(service, make_wallet, session):
    wallet = make_wallet(owner_name="Alice")
    asked = service.ask(
        "adjustment",
        wallet["id"],
        {"amount": "0.01", "direction": "credit", "reason": "Bank break 2026-11-30, line 42"},
        idempotency_key=k(),
        actor=FINANCE,
    ).transaction
    # Always four eyes: even a cent, far below any threshold, waits; nothing has moved.
    assert asked["status"] == "awaiting_approval" and asked["reason"] == "Bank break 2026-11-30, line 42"
    assert service.get_wallet(wallet["id"])["balance"] == "0.00"
    with pytest.raises(MakerCannotApprove):
        service.approve(asked["id"], idempotency_key=k(), actor=FINANCE)
    posted = service.approve(asked["id"], idempotency_key=k(), actor=CHECKER).transaction
    assert posted["status"] == "posted" and posted["kind"] == "adjustment"
    assert [(e["system"], e["amount"]) for e in posted["entries"]] == [(None, "0.01"), ("adjustments", "-0.01")]
    assert service.get_wallet(wallet["id"])["balance"] == "0.01"
    assert adjustments_balance(session) == "-0.01"
    assert service.reconcile().ok


def test_a_debit_reserves_what_it_takes_and_needs_the_funds(service, make_wallet, session):
    wallet = make_wallet(balance="10.00", owner_name="Bob")
    with pytest.raises(WalletError) as refused:
        service.ask(
            "adjustment",
            wallet["id"],
            {"amount": "10.01", "direction": "debit", "reason": "Duplicate deposit"},
            idempotency_key=k(),
            actor=FINANCE,
        )
    assert (refused.value.code, refused.value.field) == ("insufficient_funds", "amount")
    asked = service.ask(
        "adjustment",
        wallet["id"],
        {"amount": "4.00", "direction": "debit", "reason": "Duplicate deposit"},
        idempotency_key=k(),
        actor=FINANCE,
    ).transaction
    assert service.get_wallet(wallet["id"])["held"] == "4.00"
    service.approve(asked["id"], idempotency_key=k(), actor=CHECKER)
    assert service.get_wallet(wallet["id"])["balance"] == "6.00"
    assert adjustments_balance(session) == "4.00"
    assert service.reconcile().ok


@pytest.mark.parametrize(
    "values, field",
    [
        ({"amount": "1.00", "direction": "credit"}, "reason"),
        ({"amount": "1.00", "direction": "credit", "reason": "   "}, "reason"),
        ({"amount": "1.00", "direction": "sideways", "reason": "x"}, "direction"),
        ({"amount": "-1.00", "direction": "credit", "reason": "x"}, "amount"),
    ],
)
def test_a_request_without_its_reason_or_direction_is_refused_naming_the_field(
    service, make_wallet, ledger_snapshot, values, field
):
    wallet = make_wallet()
    before = ledger_snapshot()
    with pytest.raises(WalletError) as refused:
        service.ask("adjustment", wallet["id"], values, idempotency_key=k(), actor=FINANCE)
    assert refused.value.field == field
    assert ledger_snapshot() == before


def test_an_adjustment_is_not_reversible_it_is_corrected_by_another(service, make_wallet):
    wallet = make_wallet(owner_name="Carol")
    asked = service.ask(
        "adjustment",
        wallet["id"],
        {"amount": "5.00", "direction": "credit", "reason": "x"},
        idempotency_key=k(),
        actor=FINANCE,
    ).transaction
    service.approve(asked["id"], idempotency_key=k(), actor=CHECKER)
    with pytest.raises(KindNotReversible):
        service.reverse(asked["id"], reason="undo", idempotency_key=k(), actor=FINANCE)
    with pytest.raises(InvalidInput):
        service.ask("adjustment", wallet["id"], {"amount": "5.00", "reason": "x"}, idempotency_key=k(), actor=FINANCE)


def test_the_api_asks_at_wallets_adjustments_and_an_admins_token_cannot_post_its_own(client, make_token, make_wallet):
    wallet = make_wallet(owner_name="Dan")
    maker = Api(client, make_token("read,write,approve,manage")[1])
    checker = Api(client, make_token("read,write,approve")[1])
    key = k()
    body = {"amount": "12.50", "direction": "credit", "reason": "Interest owed"}
    asked = maker.post(f"/wallets/{wallet['id']}/adjustments", body, key=key)
    assert asked.status_code == 202 and asked.json["status"] == "awaiting_approval"
    again = maker.post(f"/wallets/{wallet['id']}/adjustments", body, key=key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == asked.json["id"]
    assert maker.post(f"/transactions/{asked.json['id']}/approve", key=k()).json["code"] == "maker_cannot_approve"
    done = checker.post(f"/transactions/{asked.json['id']}/approve", key=k())
    assert done.json["status"] == "posted" and done.json["reason"] == "Interest owed"
    missing = maker.post(f"/wallets/{wallet['id']}/adjustments", {"amount": "1.00", "direction": "credit"}, key=k())
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "reason"
    history = maker.get(f"/wallets/{wallet['id']}/history").json["data"]
    assert [(h["kind"], h["amount"]) for h in history] == [("adjustment", "12.50")]
    rows = list(csv.reader(io.StringIO(maker.get(f"/wallets/{wallet['id']}/history.csv").get_data(as_text=True))))
    assert any("Adjustment" in row or "adjustment" in row for row in rows[1:])
    doc = client.get("/api/v1/openapi.json").json
    operation = doc["paths"]["/wallets/{wallet_id}/adjustments"]["post"]
    assert operation["operationId"] == "adjustWallet"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["amount", "direction", "reason"]
    assert schema["properties"]["direction"]["enum"] == ["credit", "debit"]
    assert "adjustment" in schemas.TRANSACTION["properties"]["kind"]["enum"]  # the enums are the catalogue's


def test_the_console_asks_reviews_and_receipts_an_adjustment(client, login_as, make_wallet, service, csrf):
    wallet = make_wallet(balance="20.00", owner_name="Erin")
    login_as("support")  # moves money, but adjustments are finance's
    page = client.get(f"/wallets/{wallet['id']}").get_data(as_text=True)
    assert "Adjust this wallet" not in page
    forbidden = client.post(f"/wallets/{wallet['id']}/adjustment/confirm", data={"csrf_token": csrf()}, headers=HX)
    assert forbidden.status_code == 403
    finance = login_as("finance")
    page = client.get(f"/wallets/{wallet['id']}").get_data(as_text=True)
    assert "Adjust this wallet" in page and "Fund this wallet" not in page
    data = form_data(page, f"/wallets/{wallet['id']}/adjustment/confirm")
    missing = client.post(f"/wallets/{wallet['id']}/adjustment/confirm", data=data | {"amount": "3.00"}, headers=HX)
    assert missing.status_code == 422 and 'id="adjustment-reason-error"' in missing.get_data(as_text=True)
    asked = data | {"amount": "3.00", "direction": "debit", "reason": "Chargeback fee owed"}
    review = client.post(f"/wallets/{wallet['id']}/adjustment/confirm", data=asked, headers=HX).get_data(as_text=True)
    assert "Confirm adjustment" in review and "Debit: the wallet pays" in review and "Chargeback fee owed" in review
    assert "await approval" in review
    receipt = client.post(
        f"/wallets/{wallet['id']}/adjustment", data=form_data(review, f"/wallets/{wallet['id']}/adjustment"), headers=HX
    ).get_data(as_text=True)
    assert "Adjustment awaiting approval" in receipt
    tx_id = int(re.search(r"transaction (\d+)</a>", receipt).group(1))
    assert service.get_wallet(wallet["id"])["balance"] == "20.00"
    tx = service.get_transaction(tx_id)
    assert (tx["kind"], tx["source_wallet_id"], tx["created_by"]) == ("adjustment", wallet["id"], finance.email)
    login_as("approver")
    approvals = client.get("/approvals").get_data(as_text=True)
    assert "Chargeback fee owed" in approvals and "adjustment" in approvals
