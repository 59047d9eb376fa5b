"""Holds, four-eyes approval and an exchange, as operators do them in the console: a hold
placed from the transfer panel, captured in part after a review, another voided; a transfer
above the threshold approved by a second operator and one rejected with a reason; finance
sets a rate and a USD -> EUR transfer reviews its rate, both amounts and fee. Shots at 1280
and 390 px."""

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PASSWORD, Shots, _watched, sign_in
from tests.browser.look import look
from tests.conftest import ledger_api
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator

CLI = Actor("cli", "cli")


def k():
    return str(uuid.uuid4())


def test_a_hold_is_placed_captured_in_part_and_another_voided(live_app, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "holds")
    with app.app_context():
        svc = ledger_api()
        alice = svc.create_wallet("Alice Martin", "USD", actor=CLI)["id"]
        bob = svc.create_wallet("Bob Stone", "USD", actor=CLI)["id"]
        svc.fund(alice, "100.00", idempotency_key=k(), actor=CLI)
    sign_in(page, base)
    page.goto(base + f"/wallets/{alice}")
    page.locator("#transfer-to").fill(str(bob))
    page.locator("#transfer-amount").fill("60.00")
    page.get_by_label("Hold only (pending)").check()
    page.get_by_label("Hold expires after").select_option(label="1 day")
    page.get_by_role("button", name="Review transfer").click()
    expect(page.locator("#transfer-panel")).to_contain_text("Hold only: nothing moves now")
    expect(page.locator("#transfer-panel")).to_contain_text("1 day")
    shot("hold-review", both=True)
    page.get_by_role("button", name="Confirm transfer").click()
    expect(page.locator("#transfer-panel")).to_contain_text("Transfer held (pending)")
    expect(page.locator("#balance")).to_contain_text("Held 60.00 · available 40.00 USD")
    hold_row = page.locator("#holds-open-rows tr").first
    expect(hold_row).to_contain_text("pending")
    shot("hold-placed", both=True)

    # Capture 25.00 of it, after a review on its transaction page; the rest is released.
    hold_row.get_by_role("textbox").fill("25.00")
    hold_row.get_by_role("button", name="Capture…").click()
    expect(page.locator("#hold-panel")).to_contain_text("Confirm capture")
    expect(page.locator("#hold-panel")).to_contain_text("Posts 25.00 USD of the 60.00 USD held")
    shot("capture-review", both=True)
    page.get_by_role("button", name="Confirm capture").click()
    expect(page.locator("#messages")).to_contain_text("captured: 25.00 USD posted")
    expect(page.locator("#balance")).to_contain_text("75.00")
    expect(page.locator("#balance")).to_contain_text("Held 0.00 · available 75.00 USD")
    expect(page.locator("#history")).to_contain_text("from a hold")
    expect(page.locator("#holds")).to_contain_text("25.00 USD captured")
    shot("captured", both=True)

    # Another hold of Sam's (a hold is its maker's to void), voided from the list: nothing
    # moves, its reservation goes.
    with app.app_context():
        from sqlalchemy import select

        from wallet_app.extensions import db
        from wallet_app.models import User

        sam = db.session.scalar(select(User).where(User.email == "sam@example.com"))
        held = (
            ledger_api()
            .transfer(alice, bob, "30.00", idempotency_key=k(), actor=Actor(f"user:{sam.id}", sam.email), pending=True)
            .transaction
        )
    page.reload()
    expect(page.locator("#balance")).to_contain_text("available 45.00")
    page.locator(f"#hold-{held['id']}").get_by_role("button", name="Void").click()
    expect(page.locator("#messages")).to_contain_text(f"Transaction {held['id']} voided")
    expect(page.locator("#balance")).to_contain_text("Held 0.00 · available 75.00 USD")
    expect(page.locator(f"#hold-{held['id']}")).to_contain_text("voided")
    shot("voided", both=True)
    page.locator(f"#hold-{held['id']}").get_by_role("link", name=str(held["id"])).click()
    expect(page.locator("dl")).to_contain_text("Voided")
    expect(page.locator("dl")).to_contain_text("sam@example.com")
    shot("voided-transaction")
    assert page.console_errors == []


