"""The API for holds, four-eyes approval and cross-currency transfers: every status code."""

import uuid

import pytest
from sqlalchemy import text

from tests.api.conftest import Api
from tests.conftest import CHECKER
from wallet_app.errors import MakerCannotApprove
from wallet_app.ledger import operations, rates
from wallet_app.services.audit import Actor

FINANCE = Actor("user:finance", "finance@example.com")


def k():
    return str(uuid.uuid4())


def hold(api, a, b, amount, **extra):
    return api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": amount, "pending": True, **extra}, key=k()
    )


def test_a_pending_transfer_holds_then_capture_posts_part_and_releases_the_rest(api, funded):
    a, b = funded
    held = hold(api, a, b, "60.00")
    assert held.status_code == 201 and held.json["status"] == "pending" and held.json["entries"] == []
    assert held.json["held_amount"] == "60.00" and held.json["expires_at"]
    assert {"balance": "100.00", "held": "60.00", "available": "40.00"}.items() <= api.get(f"/wallets/{a}").json.items()
    over = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "40.01"}, key=k())
    assert (over.status_code, over.json["code"]) == (422, "insufficient_funds")  # available, not balance
    assert api.get(f"/wallets/{a}/holds").json["data"][0]["status"] == "pending"

    too_much = api.post(f"/transfers/{held.json['id']}/capture", {"amount": "60.01"}, key=k())
    assert (too_much.status_code, too_much.json["code"]) == (422, "capture_exceeds_hold")
    key = k()
    done = api.post(f"/transfers/{held.json['id']}/capture", {"amount": "25.00"}, key=key)
    assert done.status_code == 200 and done.json["status"] == "posted" and done.json["amount"] == "25.00"
    assert [e["amount"] for e in done.json["entries"]] == ["-25.00", "25.00"]
    again = api.post(f"/transfers/{held.json['id']}/capture", {"amount": "25.00"}, key=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert {"balance": "75.00", "held": "0.00", "available": "75.00"}.items() <= api.get(f"/wallets/{a}").json.items()
    assert api.get(f"/wallets/{b}").json["balance"] == "25.00"
    for path in (f"/transfers/{held.json['id']}/capture", f"/transfers/{held.json['id']}/void"):
        refused = api.post(path, key=k())
        assert (refused.status_code, refused.json["code"]) == (422, "hold_not_pending")


def test_void_releases_and_nothing_after_it(api, funded):
    a, b = funded
    held = hold(api, a, b, "70.00", expires_in=3600).json
    voided = api.post(f"/transfers/{held['id']}/void", key=k())
    assert voided.status_code == 200 and voided.json["status"] == "voided"
    assert api.get(f"/wallets/{a}").json["available"] == "100.00"
    for path in ("capture", "void"):
        refused = api.post(f"/transfers/{held['id']}/{path}", key=k())
        assert (refused.status_code, refused.json["code"]) == (422, "hold_not_pending")
    assert api.post("/transfers/999999999/void", key=k()).status_code == 404
    assert api.post(f"/transfers/{held['id']}/void").status_code == 400  # no Idempotency-Key
    for extra, field in (
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 31 * 86400}, "expires_in"),
        ({"pending": "yes"}, "pending"),
    ):
        bad = hold(api, a, b, "1.00", **extra)
        assert (bad.status_code, bad.json["errors"][0]["field"]) == (422, field)


def test_an_expired_hold_never_counts_and_expire_holds_marks_it(app, api, funded, session):
    from wallet_app.ledger import operations

    a, b = funded
    held = hold(api, a, b, "90.00").json
    session.execute(
        text("UPDATE transactions SET expires_at = now() - interval '1 second' WHERE id = :id"), {"id": held["id"]}
    )
    assert api.get(f"/wallets/{a}").json["available"] == "100.00"  # the engine's live sum, not the column
    assert api.get(f"/transactions/{held['id']}").json["status"] == "expired"  # before expire-holds marks it
    spend = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "95.00"}, key=k())
    assert spend.status_code == 201
    late = api.post(f"/transfers/{held['id']}/capture", key=k())
    assert (late.status_code, late.json["code"]) == (422, "hold_not_pending")
    assert operations.expire_holds() == 1 and operations.expire_holds() == 0
    assert api.get(f"/transactions/{held['id']}").json["status"] == "expired"
    assert api.get(f"/wallets/{a}").json["held"] == "0.00"


