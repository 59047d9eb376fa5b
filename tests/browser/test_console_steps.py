"""The fund and transfer steps in Chromium: cancel, live search, focus and Escape, a refused
hidden key, and the same walk with JavaScript off. Every load and swap is checked for
duplicated ids (browser_page's IdGuard); shots at 1280 px and 390 px."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Shots, sign_in
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


def test_cancel_on_review_returns_the_fresh_form(live_app, browser_page, wallets):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "cancel")
    ada, grace = wallets
    sign_in(page, base)
    page.goto(base + f"/wallets/{ada}")
    page.evaluate("window.__noReload = true")

    page.locator("#fund-amount").fill("25.00")
    page.get_by_role("button", name="Review deposit").click()
    # Focus moves on htmx:load, after htmx has wired the step's Cancel: a click before that
    # would follow the link's plain href (a reload), as a slow machine showed once.
    expect(page.locator("#fund-confirm")).to_be_focused()
    shot("fund-review", both=True)
    page.locator("#fund-panel").get_by_role("link", name="Cancel").click()
    page.locator("#fund-amount").wait_for()
    one_layout(page)
    assert page.locator("#fund-amount").input_value() == ""
    expect(page.locator("#fund-panel .confirm")).to_have_count(0)  # the review swapped out, waited for
    shot("fund-cancelled", both=True)

    page.locator("#transfer-to").fill(str(grace))
    page.locator("#transfer-amount").fill("10.00")
    page.get_by_role("button", name="Review transfer").click()
    expect(page.locator("#transfer-confirm")).to_be_focused()
    page.locator("#transfer-panel").get_by_role("link", name="Cancel").click()
    page.locator("#transfer-to").wait_for()
    one_layout(page)
    assert page.locator("#transfer-to").input_value() == ""
    assert page.evaluate("window.__noReload") is True  # cancelled in place
    shot("transfer-cancelled", both=True)
    assert page.console_errors == []


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
    assert page.url.endswith(f"/wallets/{ada}/fund")
    one_layout(page)
    assert "140.00" in page.locator("#balance").inner_text()
    assert "40.00" in page.locator("#history-rows").inner_text()
    shot("receipt", both=True)

    # Cancel without JavaScript: back to the wallet page and its fresh form.
    page.locator("#fund-amount").fill("1.00")
    page.get_by_role("button", name="Review deposit").click()
    page.locator("#fund-panel").get_by_role("link", name="Cancel").click()
    page.locator("#fund-amount").wait_for()
    assert page.url.endswith(f"/wallets/{ada}") and page.locator("#fund-amount").input_value() == ""

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
