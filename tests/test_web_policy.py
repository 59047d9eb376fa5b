"""The money policy in the console: an operator's rate is only a check, and four eyes binds
admins too; admins set the default threshold, finance a pair's tolerance."""

import re

from tests.conftest import csrf_from, form_data
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor

HX = {"HX-Request": "true"}
ADMIN = Actor("user:admin", "admin@example.com")


def test_a_support_operator_cannot_mint_with_a_rate(client, login_as, make_wallet, service, ledger_snapshot):
    usd, eur = make_wallet(balance="100.00", owner_name="Alice"), make_wallet("EUR", owner_name="Eve")
    rates.set_rate("USD", "EUR", "0.9", spread_bps=50, actor=ADMIN)
    login_as("support")
    html = client.get(f"/wallets/{usd['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{usd['id']}/transfer/confirm") | {
        "to_wallet_id": str(eur["id"]),
        "amount": "1.00",
        "rate": "900000",
    }
    before = ledger_snapshot()
    for step in ("transfer/confirm", "transfer"):  # the review and the write refuse alike
        refused = client.post(f"/wallets/{usd['id']}/{step}", data=data, headers=HX)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422, step
        error = re.search(r'id="transfer-rate-error"[^>]*>(.*?)</', body, re.S).group(1)
        assert "The USD-&gt;EUR rate is 0.9" in error or "The USD->EUR rate is 0.9" in error
    assert ledger_snapshot() == before
    assert service.get_wallet(eur["id"])["balance"] == "0.00"