def test_above_the_threshold_a_token_without_approve_waits_for_another(client, api, funded, make_token):
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=FINANCE)
    waiting = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "80.00"}, key=k())
    assert waiting.status_code == 202 and waiting.json["status"] == "awaiting_approval"
    assert api.get(f"/wallets/{a}").json["available"] == "20.00"
    assert (
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "20.01"}, key=k()).json["code"]
        == "insufficient_funds"
    )  # the 80.00 is held
    assert (
        api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "20.00"}, key=k()).status_code == 201
    )  # below the threshold: posts
    assert api.post(f"/transactions/{waiting.json['id']}/approve", key=k()).status_code == 403  # no approve scope
    listed = api.get("/approvals").json["data"]
    assert [x["id"] for x in listed] == [waiting.json["id"]] and listed[0]["source_owner"] == "Alice"

    _, secret = make_token("read,write,approve")
    approver = Api(client, secret)
    done = approver.post(f"/transactions/{waiting.json['id']}/approve", key=k())
    assert done.status_code == 200 and done.json["status"] == "posted" and len(done.json["entries"]) == 2
    assert api.get(f"/wallets/{b}").json["balance"] == "100.00"
    assert api.get(f"/wallets/{a}").json["balance"] == "0.00"
    twice = approver.post(f"/transactions/{waiting.json['id']}/reject", {"reason": "late"}, key=k())
    assert (twice.status_code, twice.json["code"]) == (422, "not_awaiting_approval")
    # An approver's own movement above the threshold waits like anyone's (202): approving is a
    # right, not an exemption.
    own = approver.post("/transfers", {"from_wallet_id": b, "to_wallet_id": a, "amount": "60.00"}, key=k())
    assert own.status_code == 202 and own.json["status"] == "awaiting_approval"


def test_rejection_releases_and_the_maker_cannot_approve(client, api, funded, make_token, session):
    a, b = funded
    rates.set_threshold("USD", "10.00", actor=FINANCE)
    _, secret = make_token("read,write,approve")
    approver = Api(client, secret)
    waiting = api.post(f"/wallets/{a}/withdrawals", {"amount": "30.00"}, key=k()).json
    assert waiting["status"] == "awaiting_approval"
    assert approver.post(f"/transactions/{waiting['id']}/reject", {}, key=k()).status_code == 422  # reason
    rejected = approver.post(f"/transactions/{waiting['id']}/reject", {"reason": "not verified"}, key=k())
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["resolve_reason"] == "not verified"
    assert api.get(f"/wallets/{a}").json["available"] == "100.00"
    # The maker never approves their own, whatever they may do by then (the engine compares
    # the principal that made it).
    again = api.post(f"/wallets/{a}/withdrawals", {"amount": "20.00"}, key=k()).json
    maker = Actor(maker_scope(session, again), "the maker")  # e.g. token:7, as the API's actor
    with pytest.raises(MakerCannotApprove):
        operations.approve(again["id"], idempotency_key=k(), actor=maker)
    assert approver.get(f"/transactions/{again['id']}").json["status"] == "awaiting_approval"
    rates.set_threshold("USD", "", actor=FINANCE)
    assert rates.list_thresholds() == []


def test_fx_transfer_at_the_table_rate_with_spread_stale_and_explicit_rates(api, funded, session):
    a, _ = funded
    eur = api.post("/wallets", {"owner_name": "Eve", "currency": "EUR"}).json["id"]
    jpy = api.post("/wallets", {"owner_name": "Jun", "currency": "JPY"}).json["id"]
    none = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "10.00"}, key=k())
    assert (none.status_code, none.json["code"]) == (422, "currency_mismatch")
    rates.set_rate("USD", "EUR", "0.9", spread_bps=50, actor=FINANCE)
    done = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "10.00"}, key=k())
    assert done.status_code == 201 and done.json["kind"] == "exchange"
    assert (done.json["rate"], done.json["dest_amount"], done.json["dest_currency"], done.json["fee"]) == (
        "0.9",
        "9.00",
        "EUR",
        "0.05",
    )
    legs = {(e["system"], e["currency"]): e["amount"] for e in done.json["entries"]}
    assert legs == {
        (None, "USD"): "-10.05",
        ("fx", "USD"): "10.00",
        ("fx", "EUR"): "-9.00",
        (None, "EUR"): "9.00",
        ("fees", "USD"): "0.05",
    }
    assert api.get(f"/wallets/{eur}").json["balance"] == "9.00"
    assert {"base": "USD", "quote": "EUR", "rate": "0.9", "spread_bps": 50}.items() <= api.get("/rates").json["data"][
        0
    ].items()
    # Rounded down to the destination's minor units; a rate given with it is only a guard.
    rates.set_rate("USD", "JPY", "150.5", actor=FINANCE)
    yen = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": jpy, "amount": "1.99", "rate": "150.5"}, key=k())
    assert yen.status_code == 201 and (yen.json["dest_amount"], yen.json["fee"]) == ("299", "0.00")
    session.execute(text("UPDATE fx_rates SET updated_at = now() - interval '2 hours'"))
    stale = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "1.00"}, key=k())
    assert (stale.status_code, stale.json["code"], stale.json["errors"][0]["field"]) == (422, "rate_stale", "rate")
    for rate in (0.9, "0", "1e3", "-1"):
        bad = api.post(
            "/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "1.00", "rate": rate}, key=k()
        )
        assert (bad.status_code, bad.json["errors"][0]["field"]) == (422, "rate"), rate
    same = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": funded[1], "amount": "1.00", "rate": "2"}, key=k()
    )
    assert (same.status_code, same.json["errors"][0]["field"]) == (422, "rate")
    rates.set_rate("EUR", "JPY", "0.5", actor=FINANCE)
    tiny = api.post("/transfers", {"from_wallet_id": eur, "to_wallet_id": jpy, "amount": "0.01"}, key=k())
    assert (tiny.status_code, tiny.json["code"]) == (422, "invalid_amount")


