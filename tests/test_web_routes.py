"""Every console route x every role: the expected status, from the URL map itself, so a new
route cannot slip through untested."""

import pytest

from tests.conftest import console_world
from wallet_app.auth.roles import PERMISSIONS
from wallet_app.ledger.catalogue import KINDS, PAGE_KINDS

ROLES = ["anonymous", "viewer", "support", "finance", "approver", "admin"]
PUBLIC = {"auth.login", "login", "health.healthz", "health.readyz", "static"}


def console_rules(app):
    """Console rules, sign-out last (it ends the session the others need)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "auth.logout"):
        if rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC:
            continue
        yield rule


def test_every_console_route_declares_a_permission(app):
    missing = [
        r.endpoint
        for r in console_rules(app)
        if getattr(app.view_functions[r.endpoint], "permission", None) is None and r.endpoint != "auth.logout"
    ]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(app, client, login_as, make_wallet, role, csrf):
    wallet = make_wallet(balance="10.00")
    user = None if role == "anonymous" else login_as(role)
    token = csrf()
    values = {
        "wallet_id": wallet["id"],
        "transaction_id": 1,
        "reversal_id": 2,
        "batch_id": 1,
        "filename": "css/app.css",
        "user_id": 10**9,
        "token_id": 10**9,
        "endpoint_id": 10**9,
        "reconciliation_id": 10**9,
        "line_id": 10**9,
    }
    checked = 0
    for rule in console_rules(app):
        # A kind's panel (wallets/<id>/<kind>) needs the permission its catalogue entry names.
        for kind in [k.name for k in PAGE_KINDS] if "kind" in rule.arguments else [None]:
            url = rule.build({k: v for k, v in {**values, "kind": kind}.items() if k in rule.arguments})[1]
            view = app.view_functions[rule.endpoint]
            permission = KINDS[kind].permission if kind else getattr(view, "permission", None)
            allowed = user is not None and (permission is None or user.role in PERMISSIONS[permission])
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"csrf_token": token})
                if user is None:
                    assert response.status_code == 302 and "/auth/login" in response.location, (rule, method)
                elif not allowed:
                    assert response.status_code == 403, (rule, method, role, kind)
                else:
                    assert response.status_code not in (302, 401, 403, 500), (
                        rule,
                        method,
                        role,
                        kind,
                        response.status_code,
                    )
                checked += 1
    assert checked >= 10


def _visible_text(html: str) -> str:
    import re

    body = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&nbsp;", " ")


def test_every_console_page_reads_like_money_and_people(app, client, login_as, service, actor):
    """Issue 25: every page a GET answers, for a ledger in every state, has a <title> of at
    most 80 characters (the Fees page's was 3,923), no amount that skipped the formatter
    ("2512.75", "300.0000", "120 USD"), and no bare "wallet 21" or "Wallet #21" where the
    wallet's owner is known."""
    import re

    from wallet_app.formatting import money
    from wallet_app.money import MINOR_UNITS

    world = console_world(service, actor)
    assert world["batch"]["status"] == "partially_posted"
    from wallet_app.events import webhooks

    endpoint = webhooks.create("https://example.com/hooks", actor=actor)
    values = {
        "wallet_id": world["big"]["id"],
        "reversal_id": world["reversal"]["id"],
        "batch_id": world["batch"]["id"],
        "endpoint_id": endpoint["id"],
        "filename": "css/app.css",
        "reconciliation_id": 10**9,
        "line_id": 10**9,
    }
    tx_ids = [t["id"] for k, t in world.items() if k not in ("big", "bob", "eve", "batch")]
    names = {world[w]["id"]: world[w]["owner_name"] for w in ("big", "bob", "eve")}
    login_as("admin")
    pages = {}
    for rule in console_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "auth.logout":
            continue
        kinds = [k.name for k in PAGE_KINDS] if "kind" in rule.arguments else [None]
        ids = tx_ids if "transaction_id" in rule.arguments else [None]
        for kind in kinds:
            for tx_id in ids:
                args = {**values, "kind": kind, "transaction_id": tx_id}
                url = rule.build({a: v for a, v in args.items() if a in rule.arguments})[1]
                response = client.get(url)
                if response.mimetype != "text/html":  # a download (CSV, a statement's PDF)
                    continue
                page = response.get_data(as_text=True)
                if response.status_code == 200 and response.mimetype == "text/html" and page.startswith("<!doctype"):
                    pages[url] = page
    pages["/search?q=Bob"] = client.get("/search?q=Bob").get_data(as_text=True)
    assert len(pages) >= 30 and any("/receipts/" in u for u in pages) and any("/reversals/" in u for u in pages)
    currencies = "|".join(MINOR_UNITS)
    raw, bare, long_titles = {}, {}, {}
    for url, page in pages.items():
        found = re.search(r"<title>(.*?)</title>", page, re.S)
        if found is None or len(found.group(1).strip()) > 80 or "<" in found.group(1):
            long_titles[url] = found and found.group(1)[:100]
        shown = _visible_text(page)
        shown = re.sub(rf"([\d.]+ ({currencies}) )?per 1 ({currencies})", "(a rate)", shown)  # rates: their own digits
        for number, currency in re.findall(rf"[-+−]?(\d[\d,]*(?:\.\d+)?) ({currencies})\b", shown):
            if money(number.replace(",", ""), currency).split(" ")[0] != number:
                i = shown.find(f"{number} {currency}")
                raw.setdefault(url, []).append(shown[max(0, i - 40) : i + 20])
        # 1234.50 (no separator); 900.0000 (more places than the currency's: the only rate is 0.9)
        for found in re.finditer(r"(?<![\d,.])\d{4,}\.\d+|\d\.\d{3,}", shown):
            raw.setdefault(url, []).append(shown[max(0, found.start() - 40) : found.end() + 10])
        for found in re.finditer(r"\b[Ww]allet #?(\d+)\b", shown):
            if int(found.group(1)) in names:
                bare.setdefault(url, []).append(shown[max(0, found.start() - 30) : found.end() + 10])
    assert long_titles == {}
    assert raw == {}, "\n".join(f"{u}: {v}" for u, v in raw.items())
    assert bare == {}, "\n".join(f"{u}: {v}" for u, v in bare.items())
