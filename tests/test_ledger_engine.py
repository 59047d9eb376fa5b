"""The engine: double entry through system wallets, one home for every rule (the confirmation
step refuses exactly as the write does), and reconcile catching each kind of tampering."""

import uuid
from datetime import date

import pytest
from sqlalchemy import text

from tests.conftest import DOUBLE_ENTRY_VIOLATIONS
from wallet_app.errors import WalletError
from wallet_app.finance import exports
from wallet_app.ledger import fees, rates
from wallet_app.money import MINOR_UNITS
from wallet_app.services import stats
from wallet_app.services.audit import Actor


def key():
    return str(uuid.uuid4())


def double_entry_holds(session) -> bool:
    return session.execute(text(DOUBLE_ENTRY_VIOLATIONS)).scalar() == 0


def world_wallet(session, currency="USD") -> int:
    return session.execute(
        text("SELECT id FROM wallets WHERE system_purpose = 'world' AND currency = :c"), {"c": currency}
    ).scalar_one()


def test_a_fund_comes_from_the_world_wallet_and_every_currency_sums_to_zero(service, actor, make_wallet, session):
    a, b = make_wallet(balance="100.00"), make_wallet("EUR", balance="7.00")
    service.transfer(a["id"], make_wallet()["id"], "30.00", idempotency_key=key(), actor=actor)
    world = world_wallet(session)
    legs = session.execute(
        text("SELECT amount, balance_after FROM wallet_history WHERE wallet_id = :w ORDER BY id"), {"w": world}
    ).all()
    assert legs[-1].amount == -100 and legs[-1].balance_after < 0  # the only wallet allowed below zero
    assert double_entry_holds(session)
    assert service.reconcile().ok
    assert b["balance"] == "7.00"


RULES = [  # (rule, kind, source, dest, amount, code, field)
    ("not found", "transfer", "usd", "missing", "1.00", "not_found", "to_wallet_id"),
    ("not found (fund)", "fund", None, "missing", "1.00", "not_found", "wallet_id"),
    ("inactive", "transfer", "frozen", "usd2", "1.00", "wallet_not_active", "from_wallet_id"),
    ("inactive (fund)", "fund", None, "frozen", "1.00", "wallet_not_active", "wallet_id"),
    ("currency mismatch", "transfer", "usd", "eur", "1.00", "currency_mismatch", "to_wallet_id"),
    ("minor units", "transfer", "usd", "usd2", "0.001", "invalid_amount", "amount"),
    ("minor units (fund)", "fund", None, "jpy", "1.5", "invalid_amount", "amount"),
    ("insufficient funds", "transfer", "usd", "usd2", "10.01", "insufficient_funds", "amount"),
    ("same wallet", "transfer", "usd", "usd", "1.00", "same_wallet", "to_wallet_id"),
    ("a system wallet is no customer's", "transfer", "world", "usd", "1.00", "not_found", "from_wallet_id"),
]


@pytest.mark.parametrize("rule, kind, source, dest, amount, code, field", RULES, ids=[r[0] for r in RULES])
def test_the_confirmation_step_and_the_write_refuse_alike(
    service, actor, make_wallet, session, ledger_snapshot, rule, kind, source, dest, amount, code, field
):
    wallets = {
        "usd": make_wallet(balance="10.00")["id"],
        "usd2": make_wallet()["id"],
        "eur": make_wallet("EUR")["id"],
        "jpy": make_wallet("JPY")["id"],
        "frozen": make_wallet()["id"],
        "missing": 10**12,
        "world": world_wallet(session),
        None: None,
    }
    service.set_status(wallets["frozen"], "frozen", actor=actor, reason="test")
    src, dst = wallets[source], wallets[dest]
    before = ledger_snapshot()
    with pytest.raises(WalletError) as checked:
        if kind == "fund":
            service.preview_ask("fund", dst, {"amount": amount}, actor=actor)
        else:
            service.preview(kind, src, dst, amount, actor=actor)
    with pytest.raises(WalletError) as written:
        if kind == "fund":
            service.fund(dst, amount, idempotency_key=key(), actor=actor)
        else:
            service.transfer(src, dst, amount, idempotency_key=key(), actor=actor)
    assert (checked.value.code, checked.value.field) == (code, field)
    assert (written.value.code, written.value.field, written.value.message) == (
        checked.value.code,
        checked.value.field,
        checked.value.message,
    )
    assert ledger_snapshot() == before