def test_a_second_operator_approves_one_transfer_and_rejects_another(live_app, browser, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "approvals")
    with app.app_context():
        svc = ledger_api()
        create_operator("root@example.com", PASSWORD, "admin", actor=CLI)
        create_operator("ann@example.com", PASSWORD, "approver", actor=CLI)
        alice = svc.create_wallet("Alice Martin", "USD", actor=CLI)["id"]
        bob = svc.create_wallet("Bob Stone", "USD", actor=CLI)["id"]
        svc.fund(alice, "200.00", idempotency_key=k(), actor=CLI)

    # The admin sets the USD threshold on the fees page.
    sign_in(page, base, "root@example.com")
    page.goto(base + "/admin/fees")
    page.get_by_label("Approval threshold in USD").fill("50.00")
    page.locator("#threshold-USD").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Approval threshold in USD saved: 50.00.")).to_be_visible()
    shot("threshold", both=True)

    # Sam (support) transfers 80.00 and 70.00: each waits for a second operator.
    maker = _watched(browser.new_page(viewport=DESKTOP))
    sign_in(maker, base)
    made = []
    for amount in ("80.00", "70.00"):
        maker.goto(base + f"/wallets/{alice}")
        maker.locator("#transfer-to").fill(str(bob))
        maker.locator("#transfer-amount").fill(amount)
        maker.get_by_role("button", name="Review transfer").click()
        expect(maker.locator("#transfer-panel")).to_contain_text("await approval")
        if amount == "80.00":
            Shots(maker, "approvals-maker")("review", both=True)
        maker.get_by_role("button", name="Confirm transfer").click()
        expect(maker.locator("#transfer-panel")).to_contain_text("Transfer awaiting approval")
        made.append(maker.locator("#transfer-panel .receipt a").first.inner_text().split()[-1])
    expect(maker.locator("#balance")).to_contain_text("Held 150.00 · available 50.00 USD")
    Shots(maker, "approvals-maker")("receipt", both=True)

    # Ann (approver) approves the first after its review, and rejects the second with a reason.
    checker = _watched(browser.new_page(viewport=DESKTOP))
    sign_in(checker, base, "ann@example.com")
    checker.goto(base + "/")
    expect(checker.locator("#nav-approvals .count")).to_have_text("2 waiting")
    expect(checker.locator("#approvals-waiting")).to_contain_text("2 requests")
    look(checker, "approvals-waiting")
    checker.locator("#nav-approvals").click()
    rows = checker.locator("#approval-rows")
    expect(rows).to_contain_text("Alice Martin")
    expect(rows).to_contain_text("Bob Stone")
    expect(rows).to_contain_text("sam@example.com")
    Shots(checker, "approvals-list")("list", both=True)
    checker.locator(f"#approval-{made[0]}").get_by_role("button", name="Approve…").click()
    expect(checker.locator("#hold-panel")).to_contain_text("Confirm approval")
    expect(checker.locator("#hold-panel").get_by_role("link", name=f"Alice Martin #{alice}")).to_be_visible()
    Shots(checker, "approvals-review")("review", both=True)
    checker.get_by_role("button", name="Confirm approval").click()
    expect(checker.locator("#messages")).to_contain_text(f"Transaction {made[0]} approved: 80.00 USD posted")
    second = checker.locator(f"#approval-{made[1]}")
    second.get_by_role("button", name="Reject").click()
    expect(checker.locator("#hold-panel")).to_contain_text("Reason")  # refused: a reason is required
    expect(checker.locator("#reject-reason-error")).to_be_visible()
    Shots(checker, "approvals-reject")("reason-required", both=True)
    checker.locator("#reject-reason").fill("not verified")
    checker.get_by_role("button", name="Reject").click()
    expect(checker.locator("#messages")).to_contain_text(f"Transaction {made[1]} rejected")
    expect(checker.locator("#approvals")).to_contain_text("Nothing waits for approval.")
    Shots(checker, "approvals-done")("empty", both=True)

    # The maker sees each outcome on its transaction page.
    maker.goto(base + f"/transactions/{made[0]}")
    expect(maker.locator("dl")).to_contain_text("posted")
    expect(maker.locator("dl")).to_contain_text("ann@example.com")
    maker.goto(base + f"/transactions/{made[1]}")
    expect(maker.locator("dl")).to_contain_text("rejected")
    expect(maker.locator("dl")).to_contain_text("not verified")
    Shots(maker, "approvals-outcome")("rejected", both=True)
    maker.goto(base + f"/wallets/{alice}")
    expect(maker.locator("#balance")).to_contain_text("Held 0.00 · available 120.00 USD")
    for p in (page, maker, checker):
        p.ids.check()
        assert [e for e in p.console_errors if "status of 422" not in e] == []
    maker.close()
    checker.close()


