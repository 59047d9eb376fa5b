"""Issue 26 in Chromium: support uploads a CSV of payouts with good, refused and ambiguous
rows, reviews every row, posts the batch and downloads what became of each row (screenshots
at 1280 px and 390 px, tests/browser/artifacts/batches-*, each checked by axe)."""

import csv
import io
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.look import look
from tests.conftest import approved, ledger_api
from wallet_app.services.audit import Actor


def test_support_uploads_reviews_posts_and_downloads_a_batch(live_app, browser_page):
    app, base = live_app
    with app.app_context():
        svc, cli = ledger_api(), Actor("cli", "cli")
        ada = svc.create_wallet("Ada Lovelace", "USD", actor=cli)
        bob = svc.create_wallet("Bob Payee", "USD", actor=cli)
        for _ in range(2):
            svc.create_wallet("Sam Twin", "USD", actor=cli)
        approved(svc.fund(ada["id"], "1000.00", idempotency_key=str(uuid.uuid4()), actor=cli))
    page = browser_page
    sign_in(page, base)
    page.get_by_role("link", name="Batches").click()
    expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    look(page, "batches-upload")
    rows = (
        "from,to,amount,reference\n"
        'Ada Lovelace,Bob Payee,"1,200.00",too much\n'  # refused: more than Ada has
        "Ada Lovelace,Bob Payee,250.00,May payout\n"
        "Ada Lovelace,Sam Twin,10.00,which Sam?\n"  # ambiguous: two wallets have that name
        f"{ada['id']},,100.00,to the bank\n"
    )
    page.get_by_label("CSV of payouts").set_input_files(
        {"name": "payouts.csv", "mimeType": "text/csv", "buffer": rows.encode()}
    )
    page.get_by_role("button", name="Review the rows").click()
    expect(page.get_by_role("heading", name="Review the batch")).to_be_visible()
    review = page.locator("#batch-review")
    expect(review).to_contain_text("Refused: Insufficient funds")
    expect(review).to_contain_text("Several wallets are named 'Sam Twin'")
    expect(review).to_contain_text("To be posted: 350.00 USD")
    look(page, "batches-review")

    page.get_by_role("button", name="Post 3 rows").click()
    expect(page.get_by_role("heading", name="Batch", exact=False)).to_contain_text("Batch")
    expect(page.locator("#batch")).to_contain_text("partially posted")
    expect(page.locator("#batch")).to_contain_text("Bob Payee")
    look(page, "batches-result")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rows as CSV").click()
    lines = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert [(r[1], r[5], r[7]) for r in lines[1:]] == [
        ("refused", "1200.00", "too much"),
        ("posted", "250.00", "May payout"),
        ("posted", "100.00", "to the bank"),
    ]
    assert "Insufficient funds" in lines[1][10]
    with app.app_context():
        assert ledger_api().get_wallet(bob["id"])["balance"] == "250.00"
    assert [e for e in page.console_errors if "status of 422" not in e] == []
