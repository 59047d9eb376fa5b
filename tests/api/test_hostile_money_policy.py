"""The ledger's policy, as the hostile pass found it broken: no caller sets a price, four eyes
binds every person whatever their rights, and reconcile sees a mint (docs/DESIGN.md 5a)."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.api.conftest import Api
from wallet_app.extensions import db
from wallet_app.finance.reconcile import reconcile
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor

ADMIN = Actor("user:admin", "admin@example.com")


def k():
    return str(uuid.uuid4())


def money(api, wallet_id):
    return api.get(f"/wallets/{wallet_id}").json["balance"]


def failed_checks(session):
    return {c.name: c.mismatches for c in reconcile(session).checks if not c.passed}


@pytest.fixture
def fx(api, funded):
    """USD wallet A with 100.00 (from `funded`), empty EUR and JPY wallets, house rates."""
    a, _ = funded
    eur = api.post("/wallets", {"owner_name": "Eve", "currency": "EUR"}).json["id"]
    jpy = api.post("/wallets", {"owner_name": "Jun", "currency": "JPY"}).json["id"]
    rates.set_rate("USD", "EUR", "0.92", spread_bps=50, tolerance_bps=100, actor=ADMIN)
    rates.set_rate("USD", "JPY", "150", spread_bps=50, actor=ADMIN)
    rates.set_rate("EUR", "USD", "1.08", spread_bps=50, actor=ADMIN)
    return a, eur, jpy


# -- 1. the rate is the house's --------------------------------------------------------------
def test_a_caller_cannot_choose_the_rate_and_mint_money(api, fx, session, ledger_snapshot):
    a, eur, jpy = fx
    before = ledger_snapshot()
    for to, rate in ((jpy, "999999999999"), (eur, "900000"), (eur, "0.94")):  # 0.94: 2.2% off, tolerance 1%
        minted = api.post(
            "/transfers", {"from_wallet_id": a, "to_wallet_id": to, "amount": "1.00", "rate": rate}, key=k()
        )
        assert (minted.status_code, minted.json["code"], minted.json["errors"][0]["field"]) == (
            422,
            "rate_mismatch",
            "rate",
        ), rate
    assert ledger_snapshot() == before
    # Within the pair's tolerance the request is accepted, at the house's rate, not the caller's.
    near = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "10.00", "rate": "0.925"}, key=k()
    )
    assert near.status_code == 201 and (near.json["rate"], near.json["dest_amount"]) == ("0.92", "9.20")
    # No tolerance set (USD->JPY): only the house's own rate is accepted as a guard.
    exact = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "1.00", "rate": "150"}, key=k())
    assert exact.status_code == 201 and exact.json["dest_amount"] == "150"
    assert (
        api.post(
            "/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "1.00", "rate": "150.01"}, key=k()
        ).json["code"]
        == "rate_mismatch"
    )
    assert failed_checks(session) == {}


def test_the_converted_amount_meets_the_destination_currencys_threshold(api, fx):
    a, _, jpy = fx
    rates.set_threshold("JPY", "5000", actor=ADMIN)
    waiting = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "40.00"}, key=k())
    assert waiting.status_code == 202 and waiting.json["status"] == "awaiting_approval"  # 6,000 JPY
    assert (
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "20.00"}, key=k()).status_code
        == 201
    )  # 3,000 JPY


# -- 2. four eyes binds every person -----------------------------------------------------------
def test_a_token_with_the_approve_scope_waits_like_anyone(client, make_token, api, funded):
    _, secret = make_token("read,write,approve")
    approver = Api(client, secret)
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    big = approver.post(f"/wallets/{a}/fund", {"amount": "50000.00"}, key=k())
    assert big.status_code == 202 and big.json["status"] == "awaiting_approval"
    assert approver.post(f"/transactions/{big.json['id']}/approve", key=k()).json["code"] == "maker_cannot_approve"
    done = api.post(f"/transactions/{big.json['id']}/approve", key=k())
    assert done.status_code == 403  # the other token has no approve scope
    assert money(api, a) == "100.00"


def test_splitting_under_the_threshold_does_not_help(api, funded):
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    answers = [
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "19.00"}, key=k()) for _ in range(5)
    ]
    assert [r.status_code for r in answers] == [201, 201, 202, 202, 202]  # 38.00 posted, then 57.00 > 50.00
    assert money(api, b) == "38.00"


def test_a_currency_without_its_own_threshold_has_the_default(client, make_token, api):
    _, secret = make_token("read,write,approve")
    kwd = api.post("/wallets", {"owner_name": "Kareem", "currency": "KWD"}).json["id"]
    assert rates.policy()["default_approval_threshold"] == "10000"
    funded = api.post(f"/wallets/{kwd}/fund", {"amount": "5000000.000"}, key=k())
    assert funded.status_code == 202
    small = api.post(f"/wallets/{kwd}/fund", {"amount": "9000.000"}, key=k())
    assert small.status_code == 201
    rates.set_policy(default_approval_threshold="100", actor=ADMIN)
    assert api.post(f"/wallets/{kwd}/withdrawals", {"amount": "500.000"}, key=k()).status_code == 202
    assert money(api, kwd) == "9000.000"


def test_a_reversal_above_the_threshold_waits_too(client, make_token, api, funded, session):
    a, b = funded
    _, checker_secret = make_token("read,write,approve")
    checker = Api(client, checker_secret)
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    out = api.post(f"/wallets/{a}/withdrawals", {"amount": "80.00"}, key=k()).json
    assert out["status"] == "awaiting_approval"
    assert checker.post(f"/transactions/{out['id']}/approve", key=k()).json["status"] == "posted"
    back = api.post(f"/transactions/{out['id']}/reversals", {"reason": "mistake"}, key=k())
    assert back.status_code == 202 and back.json["status"] == "awaiting_approval"
    assert money(api, a) == "20.00"  # nothing came back from world yet
    approved = checker.post(f"/transactions/{back.json['id']}/approve", key=k())
    assert approved.status_code == 200 and approved.json["status"] == "posted"
    assert approved.json["approved_by"].startswith("token:") and approved.json["approved_at"]
    assert money(api, a) == "100.00"
    assert api.get(f"/transactions/{out['id']}").json["reversed_amount"] == "80.00"
    assert failed_checks(session) == {}


def test_two_tokens_of_one_owner_are_one_person(client, make_token, api, funded):
    a, b = funded
    owner = f"acme-{uuid.uuid4().hex[:6]}"
    _, maker_secret = make_token("read,write", name=owner)
    _, approve_secret = make_token("read,write,approve", name=owner + "-approver", owner=owner)
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    waiting = Api(client, maker_secret).post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "60.00"}, key=k()
    )
    assert waiting.status_code == 202
    refused = Api(client, approve_secret).post(f"/transactions/{waiting.json['id']}/approve", key=k())
    assert (refused.status_code, refused.json["code"]) == (403, "maker_cannot_approve")


def test_a_token_owned_by_an_operator_is_that_operator(client, make_token, make_operator, funded, api):
    a, b = funded
    person = make_operator("approver")
    _, mine = make_token("read,write", owner=person.email)
    _, also_mine = make_token("read,write,approve", owner=person.email.upper())
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    waiting = Api(client, mine).post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "60.00"}, key=k())
    assert (
        Api(client, also_mine).post(f"/transactions/{waiting.json['id']}/approve", key=k()).json["code"]
        == "maker_cannot_approve"
    )
    # A name that is neither an operator nor an integration is refused, naming the field.
    from wallet_app.errors import NotFound

    with pytest.raises(NotFound) as nobody:
        make_token("read", owner="nobody-at-all")
    assert nobody.value.field == "owner"


# -- 3. a hold or a request is re-quoted ----------------------------------------------------
def test_a_held_or_waiting_exchange_is_requoted_at_capture_and_approval(client, make_token, api, fx):
    a, eur, _ = fx
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "10.00", "pending": True}, key=k()
    ).json
    assert (held["rate"], held["dest_amount"]) == ("0.92", "9.20")
    rates.set_threshold("USD", "15.00", actor=ADMIN)
    waiting = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "20.00"}, key=k()).json
    assert waiting["status"] == "awaiting_approval"
    rates.set_rate("USD", "EUR", "0.50", spread_bps=50, actor=ADMIN)
    captured = api.post(f"/transfers/{held['id']}/capture", key=k()).json
    assert (captured["status"], captured["rate"], captured["dest_amount"]) == ("posted", "0.5", "5.00")
    _, secret = make_token("read,write,approve")
    approved = Api(client, secret).post(f"/transactions/{waiting['id']}/approve", key=k()).json
    assert (approved["status"], approved["rate"], approved["dest_amount"]) == ("posted", "0.5", "10.00")
    assert money(api, eur) == "15.00"


# -- 4. fees round up -------------------------------------------------------------------------
def test_the_spread_never_rounds_to_zero(api, fx):
    a, eur, _ = fx
    fees = [
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "0.75"}, key=k()).json["fee"]
        for _ in range(3)
    ]
    assert fees == ["0.01"] * 3  # 0.75 x 50 bps = 0.00375, rounded up
    assert (
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "75.00"}, key=k()).json["fee"]
        == "0.38"
    )  # 0.375 up


# -- 5. reconcile after approve, then capture or void ----------------------------------------
@pytest.mark.parametrize("ending", ["capture", "void"])
def test_reconcile_passes_after_an_approved_hold_is_captured_or_voided(
    client, make_token, api, funded, session, ending
):
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    waiting = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "60.00", "pending": True}, key=k()
    ).json
    _, secret = make_token("read,write,approve")
    assert Api(client, secret).post(f"/transactions/{waiting['id']}/approve", key=k()).json["status"] == "pending"
    assert api.post(f"/transfers/{waiting['id']}/{ending}", key=k()).status_code == 200
    assert failed_checks(session) == {}


# -- 6. what answered 500 -----------------------------------------------------------------------
def test_reversing_what_never_posted_is_refused(client, make_token, api, funded, ledger_snapshot):
    a, b = funded
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    voided = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    api.post(f"/transfers/{voided['id']}/void", key=k())
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    waiting = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "60.00"}, key=k()).json
    before = ledger_snapshot()
    for tx in (held, voided, waiting):
        refused = api.post(f"/transactions/{tx['id']}/reversals", {"reason": "x"}, key=k())
        assert (refused.status_code, refused.json["code"]) == (422, "not_reversible"), tx["status"]
    assert ledger_snapshot() == before


def test_capture_or_approve_on_a_reversal_is_refused(client, make_token, api, funded):
    a, b = funded
    sent = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00"}, key=k()).json
    back = api.post(f"/transactions/{sent['id']}/reversals", {"reason": "x"}, key=k()).json
    _, secret = make_token("read,write,approve")
    refused = api.post(f"/transfers/{back['id']}/capture", key=k())
    assert (refused.status_code, refused.json["code"]) == (422, "hold_not_pending")
    refused = Api(client, secret).post(f"/transactions/{back['id']}/approve", key=k())
    assert (refused.status_code, refused.json["code"]) == (422, "not_awaiting_approval")


@pytest.mark.parametrize("limit, value", [("overdraft_limit", "0.00"), ("max_balance", "90.00")])
def test_lowering_a_limit_on_a_wallet_with_a_hold_is_a_422(client, make_token, api, funded, limit, value):
    a, b = funded
    _, manager = make_token("read,write,manage")
    headers = {"Authorization": f"Bearer {manager}"}
    client.patch(f"/api/v1/wallets/{a}", json={"overdraft_limit": "50.00"}, headers=headers)
    api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "120.00", "pending": True}, key=k())
    refused = client.patch(f"/api/v1/wallets/{a}", json={limit: value}, headers=headers)
    assert (refused.status_code, refused.json["code"], refused.json["errors"][0]["field"]) == (
        422,
        "invalid_input",
        limit,
    )
    wallet = api.get(f"/wallets/{a}").json
    assert (wallet["overdraft_limit"], wallet["max_balance"]) == ("50.00", None)


# -- 7. smaller -----------------------------------------------------------------------------
def test_only_a_kind_the_catalogue_marks_holdable_is_held(service, make_wallet, actor, ledger_snapshot):
    """The engine refuses a hold of any other kind, whoever composes the call."""
    from wallet_app.errors import KindNotHoldable
    from wallet_app.extensions import db as _db
    from wallet_app.ledger import engine
    from wallet_app.ledger.catalogue import Movement

    wallet = make_wallet(balance="10.00")
    before = ledger_snapshot()
    for movement in (
        Movement("fund", Decimal("1.00"), None, wallet["id"]),
        Movement("withdrawal", Decimal("1.00"), wallet["id"], None),
    ):
        with pytest.raises(KindNotHoldable) as refused:
            engine.post(_db.session, movement, actor=actor, key=k(), fp="fp", pending=True, expires_in=60)
        assert refused.value.field == "pending"
    assert ledger_snapshot() == before


def test_only_the_holds_maker_captures_or_voids_it(client, make_token, api, funded):
    a, b = funded
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    _, other = make_token("read,write")
    for action in ("capture", "void"):
        refused = Api(client, other).post(f"/transfers/{held['id']}/{action}", key=k())
        assert (refused.status_code, refused.json["code"]) == (403, "not_hold_maker")
    assert api.post(f"/transfers/{held['id']}/capture", key=k()).status_code == 200


def test_a_wallet_with_an_open_hold_cannot_be_closed(client, make_token, api, funded):
    a, b = funded
    _, manager = make_token("read,write,manage")
    headers = {"Authorization": f"Bearer {manager}"}
    c = api.post("/wallets", {"owner_name": "Carol", "currency": "USD"}).json["id"]
    client.patch(f"/api/v1/wallets/{c}", json={"overdraft_limit": "50.00"}, headers=headers)
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    api.post("/transfers", {"from_wallet_id": c, "to_wallet_id": a, "amount": "5.00", "pending": True}, key=k())
    for wallet in (c, b):  # both empty: the source of a hold (on its overdraft) and a destination
        refused = client.patch(
            f"/api/v1/wallets/{wallet}", json={"status": "closed", "reason": "gone"}, headers=headers
        )
        assert (refused.status_code, refused.json["code"]) == (422, "holds_open")
    api.post(f"/transfers/{held['id']}/void", key=k())
    closed = client.patch(f"/api/v1/wallets/{b}", json={"status": "closed", "reason": "gone"}, headers=headers)
    assert closed.status_code == 200 and closed.json["status"] == "closed"


def test_a_capture_retried_with_the_amount_it_took_replays(api, funded):
    a, b = funded
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    key = k()
    assert api.post(f"/transfers/{held['id']}/capture", key=key).status_code == 200
    again = api.post(f"/transfers/{held['id']}/capture", {"amount": "5.00"}, key=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    other = api.post(f"/transfers/{held['id']}/capture", {"amount": "4.00"}, key=key)
    assert other.json["code"] == "idempotency_key_reused"


def test_a_null_amount_is_not_all(api, funded):
    a, b = funded
    held = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00", "pending": True}, key=k()
    ).json
    refused = api.post(f"/transfers/{held['id']}/capture", {"amount": None}, key=k())
    assert (refused.status_code, refused.json["errors"][0]["field"]) == (422, "amount")
    sent = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00"}, key=k()).json
    refused = api.post(f"/transactions/{sent['id']}/reversals", {"reason": "x", "amount": None}, key=k())
    assert (refused.status_code, refused.json["errors"][0]["field"]) == (422, "amount")


# -- reconcile sees a mint ------------------------------------------------------------------
def test_reconcile_names_an_exchange_at_an_off_table_rate(api, fx, session):
    """A mint that got past the engine (by a bug or by hand) in a ledger whose other checks
    all still pass: every leg balanced, every balance matching its legs."""
    a, _, jpy = fx
    done = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "1.00"}, key=k()).json
    assert failed_checks(session) == {}
    minted = 999_999_999_999 - 150
    params = {"id": done["id"], "m": minted, "jpy": jpy}
    session.execute(
        text("UPDATE transactions SET rate = 999999999999, dest_amount = 999999999999 WHERE id = :id"), params
    )
    session.execute(
        text("""
        UPDATE wallet_history h SET amount = h.amount + CASE WHEN w.system_purpose = 'fx' THEN -:m ELSE :m END,
                                    balance_after = h.balance_after + CASE WHEN w.system_purpose = 'fx' THEN -:m
                                                                           ELSE :m END
        FROM wallets w WHERE w.id = h.wallet_id AND h.transaction_id = :id AND w.currency = 'JPY'"""),
        params,
    )
    session.execute(
        text("""
        UPDATE wallets w SET balance = w.balance + CASE WHEN w.system_purpose = 'fx' THEN -:m ELSE :m END
        WHERE w.currency = 'JPY' AND (w.id = :jpy OR w.system_purpose = 'fx')"""),
        params,
    )
    assert money(api, jpy) == "999999999999"
    failed = failed_checks(session)
    assert list(failed) == ["fx_positions"]
    assert any(
        f"transaction {done['id']} (exchange)" in m and "the house's was 150" in m for m in failed["fx_positions"]
    )
    assert any(m.startswith("USD->JPY") and str(done["id"]) in m for m in failed["fx_positions"])


def test_the_operator_who_issued_a_token_never_decides_what_it_made(client, make_operator, funded, api):
    """An admin who created an integration's token has seen its secret: what the token makes
    is not theirs to approve, and what they make is not the token's."""
    from wallet_app.errors import MakerCannotApprove
    from wallet_app.ledger import operations
    from wallet_app.services.tokens import create_token

    a, b = funded
    admin = make_operator("admin")
    as_admin = Actor(f"user:{admin.id}", admin.email)
    _, secret = create_token(f"x-{uuid.uuid4().hex[:6]}", "read,write,approve", actor=as_admin, created_by_id=admin.id)
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    made = (
        Api(client, secret)
        .post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "60.00"}, key=k())
        .json
    )
    with pytest.raises(MakerCannotApprove):
        operations.approve(made["id"], idempotency_key=k(), actor=as_admin)
    theirs = operations.fund(b, "60.00", idempotency_key=k(), actor=as_admin).transaction
    assert theirs["status"] == "awaiting_approval"
    refused = Api(client, secret).post(f"/transactions/{theirs['id']}/approve", key=k())
    assert (refused.status_code, refused.json["code"]) == (403, "maker_cannot_approve")