def test_the_confirmation_step_shows_balances_after_and_writes_nothing(service, actor, make_wallet, ledger_snapshot):
    a, b = make_wallet(balance="10.00"), make_wallet(balance="1.00")
    before = ledger_snapshot()
    preview = service.preview("transfer", a["id"], b["id"], "2.50", actor=actor)
    assert (preview["source"]["balance_after"], preview["dest"]["balance_after"]) == ("7.50", "3.50")
    assert service.preview_ask("fund", b["id"], {"amount": "5"}, actor=actor)["dest"]["balance_after"] == "6.00"
    assert ledger_snapshot() == before


def test_system_wallets_never_show_as_customer_wallets(service, actor, make_wallet, session, app):
    customer = make_wallet(balance="5.00")
    world = world_wallet(session)
    listed = [w["id"] for w in service.list_wallets(limit=200).items]
    assert customer["id"] in listed and world not in listed
    assert service.list_wallets("World").items == []
    with pytest.raises(WalletError) as err:
        service.get_wallet(world)
    assert err.value.code == "not_found"
    totals = {t["currency"]: t for t in stats.dashboard()["totals"]}
    assert (totals["USD"]["wallets"], totals["USD"]["balance"]) == (1, "5.00")  # world's -5.00 is not in it
    with app.test_request_context():
        csv = b"".join(exports.stream_balances(date.today())).decode()
    assert "World (" not in csv and "Fees (" not in csv


def test_the_currencies_table_agrees_with_the_code(session):
    rows = dict(session.execute(text("SELECT code, minor_units FROM currencies")).all())
    assert rows == MINOR_UNITS


