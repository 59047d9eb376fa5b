"""WalletsService rules: every domain error, and proof a failed call leaves nothing behind."""

import uuid
from decimal import Decimal

import pytest

from wallet_app.errors import WalletError
from wallet_app.services.audit import Actor


def key():
    return str(uuid.uuid4())


def test_create_and_fund_a_wallet(service, actor, make_wallet):
    wallet = make_wallet("EUR", owner_name="Ada", owner_email="Ada@Example.com", external_ref="C-1")
    assert wallet["balance"] == "0.00" and wallet["status"] == "active"
    assert wallet["owner_email"] == "ada@example.com"
    result = service.fund(wallet["id"], "10.50", idempotency_key=key(), actor=actor, reference="deposit")
    assert result.transaction["kind"] == "fund" and result.transaction["amount"] == "10.50"
    world = result.transaction["entries"][1]
    assert result.transaction["entries"] == [
        {"wallet_id": wallet["id"], "system": None, "currency": "EUR", "amount": "10.50", "balance_after": "10.50"},
        {
            "wallet_id": world["wallet_id"],
            "system": "world",
            "currency": "EUR",
            "amount": "-10.50",
            "balance_after": None,
        },
    ]
    assert service.get_wallet(wallet["id"])["balance"] == "10.50"


def test_transfer_moves_money_and_writes_both_history_rows(service, actor, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet(balance="5.00")
    result = service.transfer(a["id"], b["id"], "30.25", idempotency_key=key(), actor=actor, reference="rent")
    assert service.get_wallet(a["id"])["balance"] == "69.75"
    assert service.get_wallet(b["id"])["balance"] == "35.25"
    assert {(e["wallet_id"], e["amount"], e["balance_after"]) for e in result.transaction["entries"]} == {
        (a["id"], "-30.25", "69.75"),
        (b["id"], "30.25", "35.25"),
    }
    newest = service.history(a["id"]).items[0]
    assert (newest["kind"], newest["amount"], newest["balance_after"]) == ("transfer", "-30.25", "69.75")
    assert newest["counterparty_wallet_id"] == b["id"] and newest["reference"] == "rent"
    assert service.get_transaction(result.transaction["id"]) == result.transaction
    assert service.reconcile().ok


def test_transfer_of_the_whole_balance_leaves_exactly_zero(service, actor, make_wallet):
    a, b = make_wallet("JPY", balance="500"), make_wallet("JPY")
    service.transfer(a["id"], b["id"], "500", idempotency_key=key(), actor=actor)
    assert service.get_wallet(a["id"])["balance"] == "0"


def _errors(make_wallet, actor, service):
    """(description, call, code, field) for every domain error a fund or transfer can raise."""
    usd, usd2 = make_wallet(balance="10.00"), make_wallet(balance="1.00")
    eur = make_wallet("EUR", balance="10.00")
    frozen = make_wallet(balance="10.00")
    service.set_status(frozen["id"], "frozen", actor=actor, reason="test")
    closed = make_wallet()
    service.set_status(closed["id"], "closed", actor=actor, reason="test")

    def t(a, b, amount="1.00", **kw):
        return lambda: service.transfer(a, b, amount, idempotency_key=kw.get("k", key()), actor=actor)

    f = lambda w, amount="1.00": lambda: service.fund(w, amount, idempotency_key=key(), actor=actor)  # noqa: E731
    service.transfer(usd["id"], usd2["id"], "1.00", idempotency_key="used-key", actor=actor)
    return [
        ("overdraft", t(usd["id"], usd2["id"], "9.01"), "insufficient_funds", "amount"),
        ("currency", t(usd["id"], eur["id"]), "currency_mismatch", "to_wallet_id"),
        ("frozen source", t(frozen["id"], usd["id"]), "wallet_not_active", "from_wallet_id"),
        ("frozen dest", t(usd["id"], frozen["id"]), "wallet_not_active", "to_wallet_id"),
        ("fund closed", f(closed["id"]), "wallet_not_active", "wallet_id"),
        ("same wallet", t(usd["id"], usd["id"]), "same_wallet", "to_wallet_id"),
        ("zero", t(usd["id"], usd2["id"], "0"), "invalid_amount", "amount"),
        ("precision", t(usd["id"], usd2["id"], "0.001"), "invalid_amount", "amount"),
        ("float", t(usd["id"], usd2["id"], 1.5), "invalid_amount", "amount"),
        ("fund precision", f(usd["id"], "1.999"), "invalid_amount", "amount"),
        ("missing source", t(10**12, usd["id"]), "not_found", "from_wallet_id"),
        ("missing dest", t(usd["id"], 10**12), "not_found", "to_wallet_id"),
        ("missing fund", f(10**12), "not_found", "wallet_id"),
        ("bad id", t(-1, usd["id"]), "invalid_input", "from_wallet_id"),
        ("key reused", t(usd["id"], usd2["id"], "2.00", k="used-key"), "idempotency_key_reused", "idempotency_key"),
        ("empty key", t(usd["id"], usd2["id"], k=""), "invalid_input", "idempotency_key"),
        ("control key", t(usd["id"], usd2["id"], k="a\x00b"), "invalid_input", "idempotency_key"),
    ]


def test_every_domain_error_has_its_code_and_field_and_changes_nothing(service, actor, make_wallet, ledger_snapshot):
    for description, call, code, field in _errors(make_wallet, actor, service):
        before = ledger_snapshot()
        with pytest.raises(WalletError) as err:
            call()
        assert (err.value.code, err.value.field) == (code, field), description
        assert ledger_snapshot() == before, f"{description} left something behind"
    assert service.reconcile().ok


def test_insufficient_funds_tells_the_available_balance(service, actor, make_wallet):
    a, b = make_wallet(balance="3.50"), make_wallet()
    with pytest.raises(WalletError) as err:
        service.transfer(a["id"], b["id"], "4", idempotency_key=key(), actor=actor)
    assert err.value.details["available"] == "3.50" and "3.50" in err.value.message


def test_history_is_newest_first_with_a_keyset_cursor(service, actor, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet()
    for i in range(1, 8):
        service.transfer(a["id"], b["id"], f"{i}.00", idempotency_key=key(), actor=actor)
    first = service.history(a["id"], limit=3)
    second = service.history(a["id"], limit=3, cursor=first.next_cursor)
    third = service.history(a["id"], limit=3, cursor=second.next_cursor)
    amounts = [e["amount"] for page in (first, second, third) for e in page.items]
    assert amounts == ["-7.00", "-6.00", "-5.00", "-4.00", "-3.00", "-2.00", "-1.00", "100.00"]
    assert third.next_cursor is None
    balances = [Decimal(e["balance_after"]) for page in (first, second, third) for e in page.items]
    assert balances[0] == Decimal("72.00") and balances == sorted(balances)


def test_search_finds_wallets_by_name_email_reference_and_id(service, make_wallet):
    w = make_wallet(owner_name="Grace 100% Hopper", owner_email="grace@navy.mil", external_ref="NAVY-7")
    make_wallet(owner_name="Someone Else")
    for q in ("grace", "NAVY.MIL", "navy-7", str(w["id"]), "100%"):
        assert [x["id"] for x in service.list_wallets(q).items] == [w["id"]], q
    assert service.list_wallets("_").items == []  # LIKE wildcards are literal


def test_scopes_keep_idempotency_keys_apart(service, make_wallet):
    a, b = make_wallet(balance="10.00"), make_wallet()
    one, two = Actor("user:1", "one"), Actor("user:2", "two")
    service.transfer(a["id"], b["id"], "1.00", idempotency_key="k", actor=one)
    service.transfer(a["id"], b["id"], "1.00", idempotency_key="k", actor=two)
    assert service.get_wallet(a["id"])["balance"] == "8.00"


def test_a_second_wallet_with_the_same_reference_and_currency_is_refused(service, actor, make_wallet):
    """Issue 25, item 12: a second customer wallet for one external reference and currency is a
    mistake; it is refused naming the wallet that has it (another currency is another wallet)."""
    from wallet_app.errors import WalletError

    first = service.create_wallet("Ada Lovelace", "USD", actor=actor, external_ref="CUST-9")
    with pytest.raises(WalletError) as again:
        service.create_wallet("Ada Lovelace", "USD", actor=actor, external_ref="CUST-9")
    assert (again.value.code, again.value.field) == ("invalid_input", "external_ref")
    assert again.value.message == (
        f"Ada Lovelace #{first['id']} already has the reference CUST-9 in USD: "
        "use that wallet, or give another reference."
    )
    assert service.create_wallet("Ada Lovelace", "EUR", actor=actor, external_ref="CUST-9")["currency"] == "EUR"