def test_an_admins_large_deposit_waits_for_a_second_person(client, login_as, make_wallet, service):
    wallet = make_wallet(owner_name="Alice")
    admin = login_as("admin")
    html = client.get(f"/wallets/{wallet['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{wallet['id']}/fund/confirm") | {"amount": "250000.00"}
    review = client.post(f"/wallets/{wallet['id']}/fund/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "will <strong>await approval</strong>" in review
    receipt = client.post(
        f"/wallets/{wallet['id']}/fund", data=form_data(review, f"/wallets/{wallet['id']}/fund"), headers=HX
    ).get_data(as_text=True)
    assert "awaiting approval" in receipt
    assert service.get_wallet(wallet["id"])["balance"] == "0.00"
    tx_id = int(re.search(r"transaction (\d+)</a>", receipt).group(1))
    # The admin may approve others' requests, never their own.
    approvals = client.get("/approvals").get_data(as_text=True)
    assert "yours: another operator decides" in approvals
    login_as("approver")
    page = client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    assert admin.email in page


def test_an_admin_sets_the_default_threshold_and_the_page_title_is_short(client, login_as, make_wallet, session):
    login_as("admin")
    page = client.get("/admin/fees").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert len(title) < 80 and "Fees" in title
    assert 'placeholder="10000 (default)"' in page
    saved = client.post(
        "/admin/policy",
        data={"csrf_token": csrf_from(page), "default_approval_threshold": "250", "fx_position_tolerance_bps": "200"},
    )
    assert saved.status_code == 303
    after = client.get("/admin/fees").get_data(as_text=True)
    assert "Default approval threshold 250; fx position tolerance 200 bps." in after
    assert rates.policy()["default_approval_threshold"] == "250"
    bad = client.post("/admin/policy", data={"csrf_token": csrf_from(page), "default_approval_threshold": "-1"})
    assert bad.status_code == 422 and rates.policy()["default_approval_threshold"] == "250"


def test_finance_sets_a_tolerance_with_a_rate(client, login_as):
    login_as("finance")
    page = client.get("/finance/rates").get_data(as_text=True)
    saved = client.post(
        "/finance/rates",
        data={
            "csrf_token": csrf_from(page),
            "base": "USD",
            "quote": "JPY",
            "rate": "150",
            "spread_bps": "40",
            "tolerance_bps": "25",
        },
    )
    assert saved.status_code == 303
    assert "tolerance 25 bps" in client.get("/finance/rates").get_data(as_text=True)
    assert rates.list_rates()[0]["tolerance_bps"] == 25


# What answered 500 in the console: each is a 422 with its message, nothing written.
def test_reversing_a_hold_or_a_request_in_the_console_is_refused(
    client, login_as, make_wallet, service, actor, ledger_snapshot
):
    a, b = make_wallet(balance="100.00"), make_wallet()
    hold = service.transfer(a["id"], b["id"], "5.00", idempotency_key="h", actor=actor, pending=True).transaction
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    request = service.transfer(a["id"], b["id"], "60.00", idempotency_key="r", actor=actor).transaction
    assert request["status"] == "awaiting_approval"
    login_as("support")
    before = ledger_snapshot()
    for tx in (hold, request):
        page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
        data = {"csrf_token": csrf_from(page), "reason": "mistake", "idempotency_key": f"k{tx['id']}"}
        for step in ("reverse/confirm", "reverse"):
            refused = client.post(f"/transactions/{tx['id']}/{step}", data=data)
            assert refused.status_code == 422, (tx["status"], step)
            assert "only a posted transaction can be reversed" in refused.get_data(as_text=True)
    assert ledger_snapshot() == before


def test_capture_or_approve_on_a_reversal_in_the_console_is_refused(client, login_as, make_wallet, service, actor):
    a, b = make_wallet(balance="100.00"), make_wallet()
    sent = service.transfer(a["id"], b["id"], "5.00", idempotency_key="t", actor=actor).transaction
    back = service.reverse(sent["id"], reason="x", idempotency_key="b", actor=actor).transaction
    login_as("admin")
    page = client.get(f"/transactions/{back['id']}").get_data(as_text=True)
    for step in ("capture/confirm", "capture", "approve/confirm", "approve"):
        refused = client.post(
            f"/transactions/{back['id']}/{step}",
            data={"csrf_token": csrf_from(page), "idempotency_key": f"k-{step}", "back": ""},
        )
        assert refused.status_code in (403, 422), step
    assert service.get_wallet(b["id"])["balance"] == "0.00"


def test_lowering_limits_under_a_hold_in_the_console_is_refused_next_to_the_field(
    client, login_as, make_wallet, service, actor
):
    a, b = make_wallet(balance="100.00"), make_wallet()
    service.set_limits(a["id"], actor=actor, overdraft_limit="50.00")
    service.transfer(a["id"], b["id"], "120.00", idempotency_key="h", actor=actor, pending=True)
    login_as("admin")
    page = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    refused = client.post(
        f"/wallets/{a['id']}/limits",
        data={
            "csrf_token": csrf_from(page),
            "overdraft_limit": "0.00",
            "max_balance": "90.00",
            "daily_outflow_limit": "",
        },
    )
    assert refused.status_code == 422 and "holds reserve 120.00" in refused.get_data(as_text=True)
    assert service.get_wallet(a["id"])["overdraft_limit"] == "50.00"


def test_a_capture_review_refuses_what_its_write_would(client, login_as, make_wallet, service):
    """The review step runs the engine's dry run: more than is held, or another's hold, is
    refused at the review, not only at the write."""
    from wallet_app.services.audit import Actor as Person

    a, b = make_wallet(balance="100.00"), make_wallet()
    maker = login_as("support")
    hold = service.transfer(
        a["id"], b["id"], "60.00", idempotency_key="h", actor=Person(f"user:{maker.id}", maker.email), pending=True
    ).transaction
    page = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    data = form_data(page, f"/transactions/{hold['id']}/capture/confirm")
    over = client.post(f"/transactions/{hold['id']}/capture/confirm", data=data | {"amount": "60.01"})
    assert over.status_code == 422 and "At most 60.00" in over.get_data(as_text=True)
    login_as("support")
    other = client.post(f"/transactions/{hold['id']}/capture/confirm", data=data | {"amount": "10.00"})
    assert other.status_code == 422 and "who made this hold, can capture or void it" in other.get_data(as_text=True)
    assert service.get_transaction(hold["id"])["status"] == "pending"


def test_an_approval_review_shows_the_rate_it_will_post_at(client, login_as, make_wallet, service, actor):
    usd, eur = make_wallet(balance="100.00"), make_wallet("EUR")
    rates.set_rate("USD", "EUR", "0.92", actor=ADMIN)
    rates.set_threshold("USD", "15.00", actor=ADMIN)
    waiting = service.transfer(usd["id"], eur["id"], "20.00", idempotency_key="w", actor=actor).transaction
    assert (waiting["status"], waiting["dest_amount"]) == ("awaiting_approval", "18.40")
    rates.set_rate("USD", "EUR", "0.50", actor=ADMIN)
    login_as("approver")
    page = client.get(f"/transactions/{waiting['id']}").get_data(as_text=True)
    review = client.post(
        f"/transactions/{waiting['id']}/approve/confirm",
        data=form_data(page, f"/transactions/{waiting['id']}/approve/confirm"),
    )
    body = review.get_data(as_text=True)
    assert review.status_code == 200 and "10.00 EUR at today's rate of 0.5" in body and "18.40 at 0.92" in body
    done = client.post(
        f"/transactions/{waiting['id']}/approve", data=form_data(body, f"/transactions/{waiting['id']}/approve")
    )
    assert done.status_code == 303 and service.get_wallet(eur["id"])["balance"] == "10.00"


def test_a_hold_with_a_fee_offers_its_amount_and_the_review_and_capture_agree(client, login_as, make_wallet, service):
    """A hold of 300.00 reserves 301.75 (its fee on top). The field offers the 300.00 that can be
    captured; 301.75 is refused at the review in the engine's words, formatted; an empty field
    reviews and captures 300.00."""
    from wallet_app.ledger import fees

    a, b = make_wallet(balance="1000.00"), make_wallet()
    maker = login_as("admin")
    fees.set_fee("USD", "transfer", fixed="0.25", bps=50, actor=Actor(f"user:{maker.id}", maker.email))
    hold = service.transfer(
        a["id"], b["id"], "300.00", idempotency_key="h", actor=Actor(f"user:{maker.id}", maker.email), pending=True
    ).transaction
    assert hold["held_amount"] == "301.75"
    page = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    assert "Amount to capture (empty: all 300.00 USD, its fee on top)" in page
    assert "empty: all 301.75" not in page
    data = form_data(page, f"/transactions/{hold['id']}/capture/confirm")
    over = client.post(f"/transactions/{hold['id']}/capture/confirm", data=data | {"amount": "301.75"})
    assert over.status_code == 422
    assert (
        f"At most 300.00 USD of transaction {hold['id']} can be captured (its fee, 1.75 USD, is reserved on top)."
        in over.get_data(as_text=True)
    )
    review = client.post(f"/transactions/{hold['id']}/capture/confirm", data=data | {"amount": ""})
    shown = review.get_data(as_text=True)
    assert review.status_code == 200 and 'class="amount-line num">300.00 USD</p>' in shown
    assert "(301.75 USD with its fee)" in shown
    done = client.post(
        f"/transactions/{hold['id']}/capture", data=form_data(shown, f"/transactions/{hold['id']}/capture")
    )
    assert done.status_code in (200, 303)
    captured = service.get_transaction(hold["id"])
    assert (captured["status"], captured["amount"], captured["fee"]) == ("posted", "300.00", "1.75")