def maker_scope(session, tx):
    return session.execute(text("SELECT maker_scope FROM transactions WHERE id = :id"), {"id": tx["id"]}).scalar()


def test_the_review_step_previews_an_exchange_and_an_approval(service, make_wallet):
    usd, eur = make_wallet("USD", balance="100.00"), make_wallet("EUR")
    rates.set_rate("USD", "EUR", "0.9", spread_bps=100, actor=FINANCE)
    rates.set_threshold("USD", "5.00", actor=FINANCE)
    support = Actor("user:55", "support@example.com")
    seen = service.preview("transfer", usd["id"], eur["id"], "10.00", actor=support)
    assert (seen["kind"], seen["rate"], seen["dest_amount"], seen["dest_currency"], seen["fee"], seen["status"]) == (
        "exchange",
        "0.9",
        "9.00",
        "EUR",
        "0.10",
        "awaiting_approval",
    )
    assert (seen["source"]["balance_after"], seen["dest"]["balance_after"]) == ("89.90", "9.00")
    assert service.get_wallet(usd["id"])["balance"] == "100.00"  # a preview writes nothing


def test_an_overdraft_limit_cannot_drop_below_what_holds_take(client, api, funded, make_token):
    a, b = funded
    _, manager = make_token("read,write,manage")

    def patch(body):
        return client.patch(f"/api/v1/wallets/{a}", json=body, headers={"Authorization": f"Bearer {manager}"})

    assert patch({"overdraft_limit": "50.00"}).status_code == 200
    assert hold(api, a, b, "130.00").status_code == 201  # 100.00 + 30.00 of the overdraft
    refused = patch({"overdraft_limit": "20.00"})
    assert (refused.status_code, refused.json["errors"][0]["field"]) == (422, "overdraft_limit")
    assert "holds reserve 130.00" in refused.json["detail"]
    assert patch({"overdraft_limit": "30.00"}).status_code == 200  # exactly what the hold takes
    assert api.get(f"/wallets/{a}").json["available"] == "0.00"


def test_a_hold_above_the_threshold_waits_then_becomes_the_hold_and_replays_answer_the_first_status(
    client, api, funded, make_token
):
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=FINANCE)
    key = k()
    body = {"from_wallet_id": a, "to_wallet_id": b, "amount": "80.00", "pending": True, "expires_in": 3600}
    waiting = api.post("/transfers", body, key=key)
    assert waiting.status_code == 202 and waiting.json["status"] == "awaiting_approval"
    _, secret = make_token("read,write,approve")
    approved = Api(client, secret).post(f"/transactions/{waiting.json['id']}/approve", key=k())
    # Approved, it is the hold its maker asked for: nothing has moved; the maker captures it.
    assert approved.status_code == 200 and approved.json["status"] == "pending" and approved.json["entries"] == []
    assert api.get(f"/wallets/{b}").json["balance"] == "0.00"
    again = api.post("/transfers", body, key=key)  # a retry answers what the first answer said
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.json["status"]) == (202, "true", "pending")
    captured = api.post(f"/transfers/{waiting.json['id']}/capture", {"amount": "30.00"}, key=k())
    assert captured.status_code == 200 and captured.json["status"] == "posted"
    assert api.get(f"/wallets/{b}").json["balance"] == "30.00"
    assert api.get(f"/wallets/{a}").json["available"] == "70.00"


def test_a_request_approved_before_its_answer_is_read_is_still_answered_202(api, funded, monkeypatch):
    """The engine commits a request, then the answer reads the row back; a checker who
    approves in between (the bank test's checker did, under failover) must not turn the
    maker's first answer into a 201 its replay contradicts."""
    a, b = funded
    rates.set_threshold("USD", "50.00", actor=FINANCE)
    read_back = operations.get_transaction
    approved = []

    def checker_first(transaction_id):
        if not approved:  # between the maker's commit and its read: the checker approves
            approved.append(None)  # once: the approval reads the request back too
            approved[0] = operations.approve(transaction_id, idempotency_key=k(), actor=CHECKER).transaction
        return read_back(transaction_id)

    monkeypatch.setattr(operations, "get_transaction", checker_first)
    key = k()
    body = {"from_wallet_id": a, "to_wallet_id": b, "amount": "80.00", "pending": True, "expires_in": 3600}
    first = api.post("/transfers", body, key=key)
    assert approved and approved[0]["status"] == "pending"  # the approval did land first
    assert (first.status_code, first.json["status"]) == (202, "pending")
    again = api.post("/transfers", body, key=key)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (202, "true")
