"""Holds, four-eyes approval and exchanges in the console: the wallet page's holds, capture
(with review) and void, the approvals page, the transaction page's outcome, rates and thresholds."""

import re
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import csrf_from, form_data, signed_in
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor
from wallet_app.services.operators import update_operator

HX = {"HX-Request": "true"}
ADMIN = Actor("cli", "cli")


def k():
    return str(uuid.uuid4())


@pytest.fixture
def held(make_wallet, service, login_as):
    """Alice (100.00 USD) holds 60.00 for Bob, made by the support operator signed in (a hold
    is its maker's to capture or void): (alice, bob, hold)."""
    a, b = make_wallet(balance="100.00", owner_name="Alice"), make_wallet(owner_name="Bob")
    maker = login_as("support")
    hold = service.transfer(
        a["id"], b["id"], "60.00", idempotency_key=k(), actor=Actor(f"user:{maker.id}", maker.email), pending=True
    ).transaction
    return a, b, hold


def test_the_wallet_page_shows_held_available_and_open_holds_with_their_buttons(client, login_as, held):
    a, _, hold = held
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert "Held 60.00 · available 40.00 USD" in html
    row = re.search(r'<tr id="hold-%d">(.*?)</tr>' % hold["id"], html, re.S).group(1)
    assert "pending" in row and "60.00" in row and "Capture…" in row and "Void" in row
    assert html.index("holds-open-rows") < html.index('id="history"')
    login_as("viewer")
    viewer = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert f'id="hold-{hold["id"]}"' in viewer and "Capture…" not in viewer
    login_as("support")  # a colleague: the hold is not theirs to capture or void
    colleague = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert "Capture…" not in colleague and "its maker captures or voids it" in colleague
    page = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    assert "who made this hold, can capture or void it" in page and "Void hold" not in page


def test_capture_has_a_review_step_then_posts_part_and_history_marks_it(client, login_as, held, service):
    a, b, hold = held
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    data = form_data(html, f"/transactions/{hold['id']}/capture/confirm") | {"amount": "25.00"}
    review = client.post(f"/transactions/{hold['id']}/capture/confirm", data=data)
    body = review.get_data(as_text=True)
    assert (
        review.status_code == 200 and "Confirm capture" in body and "25.00" in body and "of the 60.00 USD held" in body
    )
    assert service.get_wallet(a["id"])["balance"] == "100.00"  # a review moves nothing
    done = client.post(
        f"/transactions/{hold['id']}/capture", data=form_data(body, f"/transactions/{hold['id']}/capture")
    )
    assert done.status_code == 303 and done.location.endswith(f"/wallets/{a['id']}")
    after = client.get(done.location).get_data(as_text=True)
    assert f"Transaction {hold['id']} captured: 25.00 USD posted." in after
    assert "Held 0.00 · available 75.00 USD" in after
    assert after.count("from a hold") == 1  # the captured transfer's leg in the history
    assert service.get_wallet(b["id"])["balance"] == "25.00"
    resolved = re.search(r'<tr id="hold-%d">(.*?)</tr>' % hold["id"], after, re.S).group(1)
    assert "posted" in resolved and "25.00 USD captured" in resolved and "Capture…" not in resolved


def test_a_capture_above_the_hold_is_refused_next_to_the_amount(client, login_as, held, service):
    a, _, hold = held
    html = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    data = form_data(html, f"/transactions/{hold['id']}/capture/confirm") | {"amount": "60.01"}
    refused = client.post(f"/transactions/{hold['id']}/capture", data=data)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    error = re.search(r'id="capture-amount-error">(.*?)</div>', body, re.S).group(1)
    assert "60.00" in error
    assert service.get_transaction(hold["id"])["status"] == "pending"


def test_void_releases_the_hold_and_a_second_void_is_refused(client, login_as, held, service):
    a, _, hold = held
    page = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    data = form_data(page, f"/transactions/{hold['id']}/void")
    done = client.post(f"/transactions/{hold['id']}/void", data=data)
    assert done.status_code == 303
    tx_page = client.get(done.location).get_data(as_text=True)
    assert "voided" in tx_page and "Voided" in tx_page and "Void hold" not in tx_page
    assert service.get_wallet(a["id"])["available"] == "100.00"
    again = client.post(f"/transactions/{hold['id']}/void", data=data | {"idempotency_key": k()})
    assert again.status_code == 422
    assert f'role="alert">Transaction {hold["id"]} is voided, not a pending hold' in again.get_data(as_text=True)


