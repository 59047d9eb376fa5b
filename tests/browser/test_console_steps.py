"""The fund and transfer steps in Chromium: cancel, live search, focus and Escape, a refused
hidden key, and the same walk with JavaScript off. Every load and swap is checked for
duplicated ids (browser_page's IdGuard); shots at 1280 px and 390 px."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Shots, sign_in
from tests.browser.look import look
from tests.conftest import ledger_api
from wallet_app.services.audit import Actor


@pytest.fixture
def wallets(live_app):
    """Two USD wallets: Ada with 100.00, Grace with nothing."""
    app, _ = live_app
    with app.app_context():
        svc, cli = ledger_api(), Actor("cli", "cli")
        ada = svc.create_wallet("Ada Lovelace", "USD", actor=cli, owner_email="ada@example.com")
        grace = svc.create_wallet("Grace Hopper", "USD", actor=cli, owner_email="grace@example.com")
        svc.fund(ada["id"], "100.00", idempotency_key=str(uuid.uuid4()), actor=cli)
    return ada["id"], grace["id"]


def one_layout(page):
    """The page holds one header, one nav and one balance card: no page inside a panel."""
    assert page.locator("header.top").count() == 1
    assert page.locator("nav").count() == 1
    assert page.locator("#balance").count() == 1


def test_cancel_and_escape_on_a_review_keep_what_was_typed(live_app, browser_page, wallets):
    """Issue 25, items 8 and 11: Cancel or Escape on a review threw away what was typed; a
    name matching several wallets refused the review and the list disappeared."""
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "cancel")
    ada, grace = wallets
    with app.app_context():
        ledger_api().create_wallet("Grace Brewster", "USD", actor=Actor("cli", "cli"))
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")
    page.evaluate("window.__noReload = true")

    page.locator("#fund-amount").fill("1,234.50")
    page.locator("#fund-reference").fill("cheque 7")
    page.get_by_role("button", name="Review deposit").click()
    # Focus moves on htmx:load, after htmx has wired the step's Cancel: a click before that
    # would post without htmx (a whole page), as a slow machine showed once.
    expect(page.locator("#fund-confirm")).to_be_focused()
    expect(page.locator("#fund-panel .amount-line")).to_have_text("1,234.50 USD")
    shot("fund-review", both=True)
    page.locator("#fund-panel").get_by_role("button", name="Cancel").click()
    expect(page.locator("#fund-panel .confirm")).to_have_count(0)
    one_layout(page)
    assert page.locator("#fund-amount").input_value() == "1,234.50"  # as typed
    assert page.locator("#fund-reference").input_value() == "cheque 7"
    shot("fund-cancelled", both=True)

    # A name that matches two wallets: the review is refused, the candidates stay to pick.
    page.locator("#transfer-to").fill("Grace")
    expect(page.locator("#transfer-recipients input[type=radio]")).to_have_count(2)
    page.locator("#transfer-amount").fill("10.00")
    page.get_by_role("button", name="Review transfer").click()
    expect(page.locator("#transfer-to-error")).to_contain_text("Several wallets match: pick one from the list.")
    expect(page.locator("#transfer-recipients input[type=radio]")).to_have_count(2)
    shot("transfer-several", both=True)
    page.locator("#transfer-recipients").get_by_text("Grace Hopper").click()
    page.get_by_role("button", name="Review transfer").click()
    expect(page.locator("#transfer-confirm")).to_be_focused()
    page.keyboard.press("Escape")  # Escape is Cancel
    expect(page.locator("#transfer-panel .confirm")).to_have_count(0)
    assert page.locator("#transfer-to").input_value() == "Grace"
    assert page.locator("#transfer-amount").input_value() == "10.00"
    picked = page.locator("#transfer-recipients input[type=radio]:checked")
    expect(picked).to_have_value(str(grace))
    expect(page.locator("#transfer-recipients label:has(input:checked)")).to_contain_text("Grace Hopper")
    assert page.evaluate("window.__noReload") is True  # cancelled in place
    shot("transfer-cancelled", both=True)
    look(page, "cancel-kept")
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # the refusal's


def test_live_search_replaces_the_results_box(live_app, browser_page, wallets):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "search")
    sign_in(page, base)
    page.goto(base + "/wallets")
    page.get_by_label("Search").fill("grace")
    page.locator("#wallet-rows").get_by_text("Grace Hopper").wait_for()
    expect(page.locator("#wallet-rows")).not_to_contain_text("Ada")
    assert page.locator("#results").count() == 1
    assert page.locator("#results #results, .card .card").count() == 0
    page.get_by_label("Search").fill("ada")
    page.locator("#wallet-rows").get_by_text("Ada Lovelace").wait_for()
    assert page.locator("#results").count() == 1
    # The create form's "Currency" label names the create form's select, not the filter's.
    page.get_by_label("Owner name").fill("Label Check")
    page.locator("#create-wallet").get_by_label("Currency").select_option("EUR")
    assert page.locator("#create-wallet select").input_value() == "EUR"
    assert page.get_by_label("Currency", exact=True).count() == 2  # two labelled selects, one each
    shot("results", both=True)
    assert page.console_errors == []


def test_focus_moves_into_each_step_and_escape_cancels(live_app, browser_page, wallets):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "focus")
    ada, grace = wallets
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")

    page.locator("#transfer-to").fill(str(grace))
    page.locator("#transfer-amount").fill("10.00")
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_role("button", name="Confirm transfer").wait_for()
    expect(page.locator("#transfer-confirm")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#transfer-panel [data-cancel]') !== null")
    shot("review-focused", both=True)

    page.keyboard.press("Escape")
    page.locator("#transfer-to").wait_for()
    expect(page.locator("#transfer-to")).to_be_focused()
    expect(page.locator("#transfer-panel .confirm")).to_have_count(0)
    shot("escaped", both=True)

    # Review again, confirm with the keyboard alone; the receipt's first control takes focus.
    page.locator("#transfer-to").fill(str(grace))
    page.locator("#transfer-amount").fill("10.00")
    page.keyboard.press("Enter")
    expect(page.locator("#transfer-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_text("Transfer done").wait_for()
    expect(page.locator("#transfer-panel .receipt :focus")).to_have_count(1)
    assert "90.00" in page.locator("#balance").inner_text()

    # A refusal puts focus on the field at fault.
    page.locator("#transfer-amount").fill("abc")
    page.locator("#transfer-to").fill(str(grace))
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_text("Amount must be a number").wait_for()
    expect(page.locator("#transfer-amount")).to_be_focused()
    shot("refused-focused", both=True)
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_a_refused_hidden_key_is_shown_and_the_next_submit_works(live_app, browser_page, wallets):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "hidden-key")
    ada, grace = wallets
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")
    page.locator("#fund-key").evaluate("el => el.value = ''")  # a form that lost its key
    page.locator("#fund-amount").fill("5.00")
    page.get_by_role("button", name="Review deposit").click()
    alert = page.locator("#fund-panel [role=alert]").first
    alert.wait_for()
    assert "idempotency key" in alert.inner_text().lower() and alert.is_visible()
    shot("refused", both=True)
    assert page.locator("#fund-key").input_value() != ""
    page.get_by_role("button", name="Review deposit").click()
    page.get_by_role("button", name="Confirm deposit").click()
    page.get_by_text("Deposit done").wait_for()
    assert "105.00" in page.locator("#balance").inner_text()
    shot("accepted")
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_fund_without_javascript_walks_whole_pages(live_app, nojs_page, wallets):
    app, base = live_app
    page, shot = nojs_page, Shots(nojs_page, "nojs")
    ada, grace = wallets
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")
    page.locator("#fund-amount").fill("40.00")
    page.get_by_role("button", name="Review deposit").click()
    page.get_by_role("button", name="Confirm deposit").wait_for()
    assert page.url.endswith(f"/wallets/{ada}/fund/confirm")
    one_layout(page)
    assert page.locator("#fund-panel .confirm").count() == 1
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.locator("#fund-panel .confirm").evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    shot("review", both=True)
    page.get_by_role("button", name="Confirm deposit").click()
    page.get_by_text("Deposit done").wait_for()
    # Issue 25, item 10: post, redirect, get. The receipt has its own address; a reload reads it.
    assert "/fund/receipts/" in page.url
    receipt_url = page.url
    one_layout(page)
    assert "140.00" in page.locator("#balance").inner_text()
    assert "40.00" in page.locator("#history-rows").inner_text()
    shot("receipt", both=True)
    page.reload()
    page.get_by_text("Deposit done").wait_for()
    assert "140.00" in page.locator("#balance").inner_text()  # nothing posted again
    # Back from the receipt: the review again (not "Confirm Form Resubmission" or
    # ERR_CACHE_MISS); confirming it once more answers the first result, money moves once.
    page.go_back()
    page.get_by_role("button", name="Confirm deposit").wait_for()
    shot("back-to-review", both=True)
    page.get_by_role("button", name="Confirm deposit").click()
    page.get_by_text("already done: this is the first result").wait_for()
    assert page.url.startswith(receipt_url) and "140.00" in page.locator("#balance").inner_text()

    # Cancel without JavaScript: the wallet page with the form as typed.
    page.locator("#fund-amount").fill("1.00")
    page.get_by_role("button", name="Review deposit").click()
    page.locator("#fund-panel").get_by_role("button", name="Cancel").click()
    page.locator("#fund-amount").wait_for()
    assert page.locator("#fund-amount").input_value() == "1.00"
    assert page.locator("#fund-panel .confirm").count() == 0

    # A refusal is a whole page too, the message next to its field.
    page.locator("#transfer-to").fill(str(grace))
    page.locator("#transfer-amount").fill("1000.00")
    page.get_by_role("button", name="Review transfer").click()
    page.get_by_text("Insufficient funds: 140.00 USD available.").wait_for()
    one_layout(page)
    shot("refused", both=True)


def test_the_first_tab_stop_skips_to_the_page_and_search_finds_a_hash_label(live_app, browser_page, wallets):
    """Issue 25, item 11: Tab first reaches "Skip to the page", which lands in the page, past
    the header's links; the header search finds "#N", the console's own label of a transaction."""
    app, base = live_app
    page = browser_page
    ada, _ = wallets
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the page")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    page.locator("#find-q").fill("#1")
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Transaction 1")  # the one match: straight there


def test_load_more_keeps_the_keyboard_where_reading_goes_on(live_app, browser_page):
    """Issue 25, item 11: "Load more" dropped the focus to <body>; now the first new row's
    link has it, and Tab goes on from there."""
    app, base = live_app
    page = browser_page
    with app.app_context():
        svc, cli = ledger_api(), Actor("cli", "cli")
        for n in range(52):
            svc.create_wallet(f"Customer {n:02d}", "USD", actor=cli)
    sign_in(page, base)
    page.goto(base + "/wallets")
    more = page.locator("#more-wallets button")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#more-wallets")).to_have_count(0)
    # Newest first: the 51st row is the second wallet made. (Focused when htmx settles.)
    expect(page.get_by_role("link", name="Customer 01", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Customer 00", exact=True)).to_be_focused()
    look(page, "load-more-focus")