@pytest.fixture
def posted(service, actor, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet()
    for amount in ("10.00", "20.00", "5.00"):
        service.transfer(a["id"], b["id"], amount, idempotency_key=key(), actor=actor)
    assert service.reconcile().ok
    return a, b


def failed_checks(service) -> set[str]:
    return {c.name for c in service.reconcile().checks if not c.passed}


def test_reconcile_fails_on_a_changed_leg_amount(service, session, posted):
    session.execute(
        text(
            "UPDATE wallet_history SET amount = amount + 1 WHERE id = "
            "(SELECT max(id) FROM wallet_history WHERE wallet_id = :w)"
        ),
        {"w": posted[1]["id"]},
    )
    assert {"wallet_balances", "balance_after_chain", "transaction_legs"} <= failed_checks(service)


def test_reconcile_fails_on_a_broken_balance_after_chain(service, session, posted):
    # The middle leg's balance_after is off; the newest leg and the sums are still right.
    session.execute(
        text("""UPDATE wallet_history SET balance_after = balance_after + 1 WHERE id =
        (SELECT id FROM wallet_history WHERE wallet_id = :w ORDER BY id OFFSET 1 LIMIT 1)"""),
        {"w": posted[1]["id"]},
    )
    assert failed_checks(service) == {"balance_after_chain"}


def test_reconcile_fails_on_an_unbalanced_transaction(service, session, posted):
    # One leg of the last transfer made larger, with its wallet's chain and balance to match:
    # every wallet looks right, the transaction (and so the currency) does not balance.
    session.execute(
        text("""
        WITH leg AS (SELECT id, wallet_id FROM wallet_history WHERE wallet_id = :w ORDER BY id DESC LIMIT 1),
        h AS (UPDATE wallet_history SET amount = amount + 1, balance_after = balance_after + 1
              WHERE id = (SELECT id FROM leg))
        UPDATE wallets SET balance = balance + 1 WHERE id = (SELECT wallet_id FROM leg)"""),
        {"w": posted[1]["id"]},
    )
    assert failed_checks(service) == {"transaction_legs", "currency_totals"}


def test_reconcile_fails_on_an_unknown_kind(service, session, posted):
    session.execute(text("UPDATE transactions SET kind = 'mystery' WHERE id = (SELECT max(id) FROM transactions)"))
    assert failed_checks(service) == {"known_kinds"}


RESOLUTIONS = [  # (rule, action, who, amount, code, field): a hold of 300.00 whose fee, 1.75, is reserved on top
    ("capture more than the hold's amount", "capture", "maker", "300.01", "capture_exceeds_hold", "amount"),
    ("capture the fee as well", "capture", "maker", "301.75", "capture_exceeds_hold", "amount"),
    ("capture another's hold", "capture", "other", "10.00", "not_hold_maker", "transaction_id"),
    ("approve one's own request", "approve", "maker", None, "maker_cannot_approve", "transaction_id"),
]


@pytest.mark.parametrize("rule, action, who, amount, code, field", RESOLUTIONS, ids=[r[0] for r in RESOLUTIONS])
def test_the_review_of_a_resolution_and_its_write_refuse_alike(
    service, actor, make_wallet, ledger_snapshot, rule, action, who, amount, code, field
):
    """A capture's or an approval's review step is the engine's dry run: it refuses what the
    write refuses, with the same code, field and words, and leaves nothing behind."""
    fees.set_fee("USD", "transfer", fixed="0.25", bps=50, actor=actor)
    people = {"maker": Actor("user:901", "maker@example.com"), "other": Actor("user:902", "other@example.com")}
    a, b = make_wallet(balance="1000.00"), make_wallet()
    if action == "approve":
        rates.set_threshold("USD", "100.00", actor=actor)
    hold = service.transfer(
        a["id"], b["id"], "300.00", idempotency_key=key(), actor=people["maker"], pending=action == "capture"
    ).transaction
    assert (hold["amount"], hold["held_amount"]) == ("300.00", "301.75")
    before = ledger_snapshot()
    with pytest.raises(WalletError) as checked:
        service.preview_resolution(action, hold["id"], actor=people[who], amount=amount)
    with pytest.raises(WalletError) as written:
        if action == "capture":
            service.capture(hold["id"], idempotency_key=key(), actor=people[who], amount=amount)
        else:
            service.approve(hold["id"], idempotency_key=key(), actor=people[who])
    assert (checked.value.code, checked.value.field) == (code, field)
    assert (written.value.code, written.value.field, written.value.message) == (
        checked.value.code,
        checked.value.field,
        checked.value.message,
    )
    if code == "capture_exceeds_hold":
        assert checked.value.message == (
            f"At most 300.00 USD of transaction {hold['id']} can be captured (its fee, 1.75 USD, is reserved on top)."
        )
    assert ledger_snapshot() == before


def test_refusals_name_wallets_by_their_owner(service, actor, make_wallet):
    """Issue 25, item 4: a refusal names a wallet as the console does, "Ada #21", never
    "Wallet 21"."""
    a = make_wallet(balance="100.00", owner_name="Ada")
    b = make_wallet(owner_name="Bob")
    e = make_wallet("EUR", owner_name="Eve")
    service.set_status(b["id"], "frozen", actor=actor, reason="test")
    with pytest.raises(WalletError) as frozen:
        service.transfer(a["id"], b["id"], "1.00", idempotency_key=key(), actor=actor)
    assert frozen.value.message == f"Bob #{b['id']} is frozen."
    with pytest.raises(WalletError) as mismatch:
        service.transfer(a["id"], e["id"], "1.00", idempotency_key=key(), actor=actor)
    assert mismatch.value.message == f"Ada #{a['id']} holds USD but Eve #{e['id']} holds EUR."
