"""Issue 27 in Chromium: an admin adds a webhook endpoint (plain http and a loopback URL
refused until allowed), copies its secret, sends a test event and reads the attempt; sets a wallet's alert
line and sees the alert when the balance crosses it; is told on every page when the worker
disables an endpoint (screenshots at 1280 px and 390 px, tests/browser/artifacts/webhooks-*,
each checked by axe)."""

import uuid

from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.browser.conftest import PASSWORD
from tests.browser.look import look
from tests.conftest import approved, ledger_api
from tests.receiver import Receiver
from wallet_app.events import worker
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


def test_admin_manages_a_webhook_and_sees_a_balance_alert(live_app, browser_page):
    app, base = live_app
    rx, failing = Receiver(), Receiver(script=["500"])
    cli = Actor("cli", "cli")
    with app.app_context():
        create_operator("root@example.com", PASSWORD, "admin", actor=cli)
        svc = ledger_api()
        ada = svc.create_wallet("Ada Lovelace", "USD", actor=cli)["id"]
        bob = svc.create_wallet("Bob Payee", "USD", actor=cli)["id"]
        approved(svc.fund(ada, "100.00", idempotency_key=str(uuid.uuid4()), actor=cli))
    page = browser_page
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill("root@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    page.get_by_label("URL").fill(rx.url)
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("The URL is https://")  # production refuses it
    page.get_by_label("URL").fill(rx.url.replace("http://", "https://"))
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("private or loopback")
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # as tests and local runs allow
    page.get_by_label("URL").fill(rx.url)
    page.get_by_label("transaction.posted").check()
    expect(page.get_by_label("webhook.test")).to_have_count(0)  # a test is sent, not subscribed to
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("code.secret").inner_text()
    assert secret.startswith("whsec_")
    look(page, "webhooks-created")

    page.get_by_role("link", name="Open the endpoint").click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator("#messages")).to_contain_text("queued")
    with app.app_context():
        worker.run(app, once=True)
        db.session.remove()
    (request,) = rx.accepted()
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "webhook.test"
    page.reload()
    attempts = page.get_by_role("table").last
    expect(attempts).to_contain_text("webhook.test")
    expect(attempts).to_contain_text("HTTP 200")
    look(page, "webhooks-endpoint")

    # A wallet's alert line, then a transfer that crosses it.
    page.goto(f"{base}/wallets/{ada}")
    page.get_by_label("Alert when available goes below").fill("50.00")
    page.get_by_role("button", name="Save limits and alerts").click()
    expect(page.locator("#messages")).to_contain_text("Limits and alerts saved")
    with app.app_context():
        ledger_api().transfer(ada, bob, "60.00", idempotency_key=str(uuid.uuid4()), actor=cli)
    page.reload()
    alerts = page.get_by_role("list", name="Balance alerts")
    expect(alerts).to_contain_text("available went below 50.00 USD (100.00 USD → 40.00 USD)")
    look(page, "webhooks-wallet-alert")

    # An endpoint whose deliveries fail for good is disabled, and every page says so.
    with app.app_context():
        from wallet_app.events import webhooks

        webhooks.create(failing.url, event_types=["transaction.posted"], actor=cli)
        app.config["WEBHOOK_RETRY_FOR_S"] = 0
        ledger_api().transfer(ada, bob, "1.00", idempotency_key=str(uuid.uuid4()), actor=cli)
        worker.run(app, once=True)
        db.session.remove()
    page.goto(base + "/")
    banner = page.locator(".banner.closed", has_text=failing.url)
    expect(banner).to_contain_text("is disabled. Its deliveries failed for 0 seconds (the last: HTTP 500)")
    look(page, "webhooks-disabled-banner")
    rx.close()
    failing.close()
    assert [e for e in page.console_errors if "status of 422" not in e] == []
