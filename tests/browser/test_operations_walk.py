"""An admin's walk through the operations of the console: a fee, a withdrawal with review and
receipt, a partial reversal from the transaction page, limits, and freeze / unfreeze / close
with a reason and a review step. Shots at 1280 px and 390 px."""

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, Shots, sign_in
from tests.conftest import ledger_api
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


def test_an_admin_withdraws_reverses_sets_limits_and_closes_a_wallet(live_app, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "operations")
    with app.app_context():
        cli, svc = Actor("cli", "cli"), ledger_api()
        create_operator("root@example.com", PASSWORD, "admin", actor=cli)
        wallet = svc.create_wallet("Ada Lovelace", "USD", actor=cli)["id"]
        other = svc.create_wallet("Grace Hopper", "USD", actor=cli)["id"]
        svc.fund(wallet, "100.00", idempotency_key=str(uuid.uuid4()), actor=cli)
    sign_in(page, base, "root@example.com")

    # A withdrawal fee, set on the fee page.
    page.goto(base + "/admin/fees")
    page.get_by_label("Fixed withdrawal fee in USD").fill("1.50")
    page.locator("#fee-USD-withdrawal").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Withdrawal fee in USD saved.")).to_be_visible()
    shot("fees", both=True)

    # Withdraw 20.00: the review shows the fee, the receipt the new balance.
    page.goto(base + f"/wallets/{wallet}")
    page.locator("#withdrawal-amount").fill("20.00")
    page.get_by_role("button", name="Review withdrawal").click()
    expect(page.locator("#withdrawal-panel")).to_contain_text("Fee: 1.50 USD")
    expect(page.locator("#withdrawal-panel")).to_contain_text("78.50")
    shot("withdrawal-review", both=True)
    page.get_by_role("button", name="Confirm withdrawal").click()
    expect(page.locator("#withdrawal-panel")).to_contain_text("Withdrawal done")
    expect(page.locator("#balance")).to_contain_text("78.50")
    shot("withdrawal-receipt")

    # Reverse 5.00 of it from its transaction page, keeping the fee.
    page.locator("#withdrawal-panel").get_by_role("link", name="transaction").click()
    page.get_by_label("Amount (empty: all that is left)").fill("5.00")
    page.get_by_label("Reason").fill("payout partly bounced")
    page.get_by_role("button", name="Review reversal").click()
    expect(page.locator("#reverse-panel")).to_contain_text("83.50")
    shot("reversal-review", both=True)
    page.get_by_role("button", name="Confirm reversal").click()
    expect(page.locator("#reverse-panel")).to_contain_text("Reversed so far: 5.00 USD of 20.00 USD")
    shot("reversal-receipt")

    # Limits: a maximum below the balance is refused next to its field; a valid one is saved.
    page.goto(base + f"/wallets/{wallet}")
    page.get_by_label("Maximum balance").fill("50.00")
    page.get_by_role("button", name="Save limits").click()
    expect(page.locator("#limits-form")).to_contain_text("the maximum cannot be below it")
    shot("limits-refused", both=True)
    page.get_by_label("Maximum balance").fill("500.00")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_text("Limits and alerts saved.")).to_be_visible()

    # Freeze with a reason, after a review that says what it stops; the banner says who and why.
    page.locator("#status-reason").fill("fraud check")
    page.get_by_role("button", name="Freeze wallet…").click()
    expect(page.locator("#status-form")).to_contain_text("No money moves in or out")
    shot("freeze-review", both=True)
    page.get_by_role("button", name="Freeze wallet", exact=True).click()
    expect(page.locator("#status-banner")).to_contain_text("This wallet is frozen")
    expect(page.locator("#status-banner")).to_contain_text("root@example.com")
    expect(page.locator("#status-banner")).to_contain_text("fraud check")
    assert page.locator("#withdrawal-form").count() == 0  # no movement forms on a frozen wallet
    shot("frozen", both=True)

    # Closing needs an empty wallet: refused now, done after emptying it.
    page.locator("#status-reason").fill("customer leaves")
    page.get_by_role("button", name="Close wallet…").click()
    expect(page.locator("#status-form")).to_contain_text("only an empty wallet can be closed")
    page.get_by_role("button", name="Close wallet", exact=True).click()
    expect(page.locator("body")).to_contain_text("only an empty wallet can be closed")
    shot("close-refused")
    with app.app_context():
        svc = ledger_api()
        svc.set_status(wallet, "active", actor=cli, reason="cleared")
        svc.transfer(wallet, other, "83.50", idempotency_key=str(uuid.uuid4()), actor=cli)
    page.goto(base + f"/wallets/{wallet}")
    page.locator("#status-reason").fill("customer leaves")
    page.get_by_role("button", name="Close wallet…").click()
    page.get_by_role("button", name="Close wallet", exact=True).click()
    expect(page.locator("#status-banner")).to_contain_text("This wallet is closed")
    expect(page.locator("#status-form")).to_contain_text("closed for good")
    shot("closed", both=True)
    # Refusals answer 422 by design (Chromium logs each); anything else is a script error.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
