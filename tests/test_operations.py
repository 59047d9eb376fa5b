"""Reversals, withdrawals, fees, limits and status with a reason: each on the one engine,
refused with its code and field and nothing written, reconciling after."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from wallet_app.errors import WalletError
from wallet_app.ledger import fees


def key():
    return str(uuid.uuid4())


def refused(call, code, field, snapshot):
    before = snapshot()
    with pytest.raises(WalletError) as err:
        call()
    assert (err.value.code, err.value.field) == (code, field), err.value.message
    assert snapshot() == before
    return err.value


@pytest.fixture
def priced(actor, session):
    """USD transfers cost 0.25 + 1% (at least 0.50, at most 5.00); withdrawals 1.00 flat."""
    fees.set_fee("USD", "transfer", fixed="0.25", bps=100, minimum="0.50", maximum="5.00", actor=actor)
    fees.set_fee("USD", "withdrawal", fixed="1.00", actor=actor)


def fees_balance(session, currency="USD") -> Decimal:
    return session.execute(
        text("SELECT balance FROM wallets WHERE system_purpose = 'fees' AND currency = :c"), {"c": currency}
    ).scalar_one()


@pytest.mark.parametrize(
    "amount, fee", [("10.00", "0.50"), ("100.00", "1.25"), ("1000.00", "5.00"), ("33.33", "0.59")]
)  # 0.25 + 0.3333 = 0.5833, rounded up
def test_a_transfer_pays_its_fee_in_the_same_transaction(service, actor, make_wallet, session, priced, amount, fee):
    a, b = make_wallet(balance="2000.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], amount, idempotency_key=key(), actor=actor).transaction
    assert tx["fee"] == fee
    payer = next(e for e in tx["entries"] if e["wallet_id"] == a["id"])
    assert Decimal(payer["amount"]) == -(Decimal(amount) + Decimal(fee))
    assert [e["system"] for e in tx["entries"]] == [None, None, "fees"]
    assert fees_balance(session) == Decimal(fee)
    assert service.get_transaction(tx["id"]) == tx
    assert service.reconcile().ok


def test_the_payer_needs_amount_plus_fee(service, actor, make_wallet, priced, ledger_snapshot):
    a, b = make_wallet(balance="10.00"), make_wallet()
    err = refused(
        lambda: service.transfer(a["id"], b["id"], "10.00", idempotency_key=key(), actor=actor),
        "insufficient_funds",
        "amount",
        ledger_snapshot,
    )
    assert "10.50" in err.message and "fee" in err.message
    preview = service.preview("transfer", a["id"], b["id"], "9.50", actor=actor)
    assert (preview["fee"], preview["source"]["balance_after"]) == ("0.50", "0.00")


def test_a_withdrawal_leaves_the_ledger_to_world_with_its_fee(service, actor, make_wallet, session, priced):
    w = make_wallet(balance="50.00")
    tx = service.withdraw(w["id"], "20.00", idempotency_key=key(), actor=actor, reference="payout 7").transaction
    assert (tx["kind"], tx["fee"], tx["source_wallet_id"], tx["dest_wallet_id"]) == (
        "withdrawal",
        "1.00",
        w["id"],
        None,
    )
    assert [(e["system"], e["amount"]) for e in tx["entries"]] == [
        (None, "-21.00"),
        ("world", "20.00"),
        ("fees", "1.00"),
    ]
    assert service.get_wallet(w["id"])["balance"] == "29.00"
    assert service.reconcile().ok


def test_reversals_partial_then_full_never_beyond_the_original(service, actor, make_wallet, ledger_snapshot):
    a, b = make_wallet(balance="100.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "40.00", idempotency_key=key(), actor=actor).transaction
    part = service.reverse(tx["id"], amount="15.00", reason="wrong amount", idempotency_key=key(), actor=actor)
    assert (part.transaction["kind"], part.transaction["reverses_transaction_id"]) == ("reversal", tx["id"])
    assert [(service.get_wallet(w)["balance"]) for w in (a["id"], b["id"])] == ["75.00", "25.00"]
    refused(
        lambda: service.reverse(tx["id"], amount="25.01", reason="too much", idempotency_key=key(), actor=actor),
        "reversal_exceeds_original",
        "amount",
        ledger_snapshot,
    )
    rest = service.reverse(tx["id"], reason="all of it", idempotency_key=key(), actor=actor).transaction
    assert rest["amount"] == "25.00"  # the default: what is left
    original = service.get_transaction(tx["id"])
    assert (original["reversed_amount"], original["reversal_ids"]) == ("40.00", [part.transaction["id"], rest["id"]])
    refused(
        lambda: service.reverse(tx["id"], reason="again", idempotency_key=key(), actor=actor),
        "reversal_exceeds_original",
        "amount",
        ledger_snapshot,
    )
    refused(
        lambda: service.reverse(rest["id"], reason="undo the undo", idempotency_key=key(), actor=actor),
        "not_reversible",
        "transaction_id",
        ledger_snapshot,
    )
    assert service.reconcile().ok


def test_a_reversal_below_the_floor_is_refused(service, actor, make_wallet, ledger_snapshot):
    a, b, c = make_wallet(balance="30.00"), make_wallet(), make_wallet()
    tx = service.transfer(a["id"], b["id"], "30.00", idempotency_key=key(), actor=actor).transaction
    service.transfer(b["id"], c["id"], "25.00", idempotency_key=key(), actor=actor)
    refused(
        lambda: service.reverse(tx["id"], reason="mistake", idempotency_key=key(), actor=actor),
        "insufficient_funds",
        "amount",
        ledger_snapshot,
    )


def test_fund_and_withdrawal_reversals_go_through_world(service, actor, make_wallet, session):
    w = make_wallet()
    fund = service.fund(w["id"], "80.00", idempotency_key=key(), actor=actor).transaction
    back = service.reverse(
        fund["id"], amount="30.00", reason="card chargeback", idempotency_key=key(), actor=actor
    ).transaction
    assert [(e["system"], e["amount"]) for e in back["entries"]] == [(None, "-30.00"), ("world", "30.00")]
    out = service.withdraw(w["id"], "10.00", idempotency_key=key(), actor=actor).transaction
    undone = service.reverse(out["id"], reason="payout bounced", idempotency_key=key(), actor=actor).transaction
    assert [(e["system"], e["amount"]) for e in undone["entries"]] == [("world", "-10.00"), (None, "10.00")]
    assert service.get_wallet(w["id"])["balance"] == "50.00"
    assert service.reconcile().ok


def test_a_fee_is_kept_on_reversal_unless_returned_and_only_once(
    service, actor, make_wallet, session, priced, ledger_snapshot
):
    a, b = make_wallet(balance="100.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "50.00", idempotency_key=key(), actor=actor).transaction  # fee 0.75
    service.reverse(tx["id"], amount="10.00", reason="partly", idempotency_key=key(), actor=actor)
    assert service.get_wallet(a["id"])["balance"] == "59.25"  # 100 - 50.75 + 10: the fee is kept
    service.reverse(tx["id"], amount="10.00", reason="and the fee", refund_fee=True, idempotency_key=key(), actor=actor)
    assert service.get_wallet(a["id"])["balance"] == "70.00"
    assert fees_balance(session) == 0
    refused(
        lambda: service.reverse(
            tx["id"], amount="1.00", reason="fee again", refund_fee=True, idempotency_key=key(), actor=actor
        ),
        "fee_already_refunded",
        "refund_fee",
        ledger_snapshot,
    )
    assert service.reconcile().ok


def test_limits_overdraft_maximum_and_daily_outflow(service, actor, make_wallet, session, ledger_snapshot):
    a, b = make_wallet(balance="10.00"), make_wallet()
    limited = service.set_limits(a["id"], actor=actor, overdraft_limit="5.00", daily_outflow_limit="12.00")
    assert (limited["available"], limited["overdraft_limit"]) == ("15.00", "5.00")
    service.transfer(a["id"], b["id"], "12.00", idempotency_key=key(), actor=actor)  # into the overdraft
    assert service.get_wallet(a["id"])["balance"] == "-2.00"
    refused(
        lambda: service.transfer(a["id"], b["id"], "0.01", idempotency_key=key(), actor=actor),
        "daily_limit_exceeded",
        "amount",
        ledger_snapshot,
    )
    service.set_limits(a["id"], actor=actor, daily_outflow_limit=None)
    refused(
        lambda: service.transfer(a["id"], b["id"], "3.01", idempotency_key=key(), actor=actor),
        "insufficient_funds",
        "amount",
        ledger_snapshot,
    )
    service.set_limits(b["id"], actor=actor, max_balance="15.00")
    refused(
        lambda: service.fund(b["id"], "3.01", idempotency_key=key(), actor=actor),
        "max_balance_exceeded",
        "amount",
        ledger_snapshot,
    )
    refused(
        lambda: service.set_limits(b["id"], actor=actor, max_balance="11.99"),
        "invalid_input",
        "max_balance",
        ledger_snapshot,
    )
    refused(
        lambda: service.set_limits(a["id"], actor=actor, overdraft_limit="1.99"),
        "invalid_input",
        "overdraft_limit",
        ledger_snapshot,
    )
    audited = session.execute(text("SELECT details FROM audit_log WHERE action = 'wallet.limits' ORDER BY id")).all()
    assert audited[0].details == {
        "before": {"overdraft_limit": "0.00", "daily_outflow_limit": None},
        "after": {"overdraft_limit": "5.00", "daily_outflow_limit": "12.00"},
    }
    assert service.reconcile().ok


def test_freeze_unfreeze_and_close_need_a_reason_and_close_needs_zero(service, actor, make_wallet, ledger_snapshot):
    w = make_wallet(balance="5.00")
    refused(
        lambda: service.set_status(w["id"], "frozen", actor=actor, reason=""),
        "invalid_input",
        "reason",
        ledger_snapshot,
    )
    frozen = service.set_status(w["id"], "frozen", actor=actor, reason="fraud check")
    assert (frozen["status"], frozen["status_reason"], frozen["status_changed_by"]) == (
        "frozen",
        "fraud check",
        actor.name,
    )
    refused(
        lambda: service.set_status(w["id"], "closed", actor=actor, reason="leaving"),
        "balance_not_zero",
        "status",
        ledger_snapshot,
    )
    service.set_status(w["id"], "active", actor=actor, reason="cleared")
    service.withdraw(w["id"], "5.00", idempotency_key=key(), actor=actor)
    service.set_status(w["id"], "closed", actor=actor, reason="customer left")
    refused(
        lambda: service.set_status(w["id"], "active", actor=actor, reason="back"),
        "wallet_closed",
        "status",
        ledger_snapshot,
    )
