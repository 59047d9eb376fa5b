"""Each role's day in the console, at 1280 px and 390 px: every page it can open looked at
(screenshots in tests/browser/artifacts/roles-*), checked by axe-core, no sideways scroll on
a phone with amounts and balances in view; and the second pass's features used as people do."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.look import look
from tests.conftest import approved, ledger_api
from wallet_app.services import notes
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


@pytest.fixture
def world(live_app):
    """A ledger with names, big amounts, a reversal and a note; one operator per role."""
    app, base = live_app
    with app.app_context():
        cli, svc = Actor("cli", "cli"), ledger_api()
        for role in ("viewer", "finance", "admin"):
            create_operator(f"{role}@example.com", PASSWORD, role, actor=cli)
        ada = svc.create_wallet(
            "Ada Lovelace", "USD", actor=cli, owner_email="ada@example.com", external_ref="CUST-1001"
        )
        grace = svc.create_wallet("Grace Hopper", "USD", actor=cli, owner_email="grace@example.com")
        euro = svc.create_wallet("Émilie du Châtelet, Marquise du Châtelet-Lomont", "EUR", actor=cli)
        approved(svc.fund(ada["id"], "1250000.00", idempotency_key=str(uuid.uuid4()), actor=cli, reference="Opening"))
        svc.fund(euro["id"], "99.99", idempotency_key=str(uuid.uuid4()), actor=cli)
        tx = approved(
            svc.transfer(
                ada["id"],
                grace["id"],
                "12345.67",
                idempotency_key=str(uuid.uuid4()),
                actor=cli,
                reference="INV-2026-0042",
            )
        )
        svc.reverse(tx["id"], amount="45.67", reason="overcharged", idempotency_key=str(uuid.uuid4()), actor=cli)
        notes.add_note(ada["id"], "KYC documents checked by phone.", actor=cli)
    return base, ada, grace, euro, tx


def common_pages(page, base, role, ada, tx):
    """What every role opens: dashboard, wallets, a wallet, a transaction, search, password."""
    for path, heading, name in [
        ("/", "Dashboard", "dashboard"),
        ("/wallets", "Wallets", "wallets"),
        (f"/transactions/{tx['id']}", f"Transaction {tx['id']}", "transaction"),
        ("/search?q=example.com", "Find", "search"),
        ("/auth/password", "Change your password", "password"),
    ]:
        page.goto(base + path)
        page.get_by_role("heading", name=heading).first.wait_for()
        look(page, f"roles-{role}-{name}")
    page.goto(base + f"/wallets/{ada['id']}")
    page.locator("#balance").wait_for()
    look(page, f"roles-{role}-wallet")


def test_viewer_reads_names_filters_history_and_finds_things(world, browser_page):
    base, ada, grace, euro, tx = world
    page = browser_page
    sign_in(page, base, "viewer@example.com")
    common_pages(page, base, "viewer", ada, tx)
    # Names next to ids, amounts with separators and currency
    history = page.locator("#history-rows")
    expect(history.get_by_role("link", name=f"Grace Hopper #{grace['id']}").first).to_be_visible()
    expect(page.locator("#balance .big")).to_contain_text("1,237,700.00")
    expect(page.locator("#activity")).to_contain_text("Note added")
    expect(page.locator("#notes")).to_contain_text("KYC documents checked by phone.")
    assert page.get_by_role("button", name="Add note").count() == 0  # viewers read notes
    # A From after To is an error beside To, not an empty history
    page.get_by_label("From", exact=True).first.fill("2026-12-31")
    page.locator("#h-until").fill("2026-01-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#h-until-error")).to_contain_text("From is after To")
    look(page, "roles-viewer-filter-refused")
    # Reference text filter
    page.locator("#h-since").fill("")
    page.locator("#h-until").fill("")
    page.locator("#h-reference").fill("INV-2026")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#history-rows tr")).to_have_count(1)
    # The filter is in the URL (issue 25, item 11): a reload or a bookmark keeps it, Back undoes it.
    expect(page).to_have_url(re.compile(r"/history\?.*reference=INV-2026"))
    page.reload()
    expect(page.locator("#h-reference")).to_have_value("INV-2026")
    expect(page.locator("#history-rows tr")).to_have_count(1)
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"reference=INV-2026"))
    # Back restores the page (htmx's history): wait until it has, before typing into it.
    expect(page.locator("#h-reference")).not_to_have_value("INV-2026")
    expect(page.locator("#history-rows tr")).not_to_have_count(1)
    page.wait_for_load_state("networkidle")
    # The header search goes straight to the one match
    page.get_by_label("Find a wallet or transaction").fill("grace@example")
    page.get_by_label("Find a wallet or transaction").press("Enter")
    expect(page.locator("#balance")).to_contain_text("Grace Hopper")
    page.get_by_label("Find a wallet or transaction").fill(
        str(tx["id"]) if tx["id"] not in (ada["id"], grace["id"], euro["id"]) else "INV-2026-0042"
    )
    page.get_by_label("Find a wallet or transaction").press("Enter")
    page.get_by_role("heading", name=f"Transaction {tx['id']}").wait_for()
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_support_picks_a_recipient_by_name_and_notes_it(world, browser_page):
    base, ada, grace, euro, tx = world
    page = browser_page
    sign_in(page, base)
    common_pages(page, base, "support", ada, tx)
    page.goto(base + f"/wallets/{ada['id']}")
    page.locator("#transfer-to").fill("hopper")
    recipient = page.locator("#transfer-recipients").get_by_role("radio")
    expect(recipient).to_have_count(1)
    expect(recipient).to_be_checked()
    expect(page.locator("#transfer-recipients")).to_contain_text("Grace Hopper")
    expect(page.locator("#transfer-recipients")).to_contain_text("USD")
    expect(page.locator("#transfer-recipients")).to_contain_text("active")
    look(page, "roles-support-recipient-picked")
    page.locator("#transfer-amount").fill("1000.00")
    page.get_by_role("button", name="Review transfer").click()
    confirm = page.get_by_role("button", name="Confirm transfer")
    confirm.wait_for()
    expect(page.locator("#transfer-panel .confirm")).to_contain_text("Grace Hopper")
    look(page, "roles-support-transfer-review")
    confirm.click()
    page.get_by_text("Transfer done").wait_for()
    expect(page.locator("#transfer-panel .receipt")).to_contain_text(f"Grace Hopper #{grace['id']}: +1,000.00 USD")
    expect(page.locator("#activity")).to_contain_text("1,000.00 USD")
    look(page, "roles-support-transfer-receipt")
    # A note: added, said so, shown with its author
    page.get_by_label("Add a note").fill("Customer asked for a statement.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#messages")).to_contain_text("Note added.")
    expect(page.locator("#notes")).to_contain_text("sam@example.com")
    look(page, "roles-support-noted")
    # Several matches: the recipient is picked among them
    page.locator("#transfer-to").fill("example.com")
    expect(page.locator("#transfer-recipients").get_by_role("radio")).to_have_count(1)  # the sender is left out
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_finance_reconciles_and_downloads_a_statement(world, browser_page):
    base, ada, grace, euro, tx = world
    page = browser_page
    sign_in(page, base, "finance@example.com")
    common_pages(page, base, "finance", ada, tx)
    page.goto(base + "/finance/reconcile")
    look(page, "roles-finance-reconcile-empty")
    page.get_by_role("button", name="Run reconcile now").click()
    expect(page.locator("#messages")).to_contain_text("every invariant holds")
    expect(page.locator("#latest-run")).to_contain_text("-1,250,000.00")  # the USD world wallet
    page.get_by_role("button", name="Run reconcile now").click()
    expect(page.get_by_role("cell", name="all hold")).to_have_count(2)
    look(page, "roles-finance-reconcile")
    page.goto(base + "/finance/exports")
    look(page, "roles-finance-exports")
    page.goto(base + "/finance/trial-balance")
    expect(page.locator(".currency-totals")).to_contain_text("Sum (must be 0)")
    look(page, "roles-finance-trial-balance")
    page.goto(base + f"/wallets/{ada['id']}")
    page.locator("#statement").get_by_label("From").fill("2000-01-01")
    page.locator("#statement").get_by_role("button", name="Show statement").click()
    expect(page.get_by_role("heading", name="Statement")).to_be_visible()
    expect(page.locator(".statement-figures")).to_contain_text("Closing balance")
    look(page, "roles-finance-statement")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith(f"statement-wallet-{ada['id']}-2000-01-01_to_")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_admin_resets_a_password_and_the_operator_must_change_it(world, browser, browser_page):
    base, ada, grace, euro, tx = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    common_pages(page, base, "admin", ada, tx)
    for path, heading, name in [
        ("/admin/operators", "Operators", "operators"),
        ("/admin/audit", "Audit log", "audit"),
        ("/admin/tokens", "API tokens", "tokens"),
        ("/admin/fees", "Fee schedule", "fees"),
        ("/admin/api-reference", "Wallet API", "api-reference"),
        ("/no-such-page", "404", "not-found"),
    ]:
        page.goto(base + path)
        page.get_by_role("heading", name=heading).first.wait_for()
        look(page, f"roles-admin-{name}")
    page.goto(base + "/admin/audit")
    expect(page.get_by_role("link", name=f"Ada Lovelace #{ada['id']}").first).to_be_visible()  # objects are links
    page.goto(base + f"/wallets/{euro['id']}")
    page.locator("#status-reason").fill("chargeback review")
    page.get_by_role("button", name="Freeze wallet…").click()
    page.get_by_role("button", name="Freeze wallet", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("is frozen")
    look(page, "roles-admin-frozen")
    page.goto(base + "/admin/operators")
    row = page.get_by_role("row", name="sam@example.com")
    row.get_by_text("Change…").click()
    row.get_by_label("Temporary password").fill("temporary secret 99")
    look(page, "roles-admin-reset-open")
    row.get_by_role("button", name="Reset password").click()
    expect(page.locator("#messages")).to_contain_text("password reset")
    # Sam signs in with the temporary password and must choose a new one first
    other = browser.new_page(viewport={"width": 390, "height": 844})
    other.goto(base + "/login")
    other.get_by_label("Email").fill("sam@example.com")
    other.get_by_label("Password").fill("temporary secret 99")
    other.get_by_role("button", name="Sign in").click()
    other.get_by_role("heading", name="Change your password").wait_for()
    expect(other.locator("#messages")).to_contain_text("An admin chose your password")
    look(other, "roles-support-forced-change")
    other.get_by_label("Current password").fill("temporary secret 99")
    other.get_by_label("New password (12+ characters)").fill("sam's own secret 1")
    other.get_by_label("New password again").fill("sam's own secret 1")
    other.get_by_role("button", name="Change password").click()
    other.get_by_role("heading", name="Dashboard").wait_for()
    expect(other.locator("#messages")).to_contain_text("Password changed.")
    other.close()
    assert [e for e in page.console_errors if "status of 4" not in e] == []


def test_signed_out_pages(live_app, browser_page):
    app, base = live_app
    page = browser_page
    page.goto(base + "/login")
    page.get_by_role("heading", name="Sign in").wait_for()
    look(page, "roles-anonymous-sign-in")
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill("wrong password!!")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Email or password is incorrect.").wait_for()
    look(page, "roles-anonymous-sign-in-refused")
