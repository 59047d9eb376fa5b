"""Issue 25 in Chromium, at 1280 px and 390 px (tests/browser/artifacts/reads-*), each page
checked by axe-core: a ledger in every state reads as money and people. Transactions in
every state name their wallets and say what happened; the wallet page's holds, history and
activity; the audit log and approvals as sentences; short titles; exports by name; amounts
typed as people write them; operators and wallets (item 12) and the smaller things (item 13)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.look import look
from tests.conftest import console_world, ledger_api
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator

BARE_WALLET = re.compile(r"\b[Ww]allet #?\d+\b")
CODE = re.compile(r"\b(signin|operator|wallet|transaction|transfer|fund|withdrawal|fee|rate|threshold)\.[a-z_]+\b")
RAW_AMOUNT = re.compile(r"(?<![\d,.])\d{4,}\.\d+|\d\.\d{3,}")  # 1234.50, 900.0000 (the only rate is 0.9)


@pytest.fixture
def world(live_app):
    """console_world() on the served app, and an admin (admin@example.com) to read it all."""
    app, base = live_app
    with app.app_context():
        cli = Actor("cli", "cli")
        create_operator("admin@example.com", PASSWORD, "admin", actor=cli)
        world = console_world(ledger_api(), cli)
    return base, world


def main_text(page) -> str:
    return page.locator("main").inner_text()


def reads_well(page, name: str) -> str:
    """The page's main text, with no bare wallet id and no amount that skipped the formatter;
    looked at in both widths."""
    text = main_text(page)
    assert BARE_WALLET.findall(text) == [], (page.url, BARE_WALLET.findall(text))
    assert RAW_AMOUNT.findall(text) == [], (page.url, RAW_AMOUNT.findall(text))
    look(page, f"reads-{name}")
    return text


@pytest.mark.parametrize(
    "name, says",
    [
        ("held", ["Bob Payee", "pending", "1,500.00 USD"]),
        ("voided", ["Bob Payee", "voided", "1,100.00 USD"]),
        ("expired", ["Bob Payee", "expired", "1,300.00 USD"]),
        ("waiting", ["Bob Payee", "awaiting approval", "12,000.00 USD"]),
        ("rejected", ["Bob Payee", "rejected", "13,000.00 USD"]),
        ("done", ["Bob Payee", "partly reversed", "2,500.00 USD"]),
        ("exchange", ["Eve Euro", "+900.00 EUR", "-1,000.00 USD"]),
    ],
)
def test_a_transaction_in_each_state_names_its_wallets_and_says_what_happened(world, browser_page, name, says):
    """Items 4 to 7: "Wallet #21" and "Open Wallet #21" on transactions without legs; "posted"
    for a reversed transfer; "Support and admin operators can reverse it" on a rejected one;
    an exchange's EUR legs under "Amount (USD)"."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + f"/transactions/{w[name]['id']}")
    text = reads_well(page, f"tx-{name}")
    for words in says:
        assert words in text, (name, words)
    assert "Maria Magdalena" in text and "can reverse it" not in text
    if name == "exchange":
        legs = page.locator("table.legs")
        expect(legs.locator("thead")).not_to_contain_text("(USD)")
        expect(legs).to_contain_text("+900.00 EUR")
    if name in ("held", "waiting"):
        expect(page.get_by_role("link", name=re.compile(r"^Bob Payee #\d+$")).first).to_be_visible()


def test_the_wallet_page_reads_holds_history_and_activity_in_words(world, browser_page):
    """Items 4, 5, 6 and 13: the holds table says "To: Bob Payee" (was "To: wallet 23") with
    formatted amounts; an expired hold says so with its time; the history shows a reversal's
    reason; the activity mixes no codes with words."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + f"/wallets/{w['big']['id']}")
    text = reads_well(page, "wallet")
    holds = page.locator("#holds").inner_text()
    assert "Bob Payee" in holds and "1,501.75" in holds and "1,301.75" in holds and "expir" in holds
    assert "“sent too much”" in page.locator("#history").inner_text()
    activity = page.locator("#activity").inner_text()
    assert not CODE.search(activity), activity  # never "transfer.awaiting_approval"
    assert "Held by customers" not in text


def test_the_audit_log_approvals_and_fees_read_as_sentences(world, browser_page):
    """Items 2, 3, 5 and 6: the audit log's actions in words and details as sentences (never
    JSON, never "signin.failed"); the approvals page with its count and formatted amounts,
    column labels kept on a phone; the Fees page's title short."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + "/admin/audit")
    text = reads_well(page, "audit")
    assert "{" not in text and not CODE.search(text)
    assert "from Maria Magdalena" in text and "Bob Payee #" in text and "at 0.9, 900.00 EUR received" in text
    page.goto(base + "/approvals")
    expect(page.locator("#nav-approvals .count")).to_have_text("1 waiting")
    text = reads_well(page, "approvals")
    assert "12,000.00 USD" in text
    page.set_viewport_size({"width": 390, "height": 844})
    labels = page.locator(f"#approval-{w['waiting']['id']} td[data-label]")
    assert labels.count() >= 3
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/admin/fees")
    assert page.title() == "Fees and approval thresholds · Wallet console"
    reads_well(page, "fees")


