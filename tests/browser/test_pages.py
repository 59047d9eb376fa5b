"""Every other console page in Chromium, as an admin, at 1280 px and on a narrow window."""

import uuid

from tests.browser.conftest import PASSWORD, Shots
from tests.conftest import ledger_api
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


def test_admin_and_finance_pages_render(live_app, browser_page):
    app, base = live_app
    page, shot = browser_page, Shots(browser_page, "pages")
    with app.app_context():
        cli = Actor("cli", "cli")
        create_operator("root@example.com", PASSWORD, "admin", actor=cli)
        svc = ledger_api()
        a = svc.create_wallet('<script>alert("x")</script>', "EUR", actor=cli)["id"]
        b = svc.create_wallet("Zoë 😀 שלום", "EUR", actor=cli)["id"]
        svc.fund(a, "80.00", idempotency_key=str(uuid.uuid4()), actor=cli)
        tx = svc.transfer(a, b, "12.34", idempotency_key=str(uuid.uuid4()), actor=cli, reference="=1+1").transaction
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError("a script ran: " + d.message)))
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    for path, heading, name in [
        (f"/transactions/{tx['id']}", f"Transaction {tx['id']}", "transaction"),
        ("/admin/operators", "Operators", "operators"),
        ("/admin/audit", "Audit log", "audit-log"),
        ("/admin/tokens", "API tokens", "tokens"),
        ("/admin/api-reference", "Wallet API 1.0.0", "api-reference"),
        ("/finance/exports", "Exports", "exports"),
        ("/finance/reconcile", "Reconciliation", "reconcile"),
        ("/no-such-page", "404 · Not Found", "not-found"),
    ]:
        page.goto(base + path)
        page.get_by_role("heading", name=heading).first.wait_for()
        shot(name, both=name == "tokens")
    page.goto(base + "/admin/tokens")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        scopes_sit_beside_their_labels(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + f"/wallets/{a}")
    assert '<script>alert("x")</script>' in page.locator(".owner").inner_text()  # shown as text, not run
    page.locator("#status-reason").fill("fraud check")
    page.get_by_role("button", name="Freeze wallet…").click()
    page.get_by_role("button", name="Freeze wallet", exact=True).click()
    page.get_by_role("button", name="Unfreeze wallet…").wait_for()
    shot("frozen-wallet")
    page.set_viewport_size({"width": 400, "height": 900})
    page.goto(base + f"/wallets/{b}")
    page.locator("#balance").wait_for()
    shot("narrow-wallet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400 + 20  # no sideways scrolling page
    assert [e for e in page.console_errors if "status of 404" not in e] == []


def scopes_sit_beside_their_labels(page):
    """Each scope checkbox starts the fieldset's line, its word right after it."""
    fieldset = page.locator("fieldset").bounding_box()
    for scope in ("read", "write"):
        box = page.get_by_label(scope, exact=True).bounding_box()
        text = page.locator("fieldset label", has_text=scope).bounding_box()
        assert box["width"] < 30 and box["x"] - fieldset["x"] < 40, (scope, box, fieldset)
        assert text["width"] < 200, (scope, text)  # the label hugs its box and word
