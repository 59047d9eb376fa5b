"""An operator's day in headless Chromium: sign in, find, create, fund, transfer, fail, sign out."""

import uuid

from sqlalchemy import func, select

from tests.browser.conftest import PASSWORD, Shots
from tests.conftest import ledger_api
from wallet_app.extensions import db
from wallet_app.models import Transaction
from wallet_app.services.audit import Actor


def test_operator_walkthrough(live_app, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "walkthrough")
    with app.app_context():
        svc, cli = ledger_api(), Actor("cli", "cli")
        other = svc.create_wallet("Grace Hopper", "USD", actor=cli, owner_email="grace@example.com")
        svc.fund(other["id"], "20.00", idempotency_key=str(uuid.uuid4()), actor=cli)

    # Sign in
    page.goto(base + "/")
    assert "/auth/login" in page.url
    shot("sign-in")
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    shot("dashboard")

    # Search a wallet as you type
    page.get_by_role("link", name="Wallets").click()
    page.get_by_label("Search").fill("grace")
    page.locator("#wallet-rows").get_by_text("Grace Hopper").first.wait_for()
    shot("search")

    # Create a wallet, land on its page
    page.get_by_label("Owner name").fill("Walk Through")
    page.get_by_label("Owner email").fill("walk@example.com")
    page.get_by_role("button", name="Create wallet").click()
    page.locator("#balance .big").get_by_text("0.00").wait_for()
    wallet_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.evaluate("window.__noReload = true")
    shot("created")

    # Fund it: review, confirm, receipt, balance and history updated in place
    page.locator("#fund-amount").fill("250.00")
    page.get_by_role("button", name="Review deposit").click()
    page.get_by_role("button", name="Confirm deposit").wait_for()
    shot("fund-confirm")
    page.get_by_role("button", name="Confirm deposit").click()
    page.get_by_text("Deposit done").wait_for()
    assert "250.00" in page.locator("#balance").inner_text()
    assert "250.00" in page.locator("#history-rows").inner_text()
    shot("funded")

    # Transfer to the other wallet
    page.locator("#transfer-to").fill(str(other["id"]))
    page.locator("#transfer-amount").fill("100.00")
    page.get_by_role("button", name="Review transfer").click()
    confirm = page.get_by_role("button", name="Confirm transfer")
    confirm.wait_for()
    assert "Grace Hopper" in page.locator(".confirm").inner_text()
    shot("transfer-confirm")
    confirm.click()
    page.get_by_text("Transfer done").wait_for()
    assert "150.00" in page.locator("#balance").inner_text()
    assert "-100.00" in page.locator("#history-rows").inner_text()
    assert page.evaluate("window.__noReload") is True  # no full reload so far
    shot("transferred")

    # The other wallet's history, reached through a boosted link (still no full reload)
    page.locator("#history-rows").get_by_role("link", name=f"Grace Hopper #{other['id']}").first.click()
    page.locator("#balance .big").get_by_text("120.00").wait_for()
    assert "100.00" in page.locator("#history-rows").inner_text()
    assert page.evaluate("window.__noReload") is True
    shot("other-history")
    page.go_back()
    page.locator("#balance .big").get_by_text("150.00").wait_for()

    # An overdraft is refused inline, next to the amount
    page.locator("#transfer-to").fill(str(other["id"]))
    page.locator("#transfer-amount").fill("10000.00")
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_text("Insufficient funds: 150.00 USD available.").wait_for()
    shot("overdraft")

    # A double click on confirm moves the money once
    page.locator("#transfer-amount").fill("5.00")
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_role("button", name="Confirm transfer").dblclick()
    page.get_by_text("Transfer done").first.wait_for()
    page.wait_for_timeout(500)
    shot("double-click")
    with app.app_context():
        fives = db.session.scalar(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.source_wallet_id == wallet_id, Transaction.amount == 5)
        )
        assert fives == 1
        assert ledger_api().get_wallet(wallet_id)["balance"] == "145.00"

    # Sign out
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    shot("signed-out")
    # Chromium logs every non-2xx request; the overdraft's 422 is the expected one. Nothing
    # else (no CSP violation, no script error) may appear.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