def test_exports_take_a_wallet_by_name_and_errors_name_no_fields(world, browser_page):
    """Item 4: Exports took a wallet id only; error pages printed "wallet_id: ..."."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + "/finance/exports")
    page.get_by_label("Wallet: name, email, reference or id (empty: all)").fill("e")  # Bob Payee, Eve Euro, Maria…
    page.get_by_role("button", name="Download history").click()
    expect(page.locator("main")).to_contain_text("Several wallets match: pick one from the list.")
    look(page, "reads-exports-several")
    with page.expect_download() as download:
        page.get_by_label(re.compile("Bob Payee")).check()
        page.get_by_role("button", name="Download history").click()
    assert download.value.suggested_filename.startswith(f"history-wallet-{w['bob']['id']}-")
    page.goto(base + "/wallets/999999")
    assert "Wallet 999999 does not exist." in main_text(page) and "wallet_id" not in main_text(page)
    look(page, "reads-missing-wallet")


@pytest.mark.parametrize(
    "typed, reviewed",
    [("1,234.56", "1,234.56 USD"), (" 12.5 ", "12.50 USD"), ("12.", "12.00 USD"), (".5", "0.50 USD")],
)
def test_amounts_are_read_as_people_type_them(world, browser_page, typed, reviewed):
    """Item 9: the console's own format, spaces around, "12." and ".5" were refused."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + f"/wallets/{w['bob']['id']}")
    page.locator("#fund-amount").fill(typed)
    page.get_by_role("button", name="Review deposit").click()
    expect(page.locator("#fund-panel .amount-line")).to_have_text(reviewed)
    if typed == "1,234.56":
        look(page, "reads-amount-typed")


def test_a_negative_amount_says_more_than_zero(world, browser_page):
    """Item 9: "-5" said "must be a number"."""
    base, w = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + f"/wallets/{w['bob']['id']}")
    page.locator("#fund-amount").fill("-5")
    page.get_by_role("button", name="Review deposit").click()
    expect(page.locator("#fund-amount-error")).to_have_text("Amount must be more than zero.")
    look(page, "reads-amount-negative")


def test_operators_choose_their_password_a_reference_is_one_wallet_and_a_role_change_says_why(
    world, browser, browser_page
):
    """Items 12 and 13: an operator an admin created was never made to change the password; a
    second wallet for one reference and currency was created silently; a role change signed
    the person out with only "Please sign in to continue"."""
    base, _ = world
    page = browser_page
    sign_in(page, base, "admin@example.com")
    page.goto(base + "/admin/operators")
    page.locator("#op-email").fill("newcomer@example.com")
    page.locator("#op-password").fill(PASSWORD)
    page.locator("#op-role").select_option("support")
    page.get_by_role("button", name="Add operator").click()
    expect(page.locator("main")).to_contain_text("newcomer@example.com")

    newcomer = browser.new_context(viewport={"width": 1280, "height": 900})
    other = newcomer.new_page()
    other.goto(base + "/auth/login")
    other.get_by_label("Email").fill("newcomer@example.com")
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    expect(other.locator("body")).to_contain_text("An admin chose your password: choose your own to continue.")
    look(other, "reads-first-password")

    # Sam (support, signed in elsewhere) becomes a viewer: his next page says why he left.
    sam = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(sam, base)
    page.goto(base + "/admin/operators")
    row = page.locator("tr", has_text="sam@example.com")
    row.locator("summary").click()
    row.get_by_label("Role").select_option("viewer")
    row.get_by_role("button", name="Set role").click()
    expect(page.locator("body")).to_contain_text("sam@example.com: viewer")
    sam.goto(base + "/wallets")
    expect(sam.locator("body")).to_contain_text("You were signed out because your access changed")
    look(sam, "reads-signed-out-why")
    newcomer.close()
    sam.context.close()

    # The same external reference and currency twice: refused, naming the wallet that has it.
    page.goto(base + "/wallets")
    for _ in range(2):
        page.locator("#create-owner-name").fill("Ref Owner")
        page.locator("#create-external-ref").fill("CUST-9")
        page.locator("#create-currency").select_option("USD")
        page.get_by_role("button", name="Create wallet").click()
        if _ == 0:
            page.get_by_role("heading", name="Ref Owner").first.wait_for()
            page.goto(base + "/wallets")
    expect(page.locator("#create-external-ref-error")).to_contain_text("already has the reference CUST-9 in USD")
    look(page, "reads-same-reference")