def test_an_open_hold_counts_however_old_and_a_capture_counts_when_it_moves(api, funded, session):
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    old = api.post(
        "/transfers",
        {"from_wallet_id": a, "to_wallet_id": b, "amount": "45.00", "pending": True, "expires_in": 30 * 86400},
        key=k(),
    ).json
    # A day and more passes (the hold and what four eyes counted of it, moved back 25 hours).
    session.execute(
        text("UPDATE transactions SET created_at = created_at - interval '25 hours' WHERE id = :id"), {"id": old["id"]}
    )
    session.execute(text("UPDATE wallet_flows SET hour = hour - interval '25 hours' WHERE wallet_id = :w"), {"w": a})
    second = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "45.00", "pending": True}, key=k()
    )
    assert second.status_code == 202  # the old hold may still be captured: it still counts
    assert api.post(f"/transfers/{old['id']}/capture", key=k()).json["status"] == "posted"
    # Captured now, it counts now: another 10.00 today (55.00 in all) waits too.
    third = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "10.00"}, key=k())
    assert third.status_code == 202


def test_converted_amounts_add_up_in_the_destination_currency(api, fx):
    a, _, jpy = fx
    rates.set_threshold("JPY", "5000", actor=ADMIN)
    answers = [
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "10.00"}, key=k()) for _ in range(5)
    ]
    assert [r.status_code for r in answers] == [201, 201, 201, 202, 202]  # 4,500 JPY, then 6,000 > 5,000