def test_finance_sets_a_rate_and_a_usd_to_eur_transfer_shows_rate_amounts_and_fee(live_app, browser, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "fx")
    with app.app_context():
        svc = ledger_api()
        create_operator("fin@example.com", PASSWORD, "finance", actor=CLI)
        usd = svc.create_wallet("Alice Martin", "USD", actor=CLI)["id"]
        eur = svc.create_wallet("Eve Dupont", "EUR", actor=CLI)["id"]
        svc.fund(usd, "100.00", idempotency_key=k(), actor=CLI)
    sign_in(page, base, "fin@example.com")
    page.get_by_role("link", name="Rates").click()
    page.get_by_label("From (base)").select_option("USD")
    page.get_by_label("To (quote)").select_option("EUR")
    page.get_by_label("Rate (units of the quote per 1 base)").fill("0.9")
    page.get_by_label("Spread (basis points, charged in the base currency)").fill("50")
    page.get_by_role("button", name="Save rate").click()
    expect(page.locator("#messages")).to_contain_text("Rate USD → EUR saved: 0.9, spread 50 bps, tolerance 0 bps.")
    expect(page.locator("table.rates")).to_contain_text("fin@example.com")
    shot("rates", both=True)

    sam = _watched(browser.new_page(viewport=DESKTOP))
    sign_in(sam, base)
    sam.goto(base + f"/wallets/{usd}")
    sam.locator("#transfer-to").fill(str(eur))
    sam.locator("#transfer-amount").fill("10.00")
    sam.get_by_role("button", name="Review transfer").click()
    panel = sam.locator("#transfer-panel")
    expect(panel).to_contain_text("at 0.9 EUR per 1 USD")
    expect(panel).to_contain_text("9.00 EUR")
    expect(panel).to_contain_text("0.05 USD")
    Shots(sam, "fx-transfer")("review", both=True)
    sam.get_by_role("button", name="Confirm transfer").click()
    expect(panel).to_contain_text("At 0.9: 10.00 USD → 9.00 EUR")
    expect(sam.locator("#balance")).to_contain_text("89.95")
    Shots(sam, "fx-transfer")("receipt", both=True)
    sam.ids.check()
    assert sam.console_errors == [] and page.console_errors == []
    sam.close()


def test_a_hold_with_a_fee_offers_what_can_be_captured_and_its_review_agrees_with_the_write(live_app, browser_page):
    """Issue 25, item 1: a hold of 300.00 reserves 301.75 with its fee. The field offers the
    300.00 that can be captured; 301.75 is refused at the review, in the engine's words; an
    empty field reviews and captures 300.00."""
    from sqlalchemy import select

    from wallet_app.extensions import db
    from wallet_app.ledger import fees
    from wallet_app.models import User

    app, base = live_app
    page = browser_page
    with app.app_context():
        svc = ledger_api()
        alice = svc.create_wallet("Alice Martin", "USD", actor=CLI)["id"]
        bob = svc.create_wallet("Bob Stone", "USD", actor=CLI)["id"]
        svc.fund(alice, "900.00", idempotency_key=k(), actor=CLI)
        fees.set_fee("USD", "transfer", fixed="0.25", bps=50, actor=CLI)
        sam = db.session.scalar(select(User).where(User.email == "sam@example.com"))
        hold = svc.transfer(
            alice, bob, "300.00", idempotency_key=k(), actor=Actor(f"user:{sam.id}", sam.email), pending=True
        ).transaction
    sign_in(page, base)
    page.goto(base + f"/transactions/{hold['id']}")
    field = page.get_by_label("Amount to capture (empty: all 300.00 USD, its fee on top)")
    expect(field).to_be_visible()
    field.fill("301.75")
    page.get_by_role("button", name="Review capture").click()
    expect(page.locator("#hold-panel")).to_contain_text(
        f"At most 300.00 USD of transaction {hold['id']} can be captured (its fee, 1.75 USD, is reserved on top)."
    )
    look(page, "hold-fee-refused")
    page.get_by_label("Amount to capture (empty: all 300.00 USD, its fee on top)").fill("")
    page.get_by_role("button", name="Review capture").click()
    expect(page.locator("#hold-panel .amount-line")).to_have_text("300.00 USD")
    expect(page.locator("#hold-panel")).to_contain_text("(301.75 USD with its fee)")
    look(page, "hold-fee-review")
    page.get_by_role("button", name="Confirm capture").click()
    expect(page.locator("#messages")).to_contain_text("300.00 USD posted")
    with app.app_context():
        captured = ledger_api().get_transaction(hold["id"])
    assert (captured["status"], captured["amount"], captured["fee"]) == ("posted", "300.00", "1.75")