def test_a_pending_transfer_from_the_panel_says_held_in_review_and_receipt(client, login_as, make_wallet, service):
    a, b = make_wallet(balance="100.00"), make_wallet()
    login_as("support")
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{a['id']}/transfer/confirm") | {
        "to_wallet_id": str(b["id"]),
        "amount": "30.00",
        "pending": "y",
        "expires_in": "3600",
    }
    review = client.post(f"/wallets/{a['id']}/transfer/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "Hold only: nothing moves now" in review and "expires after\n  1 hour" in review
    receipt = client.post(
        f"/wallets/{a['id']}/transfer", data=form_data(review, f"/wallets/{a['id']}/transfer"), headers=HX
    ).get_data(as_text=True)
    assert "Transfer held (pending)" in receipt and "30.00 USD is held" in receipt
    assert 'id="holds" class="card" hx-swap-oob="true"' in receipt  # the holds list updates too
    assert service.get_wallet(a["id"])["held"] == "30.00" and service.get_wallet(b["id"])["balance"] == "0.00"
    bad = client.post(f"/wallets/{a['id']}/transfer/confirm", data=data | {"expires_in": "99"}, headers=HX)
    assert bad.status_code == 422 and "Not a valid choice" in bad.get_data(as_text=True)


@pytest.fixture
def waiting(client, make_operator, make_wallet):
    """A support operator's transfer of 80.00 above the USD threshold of 50.00, made in the
    console: (maker, alice, bob, transaction id)."""
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    a, b = make_wallet(balance="100.00", owner_name="Alice"), make_wallet(owner_name="Bob")
    maker = make_operator("support")
    signed_in(client, maker.id, maker.get_id())
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{a['id']}/transfer/confirm") | {"to_wallet_id": str(b["id"]), "amount": "80.00"}
    review = client.post(f"/wallets/{a['id']}/transfer/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "will <strong>await approval</strong>" in review and "After approval" in review
    receipt = client.post(
        f"/wallets/{a['id']}/transfer", data=form_data(review, f"/wallets/{a['id']}/transfer"), headers=HX
    ).get_data(as_text=True)
    assert "Transfer awaiting approval" in receipt
    tx_id = int(re.search(r"transaction (\d+)</a>", receipt).group(1))
    return maker, a, b, tx_id


def test_a_second_operator_approves_from_the_approvals_page_with_a_review(client, login_as, waiting, service):
    maker, a, b, tx_id = waiting
    assert "Awaiting approval" in client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    login_as("approver")
    listing = client.get("/approvals").get_data(as_text=True)
    row = re.search(r'<tr id="approval-%d">(.*?)</tr>' % tx_id, listing, re.S).group(1)
    assert "80.00 USD" in row and "Alice" in row and "Bob" in row and maker.email in row and "min" in row
    assert 'href="/approvals"' in listing  # in the navigation for approvers
    review = client.post(
        f"/transactions/{tx_id}/approve/confirm", data=form_data(row, f"/transactions/{tx_id}/approve/confirm")
    )
    body = review.get_data(as_text=True)
    assert review.status_code == 200 and "Confirm approval" in body
    assert f'Alice <span class="wid">#{a["id"]}</span>' in body and f'Bob <span class="wid">#{b["id"]}</span>' in body
    assert service.get_transaction(tx_id)["status"] == "awaiting_approval"
    done = client.post(f"/transactions/{tx_id}/approve", data=form_data(body, f"/transactions/{tx_id}/approve"))
    assert done.status_code == 303 and done.location.endswith("/approvals")
    assert f"Transaction {tx_id} approved: 80.00 USD posted." in client.get(done.location).get_data(as_text=True)
    assert service.get_wallet(b["id"])["balance"] == "80.00"
    outcome = client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    assert "Posted</dt>" in outcome and "approver-" in outcome


def test_a_rejection_needs_a_reason_and_releases_the_hold(client, login_as, waiting, service):
    _, a, _, tx_id = waiting
    login_as("approver")
    row = client.get("/approvals").get_data(as_text=True)
    data = form_data(row, f"/transactions/{tx_id}/reject")
    refused = client.post(f"/transactions/{tx_id}/reject", data=data | {"reason": ""})
    assert refused.status_code == 422
    assert "reject-reason-error" in refused.get_data(as_text=True)
    done = client.post(f"/transactions/{tx_id}/reject", data=data | {"reason": "not verified"})
    assert done.status_code == 303 and done.location.endswith("/approvals")
    assert service.get_wallet(a["id"])["available"] == "100.00"
    outcome = client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    assert "rejected" in outcome and "Why</dt><dd>not verified" in outcome


def test_the_maker_sees_no_buttons_and_the_engine_refuses_their_approval(client, waiting, session, service):
    maker, _, _, tx_id = waiting
    promoted = update_operator(maker.id, actor=ADMIN, role="approver")  # since then: still the maker
    signed_in(client, promoted.id, promoted.get_id())
    listing = client.get("/approvals").get_data(as_text=True)
    row = re.search(r'<tr id="approval-%d">(.*?)</tr>' % tx_id, listing, re.S).group(1)
    assert "yours: another operator decides" in row and "Approve…" not in row
    page = client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    assert "You made this request" in page and "Approve…" not in page
    forged = client.post(f"/transactions/{tx_id}/approve", data={"csrf_token": csrf_from(page), "idempotency_key": k()})
    assert forged.status_code == 422
    assert f'role="alert">You made transaction {tx_id}; another operator must approve' in forged.get_data(as_text=True)
    assert service.get_transaction(tx_id)["status"] == "awaiting_approval"


def test_finance_sets_a_rate_and_a_transfer_to_euros_reviews_rate_amounts_and_fee(
    client, login_as, make_wallet, session
):
    usd, eur = make_wallet(balance="100.00", owner_name="Alice"), make_wallet("EUR", owner_name="Eve")
    login_as("finance")
    page = client.get("/finance/rates").get_data(as_text=True)
    assert "No rates yet" in page and 'href="/finance/rates"' in page
    bad = client.post(
        "/finance/rates",
        data={"csrf_token": csrf_from(page), "base": "USD", "quote": "EUR", "rate": "-1", "spread_bps": "50"},
    )
    assert bad.status_code == 422 and "rate-rate-error" in bad.get_data(as_text=True)
    saved = client.post(
        "/finance/rates",
        data={"csrf_token": csrf_from(page), "base": "USD", "quote": "EUR", "rate": "0.9", "spread_bps": "50"},
    )
    assert saved.status_code == 303
    listing = client.get("/finance/rates").get_data(as_text=True)
    assert (
        "Rate USD → EUR saved: 0.9, spread 50 bps, tolerance 0 bps." in listing
        and '<td class="num">0.9</td>' in listing
    )
    assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'rate.set'")).scalar() == 1
    login_as("support")
    html = client.get(f"/wallets/{usd['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{usd['id']}/transfer/confirm") | {
        "to_wallet_id": str(eur["id"]),
        "amount": "10.00",
    }
    review = client.post(f"/wallets/{usd['id']}/transfer/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "at 0.9 EUR per 1 USD" in review and "9.00 EUR" in review and "0.05 USD" in review
    receipt = client.post(
        f"/wallets/{usd['id']}/transfer", data=form_data(review, f"/wallets/{usd['id']}/transfer"), headers=HX
    ).get_data(as_text=True)
    assert "Transfer done" in receipt and "At 0.9: 10.00 USD → 9.00 EUR" in receipt
    # Issue 25, item 7: the exchange's legs each say their own currency, under a plain heading.
    tx_id = re.search(r'href="/transactions/(\d+)"', receipt).group(1)
    legs = client.get(f"/transactions/{tx_id}").get_data(as_text=True)
    legs = legs[legs.index('<table class="legs">') : legs.index("</table>", legs.index('<table class="legs">'))]
    assert "Amount (USD)" not in legs and ">Amount</th>" in legs
    assert "-10.05 USD" in legs and "+9.00 EUR" in legs
    explicit = client.post(f"/wallets/{usd['id']}/transfer/confirm", data=data | {"rate": "abc"}, headers=HX)
    assert explicit.status_code == 422 and "transfer-rate-error" in explicit.get_data(as_text=True)


def test_an_admin_sets_and_removes_an_approval_threshold_on_the_fees_page(client, login_as, session):
    login_as("admin")
    page = client.get("/admin/fees").get_data(as_text=True)
    assert "Approval threshold in USD" in page
    token = csrf_from(page)
    bad = client.post("/admin/thresholds", data={"csrf_token": token, "currency": "USD", "amount": "1.001"})
    assert bad.status_code == 422 and "decimal places" in bad.get_data(as_text=True)
    saved = client.post("/admin/thresholds", data={"csrf_token": token, "currency": "USD", "amount": "500.00"})
    assert saved.status_code == 303
    assert "Approval threshold in USD saved: 500.00." in client.get("/admin/fees").get_data(as_text=True)
    assert rates.list_thresholds()[0]["amount"] == "500.00"
    client.post("/admin/thresholds", data={"csrf_token": token, "currency": "USD", "amount": ""})
    assert rates.list_thresholds() == []
    assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'threshold.set'")).scalar() == 2


def test_holds_load_more_pages_each_list(client, login_as, make_wallet, service, actor):
    a, b = make_wallet(balance="100.00"), make_wallet()
    for _ in range(12):
        service.transfer(a["id"], b["id"], "1.00", idempotency_key=k(), actor=actor, pending=True)
    login_as("viewer")
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert html.count('<tr id="hold-') == 10
    more = re.search(r'hx-get="([^"]*/holds\?[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert rest.count('<tr id="hold-') == 2 and "Load more" not in rest and "<html" not in rest
    assert "<html" in client.get(more).get_data(as_text=True)  # without htmx: the wallet page


def test_without_javascript_a_hold_is_reviewed_and_placed_in_whole_pages(client, login_as, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet()
    login_as("support")
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{a['id']}/transfer/confirm") | {
        "to_wallet_id": str(b["id"]),
        "amount": "10.00",
        "pending": "y",
    }
    review = client.post(f"/wallets/{a['id']}/transfer/confirm", data=data).get_data(as_text=True)
    assert "<html" in review and "Hold only: nothing moves now" in review and "the default time (7 days)" in review
    posted = client.post(f"/wallets/{a['id']}/transfer", data=form_data(review, f"/wallets/{a['id']}/transfer"))
    assert posted.status_code == 303 and "/transfer/receipts/" in posted.location
    receipt = client.get(posted.location)
    body = receipt.get_data(as_text=True)
    assert receipt.status_code == 200 and "<html" in body and "Transfer held (pending)" in body
    assert "Held 10.00 · available 90.00 USD" in body and body.count('<tr id="hold-') == 1


def test_viewers_see_approvals_without_decisions(client, login_as, waiting):
    *_, tx_id = waiting
    login_as("viewer")
    listing = client.get("/approvals").get_data(as_text=True)
    assert f'id="approval-{tx_id}"' in listing and "Approve…" not in listing and "Decision" not in listing
    assert 'href="/approvals"' not in listing  # not in a viewer's navigation


def test_a_withdrawal_above_the_threshold_says_it_will_await_approval(client, login_as, make_wallet, service):
    rates.set_threshold("USD", "50.00", actor=ADMIN)
    a = make_wallet(balance="100.00")
    login_as("support")
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    data = form_data(html, f"/wallets/{a['id']}/withdrawal/confirm") | {"amount": "60.00"}
    review = client.post(f"/wallets/{a['id']}/withdrawal/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "this withdrawal will <strong>await approval</strong>" in review
    receipt = client.post(
        f"/wallets/{a['id']}/withdrawal", data=form_data(review, f"/wallets/{a['id']}/withdrawal"), headers=HX
    ).get_data(as_text=True)
    assert "Withdrawal awaiting approval" in receipt and service.get_wallet(a["id"])["held"] == "60.00"


@pytest.mark.parametrize(
    "role, sees",
    [("viewer", None), ("support", None), ("finance", None), ("approver", 1), ("admin", 1), ("maker", 0)],
)
def test_the_navigation_and_the_dashboard_count_the_requests_one_may_decide(
    client, login_as, make_wallet, service, role, sees
):
    """Issue 25, item 2: approvers and admins see how many requests wait for them, in the
    navigation and on the dashboard; the maker of the only request sees none waiting (they may
    not decide it); the other roles see neither."""
    a, b = make_wallet(balance="500.00"), make_wallet()
    maker = login_as("approver")
    rates.set_threshold("USD", "100.00", actor=Actor(f"user:{maker.id}", maker.email))
    service.transfer(a["id"], b["id"], "200.00", idempotency_key="big", actor=Actor(f"user:{maker.id}", maker.email))
    gone = service.transfer(
        a["id"], b["id"], "300.00", idempotency_key="gone", actor=Actor("user:other", "o@example.com")
    ).transaction
    service.reject(  # a decided request counts no more
        gone["id"],
        idempotency_key="r",
        actor=Actor(f"user:{maker.id}", maker.email),
        reason="no",
    )
    if role != "maker":
        login_as(role)
    page = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    if sees is None:
        assert "Approvals" not in nav and 'id="approvals-waiting"' not in page
    elif sees:
        assert re.search(r'Approvals\s*<span class="count"[^>]*>1<span class="sr"> waiting</span>', nav)
        assert re.search(r'id="approvals-waiting".*?>1 request</a>', page, re.S)
    else:
        assert 'id="nav-approvals">Approvals</a>' in nav and 'class="count"' not in nav
        assert re.search(r'id="approvals-waiting".*?>none</a>', page, re.S)


def test_an_expired_hold_shows_when_it_expired_whenever_it_was_marked(
    client, login_as, make_wallet, service, session, actor
):
    """Issue 25, item 13: an expired hold's row says "expiry" and its expiry time, before and
    after expire-holds marks it (it showed the command's name and the time it ran)."""
    from wallet_app.ledger import operations

    a, b = make_wallet(balance="100.00"), make_wallet()
    hold = service.transfer(a["id"], b["id"], "10.00", idempotency_key="h", actor=actor, pending=True).transaction
    session.execute(
        text("UPDATE transactions SET expires_at = '2026-01-02 03:04:00+00' WHERE id = :id"), {"id": hold["id"]}
    )
    login_as("support")

    def row():
        page = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
        return re.search(rf'<tr id="hold-{hold["id"]}">(.*?)</tr>', page, re.S).group(1)

    before = row()
    assert operations.expire_holds() == 1
    after = row()
    assert "2026-01-02 03:04 UTC" in after and "<td>expiry</td>" in after and "expire-holds" not in after
    assert before.count("2026-01-02 03:04 UTC") >= 1


def test_the_holds_table_names_the_recipient(client, login_as, make_wallet, service, actor):
    """Issue 25, item 4: a hold's recipient is its owner with a quiet id, not "wallet 23"."""
    a, b = make_wallet(balance="100.00"), make_wallet(owner_name="Grace Hopper")
    hold = service.transfer(a["id"], b["id"], "10.00", idempotency_key="h", actor=actor, pending=True).transaction
    login_as("viewer")
    page = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    row = re.search(rf'<tr id="hold-{hold["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert f'Grace Hopper <span class="wid">#{b["id"]}</span>' in row and f"wallet {b['id']}" not in row


def test_a_capture_of_thousands_is_announced_in_the_consoles_format(client, login_as, make_wallet, service):
    """Issue 25, item 6: the message after a capture formats its amount as every page does."""
    a, b = make_wallet(balance="5000.00"), make_wallet()
    maker = login_as("support")
    me = Actor(f"user:{maker.id}", maker.email)
    hold = service.transfer(a["id"], b["id"], "1234.50", idempotency_key="h", actor=me, pending=True).transaction
    page = client.get(f"/transactions/{hold['id']}").get_data(as_text=True)
    review = client.post(
        f"/transactions/{hold['id']}/capture/confirm",
        data=form_data(page, f"/transactions/{hold['id']}/capture/confirm"),
    )
    done = client.post(
        f"/transactions/{hold['id']}/capture",
        data=form_data(review.get_data(as_text=True), f"/transactions/{hold['id']}/capture"),
        follow_redirects=True,
    )
    assert f"Transaction {hold['id']} captured: 1,234.50 USD posted." in done.get_data(as_text=True)