def test_without_its_settings_row_four_eyes_fail_closed(api, funded, session):
    a, _ = funded
    session.execute(text("DELETE FROM ledger_settings"))
    assert api.post(f"/wallets/{a}/fund", {"amount": "0.01"}, key=k()).status_code == 202


def test_a_rate_that_pays_a_round_trip_is_refused(session):
    from wallet_app.errors import InvalidInput

    rates.set_rate("USD", "EUR", "0.9", spread_bps=30, actor=ADMIN)
    with pytest.raises(InvalidInput) as refused:
        rates.set_rate("EUR", "USD", "1.2", spread_bps=30, actor=ADMIN)  # 0.9 x 1.2 = 1.08
    assert refused.value.field == "rate" and "there and back" in refused.value.message
    assert rates.set_rate("EUR", "USD", "1.11", spread_bps=30, actor=ADMIN)["rate"] == "1.11"  # 0.999
    with pytest.raises(InvalidInput):
        rates.set_policy(fx_position_tolerance_bps="10000", actor=ADMIN)  # reconcile's check never off


def test_two_tokens_racing_for_one_new_integration_name_get_a_refusal_not_a_500(committing_app):
    import threading

    from wallet_app.errors import InvalidInput
    from wallet_app.services.tokens import create_token

    outcomes, start = [], threading.Barrier(6)

    def make():
        with committing_app.app_context():
            start.wait()
            try:
                create_token("racer", "read", actor=Actor("cli", "cli"))
                outcomes.append("made")
            except InvalidInput as exc:
                outcomes.append(exc.field)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=make) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["made"] + ["owner"] * 5
