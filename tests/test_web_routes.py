"""Every console route x every role: the expected status, from the URL map itself, so a new
route cannot slip through untested."""

import pytest

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
        "filename": "css/app.css",
        "user_id": 10**9,
        "token_id": 10**9,
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


def test_every_console_page_has_a_short_title(app, client, login_as, make_wallet, service, actor):
    """Issue 25, item 3: every page a GET answers says where you are in a <title> of at most
    80 characters, a wallet's long owner name included (the Fees page's was 3,923 characters)."""
    import re

    wallet = make_wallet(balance="10.00", owner_name="Maria Magdalena " * 12)
    tx = service.transfer(wallet["id"], make_wallet()["id"], "1.00", idempotency_key="t", actor=actor).transaction
    login_as("admin")
    values = {"wallet_id": wallet["id"], "transaction_id": tx["id"], "filename": "css/app.css"}
    titles = {}
    for rule in console_rules(app):
        if "GET" not in rule.methods or set(rule.arguments) - set(values) - {"kind"}:
            continue
        for kind in [k.name for k in PAGE_KINDS] if "kind" in rule.arguments else [None]:
            url = rule.build({k: v for k, v in {**values, "kind": kind}.items() if k in rule.arguments})[1]
            response = client.get(url)
            page = response.get_data(as_text=True)
            if response.status_code == 200 and response.mimetype == "text/html" and page.startswith("<!doctype"):
                found = re.search(r"<title>(.*?)</title>", page, re.S)
                titles[url] = found.group(1).strip() if found else None
    assert len(titles) >= 15
    assert {url: t for url, t in titles.items() if t is None or len(t) > 80 or "<" in t} == {}
