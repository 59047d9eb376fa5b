"""Sign-in and sessions: generic errors, throttling, rotation, safe redirects, instant revocation."""

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from wallet_app.models import AuditLog

PASSWORD = "correct horse battery staple"


def sign_in(client, email, password, next_url=None):
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def test_sign_in_and_out(client, make_operator, session):
    user = make_operator("viewer")
    response = sign_in(client, user.email.upper(), PASSWORD)
    assert response.status_code == 303 and response.location == "/"
    assert client.get("/").status_code == 200
    assert session.scalars(select(AuditLog).where(AuditLog.action == "signin")).first().actor == user.email
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_message(client, make_operator):
    user = make_operator("viewer")
    wrong = sign_in(client, user.email, "not the password").get_data(as_text=True)
    unknown = sign_in(client, "nobody@example.com", PASSWORD).get_data(as_text=True)
    assert "Email or password is incorrect." in wrong and "Email or password is incorrect." in unknown


def test_an_account_is_throttled_after_five_failures(client, make_operator):
    user = make_operator("viewer")
    for _ in range(5):
        assert sign_in(client, user.email, "wrong password!").status_code == 401
    throttled = sign_in(client, user.email, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed sign-ins" in throttled.get_data(as_text=True)


def test_the_session_is_rotated_at_sign_in(client, make_operator):
    user = make_operator("viewer")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    sign_in(client, user.email, PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/wallets", "/wallets"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_redirects_inside_the_app(client, make_operator, target, expected):
    user = make_operator("viewer")
    assert sign_in(client, user.email, PASSWORD, next_url=target).location == expected


def test_a_deactivated_operator_is_signed_out_at_once(client, make_operator, session):
    user = make_operator("support")
    sign_in(client, user.email, PASSWORD)
    assert client.get("/wallets").status_code == 200
    user.active = False
    user.session_version += 1
    session.commit()
    assert client.get("/wallets").status_code == 302


def test_sign_in_failures_are_audited_with_the_address(client, session):
    sign_in(client, "ghost@example.com", "whatever it is")
    row = session.scalars(select(AuditLog).where(AuditLog.action == "signin.failed")).first()
    assert row.object_id == "ghost@example.com" and row.ip == "127.0.0.1"


def test_sign_ins_are_limited_per_address(app, client, make_operator):
    app.config["SIGNIN_RATE_LIMIT"] = "2/minute"
    try:
        statuses = [sign_in(client, "nobody@example.com", "x" * 12).status_code for _ in range(3)]
    finally:
        app.config["SIGNIN_RATE_LIMIT"] = "10000/minute"
    assert statuses == [401, 401, 429]
