"""Sessions end on the server (sign-out, idle, age); limits an attacker cannot abuse against
others; answers that show money are never cached; the client's address behind proxies."""

import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text

from tests.conftest import csrf_from, make_app
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token

PASSWORD = "correct horse battery staple"


def browser_sign_in(base: str) -> requests.Session:
    browser = requests.Session()
    token = csrf_from(browser.get(f"{base}/auth/login").text)
    answer = browser.post(
        f"{base}/auth/login",
        data={"email": "sam@example.com", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    return browser


def opens(base: str, cookies) -> bool:
    """Whether a request carrying exactly these cookies gets the dashboard."""
    return requests.get(f"{base}/", cookies=cookies, allow_redirects=False).status_code == 200


def test_a_copied_cookie_is_refused_after_sign_out(live_app):
    app, base = live_app
    browser = browser_sign_in(base)
    copied = browser.cookies.get_dict()
    assert opens(base, copied)
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(f"{base}/").text).group(1)
    assert browser.post(f"{base}/auth/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 303
    assert not opens(base, copied)
    with app.app_context():
        assert (
            db.session.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'signout' AND actor = 'sam@example.com'")
            ).scalar()
            == 1
        )


@pytest.mark.parametrize(
    "column, age, setting",
    [
        ("last_seen_at", timedelta(minutes=31), "SESSION_IDLE_SECONDS"),
        ("created_at", timedelta(hours=12, minutes=1), "SESSION_MAX_SECONDS"),
    ],
)
def test_a_session_ends_when_idle_or_old(live_app, column, age, setting):
    app, base = live_app
    browser = browser_sign_in(base)
    assert opens(base, browser.cookies.get_dict())
    with app.app_context():
        db.session.execute(text(f"UPDATE operator_sessions SET {column} = now() - :age"), {"age": age})
        db.session.commit()
    assert not opens(base, browser.cookies.get_dict())
    app.config[setting] = int(age.total_seconds()) + 3600  # configurable: a longer setting keeps it open
    assert opens(base, browser.cookies.get_dict())


def test_an_attackers_failures_do_not_lock_out_the_user_elsewhere(client, make_operator):
    user = make_operator("viewer")
    attacker, office = {"REMOTE_ADDR": "203.0.113.9"}, {"REMOTE_ADDR": "198.51.100.7"}

    def attempt(environ, password):
        token = csrf_from(client.get("/auth/login", environ_base=environ).get_data(as_text=True))
        return client.post(
            "/auth/login", environ_base=environ, data={"email": user.email, "password": password, "csrf_token": token}
        ).status_code

    assert [attempt(attacker, "guess!") for _ in range(5)] == [401] * 5
    assert attempt(attacker, PASSWORD) == 429  # that address is stopped for this account...
    assert attempt(office, PASSWORD) == 303  # ...the user, elsewhere, is not


def test_an_account_failing_from_many_addresses_slows_down_without_locking(client, make_operator, session):
    user = make_operator("viewer")
    # 60 failures from 60 addresses in the window, the last just now.
    session.execute(
        text("""INSERT INTO audit_log (actor, action, object_type, object_id, ip, created_at)
        SELECT :e, 'signin.failed', 'user', :e, '192.0.2.' || g, now() - make_interval(secs => 60 - g)
        FROM generate_series(1, 60) g"""),
        {"e": user.email},
    )
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    page = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 429 and "Try again in" in page.get_data(as_text=True)
    # The delay is bounded: once it has passed since the last failure, the right password works.
    session.execute(
        text("UPDATE audit_log SET created_at = created_at - interval '61 seconds' WHERE action = 'signin.failed'")
    )
    page = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 303


def test_the_api_limit_counts_per_token_however_the_header_is_spelt(app, client, make_token):
    _, secret = make_token("read")
    app.config["API_RATE_LIMIT"] = "3/minute"
    try:
        spellings = [f"Bearer {secret}", f"bearer {secret}", f"BEARER {secret}", f"Bearer  {secret}"]
        statuses = [client.get("/api/v1/wallets", headers={"Authorization": h}).status_code for h in spellings]
    finally:
        app.config["API_RATE_LIMIT"] = "600/minute"
    assert statuses == [200, 200, 200, 429]


def test_failed_authentications_are_limited_per_address(app, client, make_token):
    _, secret = make_token("read")
    app.config["API_AUTH_FAILURE_LIMIT"] = "5/minute"
    flood = {"REMOTE_ADDR": "203.0.113.50"}
    try:
        statuses = [
            client.get(
                "/api/v1/wallets", environ_base=flood, headers={"Authorization": f"Bearer bogus-{i}"}
            ).status_code
            for i in range(7)
        ]
        other = client.get(
            "/api/v1/wallets", environ_base={"REMOTE_ADDR": "198.51.100.50"}, headers={"Authorization": "Bearer bogus"}
        ).status_code
        good = client.get(
            "/api/v1/wallets", environ_base=flood, headers={"Authorization": f"Bearer {secret}"}
        ).status_code
    finally:
        app.config["API_AUTH_FAILURE_LIMIT"] = "30/minute"
    assert statuses == [401] * 5 + [429] * 2
    assert other == 401 and good == 200  # another address, and a valid token, are not affected


def test_pages_and_api_answers_are_never_cached(client, login_as, make_wallet, make_token):
    login_as("support")
    wallet = make_wallet(balance="5.00")
    _, secret = make_token("read")
    for response in (
        client.get("/"),
        client.get(f"/wallets/{wallet['id']}"),
        client.get("/wallets"),
        client.get(f"/api/v1/wallets/{wallet['id']}", headers={"Authorization": f"Bearer {secret}"}),
    ):
        assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


@pytest.mark.parametrize("proxies, seen", [(0, "10.0.0.1"), (1, "203.0.113.7")])
def test_the_client_address_behind_trusted_proxies(fresh_database_url, proxies, seen):
    app = make_app(fresh_database_url(), TRUSTED_PROXIES=proxies)
    with app.app_context():
        _, secret = create_token("proxied", "read,write", actor=Actor("cli", "cli"))
    client = app.test_client()
    answer = client.post(
        "/api/v1/wallets",
        json={"owner_name": "Behind", "currency": "USD"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={"Authorization": f"Bearer {secret}", "X-Forwarded-For": "203.0.113.7"},
    )
    assert answer.status_code == 201
    with app.app_context():
        assert db.session.execute(text("SELECT ip FROM audit_log WHERE action = 'wallet.create'")).scalar() == seen
        db.engine.dispose()
