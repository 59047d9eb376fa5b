"""Issue 28 in Chromium: finance uploads a bank statement, reads its breaks, resolves one by a
link and one by an adjustment, and downloads the breaks (screenshots at 1280 px and 390 px,
tests/browser/artifacts/statements-*, each checked by axe)."""

import uuid

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.look import look
from tests.conftest import approved, ledger_api
from tests.finance.bankfixtures import day
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


def test_finance_uploads_a_statement_and_resolves_its_breaks(live_app, browser_page):
    app, base = live_app
    with app.app_context():
        svc, cli = ledger_api(), Actor("cli", "cli")
        create_operator("fay@example.com", PASSWORD, "finance", actor=cli)
        ada = svc.create_wallet("Ada Lovelace", "USD", actor=cli)
        parts = [
            approved(svc.fund(ada["id"], a, idempotency_key=str(uuid.uuid4()), actor=cli, reference=r)).get("id")
            for a, r in (("1200.00", "INV-1"), ("60.00", "P-1"), ("40.00", "P-2"))
        ]
    page = browser_page
    sign_in(page, base, "fay@example.com")
    page.get_by_role("link", name="Bank statements").click()
    expect(page.get_by_role("heading", name="Bank statements")).to_be_visible()
    look(page, "statements-upload")
    text = (
        "id,date,amount,reference,description\n"
        f"B1,{day()},1200.00,inv-1,Wire from Ada\n"
        f"B2,{day()},100.00,LUMP-7,Card settlement\n"
        f"B3,{day()},-15.00,,Monthly account charge\n"
    )
    page.get_by_label("Statement (CSV)").set_input_files(
        {"name": "bank.csv", "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload and match").click()
    expect(page.locator("#statement-summary")).to_contain_text("1 of 3 matched")
    look(page, "statements-breaks")

    lump = page.locator(".break", has_text="LUMP-7")
    lump.get_by_label("Link to transactions").fill(f"{parts[1]}, {parts[2]}")
    lump.get_by_role("button", name="Link").click()
    expect(page.locator(".break", has_text="LUMP-7")).to_contain_text("Matched.")
    charge = page.locator(".break", has_text="Monthly account charge")
    charge.get_by_label("Debit a customer wallet").fill(str(ada["id"]))
    charge.get_by_label("Reason").fill("Bank charge for December")
    charge.get_by_role("button", name="Ask an adjustment").click()
    expect(page.locator(".break", has_text="Monthly account charge")).to_contain_text("awaits a second person")
    look(page, "statements-resolved")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the breaks as CSV").click()
    rows = open(download.value.path()).read().splitlines()
    assert rows[0].startswith("side,status,line") and any(r.startswith("statement,awaiting_approval,4") for r in rows)
    page.get_by_role("link", name="All statements").click()
    expect(page.locator("#reconciliations")).to_contain_text("Statement")
    look(page, "statements-list")
    assert [e for e in page.console_errors if "status of 422" not in e] == []
