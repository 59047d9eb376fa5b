"""Who did what, and the people doing it: notes (append-only, audited), the wallet's activity,
kept reconcile runs, password change, an admin's reset with a forced change, the CLI reset."""

import re
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import csrf_from, signed_in
from wallet_app.ledger import seals
from wallet_app.models import AuditLog, User, WalletNote
from wallet_app.services import audit_log, notes
from wallet_app.services.audit import Actor

PASSWORD = "correct horse battery staple"


def post(client, url, data, page):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_a_note_is_added_shown_audited_and_never_changed(client, login_as, make_wallet, session):
    user = login_as("finance")
    wallet = make_wallet()
    page = f"/wallets/{wallet['id']}"
    done = post(client, f"{page}/notes", {"body": "Called the customer:\nID checked."}, page)
    assert done.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "Note added." in html and "Called the customer:\nID checked." in html and user.email in html
    assert "Note added" in html.split('id="activity"')[1]  # in the wallet's activity too
    audited = session.scalars(select(AuditLog).where(AuditLog.action == "wallet.note")).one()
    assert audited.object_id == str(wallet["id"]) and audited.actor == user.email
    note_id = session.scalars(select(WalletNote.id)).one()
    for statement in (
        "UPDATE wallet_notes SET body = 'rewritten' WHERE id = :id",
        "DELETE FROM wallet_notes WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with session.begin_nested():
                session.execute(text(statement), {"id": note_id})


def test_an_empty_note_is_an_error_beside_the_field_and_viewers_cannot_write(client, login_as, make_wallet):
    login_as("support")
    wallet = make_wallet()
    page = f"/wallets/{wallet['id']}"
    refused = post(client, f"{page}/notes", {"body": "   "}, page)
    assert refused.status_code == 422 and 'id="note-body-error"' in refused.get_data(as_text=True)
    login_as("viewer")
    assert post(client, f"{page}/notes", {"body": "hello"}, page).status_code == 403
    assert "Add a note" not in client.get(page).get_data(as_text=True)


def test_notes_and_activity_page_with_cursors(session, make_wallet, service, actor):
    wallet = make_wallet(balance="100.00")
    other = make_wallet()
    for i in range(12):
        notes.add_note(wallet["id"], f"note {i}", actor=actor)
        service.transfer(wallet["id"], other["id"], "1.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    first, cursor = notes.list_notes(wallet["id"])
    rest, end = notes.list_notes(wallet["id"], cursor=cursor)
    assert [n["body"] for n in first + rest] == [f"note {i}" for i in reversed(range(12))] and end is None
    seen, cursor = [], None
    while True:
        items, cursor = audit_log.wallet_activity(wallet["id"], cursor=cursor, limit=5)
        seen += items
        if cursor is None:
            break
    # created, funded, 12 notes, 12 transfers: each once, newest first
    assert len(seen) == 26 and len({e["id"] for e in seen}) == 26
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    assert {e["action"] for e in seen} == {"wallet.create", "fund", "wallet.note", "transfer"}
    # the other wallet sees the transfers, not this wallet's notes
    theirs, _ = audit_log.wallet_activity(other["id"], limit=50)
    assert {e["action"] for e in theirs} == {"wallet.create", "transfer"}


def test_reconcile_runs_are_kept_with_their_figures(client, login_as, make_wallet, session):
    login_as("finance")
    make_wallet(balance="1500.00")
    assert "No runs yet" in client.get("/finance/reconcile").get_data(as_text=True)
    ran = post(client, "/finance/reconcile", {}, "/finance/reconcile")
    assert ran.status_code == 303
    post(client, "/finance/reconcile", {}, "/finance/reconcile")
    html = client.get("/finance/reconcile").get_data(as_text=True)
    assert "every invariant holds" in html and html.count("all hold") == 2
    assert "1,500.00" in html and "-1,500.00" in html  # customers and world, per currency
    assert "wallets</td>" in html and " ms" in html  # what each check examined, the time taken
    assert session.execute(text("SELECT count(*) FROM reconcile_runs")).scalar() == 2
    # How far the seal chain is behind: the funding's two legs, until they are sealed.
    assert re.search(r'id="seal-lag">Seal chain: 0 links.*?2 legs not sealed yet', html, re.S)
    seals.seal_all()
    post(client, "/finance/reconcile", {}, "/finance/reconcile")
    html = client.get("/finance/reconcile").get_data(as_text=True)
    assert re.search(r'id="seal-lag">Seal chain: 1 links.*?nothing waiting to be sealed', html, re.S)


def test_operator_changes_their_password_and_other_sessions_end(client, app, make_operator, session):
    user = make_operator("viewer")
    signed_in(client, user.id, user.get_id())
    other = app.test_client()
    signed_in(other, user.id, user.get_id())
    wrong = post(
        client,
        "/auth/password",
        {"current_password": "nope", "new_password": "a brand new secret", "confirm_password": "a brand new secret"},
        "/auth/password",
    )
    assert wrong.status_code == 422 and 'id="current-password-error"' in wrong.get_data(as_text=True)
    differ = post(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": "a brand new secret", "confirm_password": "another secret!!"},
        "/auth/password",
    )
    assert differ.status_code == 422 and "The two passwords differ" in differ.get_data(as_text=True)
    done = post(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": "a brand new secret", "confirm_password": "a brand new secret"},
        "/auth/password",
    )
    assert done.status_code == 303
    assert "Password changed." in client.get("/").get_data(as_text=True)  # this session carries on
    assert other.get("/").status_code == 302  # the other one ended
    assert session.scalars(select(AuditLog).where(AuditLog.action == "operator.password")).one()


def test_admin_reset_forces_a_change_at_next_sign_in(client, app, login_as, make_operator, session):
    login_as("admin")
    sam = make_operator("support")
    short = post(client, f"/admin/operators/{sam.id}/password", {"password": "short"}, "/admin/operators")
    assert short.status_code == 422 and "at least 12" in short.get_data(as_text=True)
    done = post(client, f"/admin/operators/{sam.id}/password", {"password": "temporary secret 1"}, "/admin/operators")
    assert done.status_code == 303
    assert "password reset" in client.get("/admin/operators").get_data(as_text=True)
    sams = app.test_client()
    login = sams.get("/auth/login").get_data(as_text=True)
    signed = sams.post(
        "/auth/login", data={"csrf_token": csrf_from(login), "email": sam.email, "password": "temporary secret 1"}
    )
    assert signed.status_code == 303
    forced = sams.get("/wallets")
    assert forced.status_code == 303 and forced.location.endswith("/auth/password")
    changed = post(
        sams,
        "/auth/password",
        {
            "current_password": "temporary secret 1",
            "new_password": "my own secret 22",
            "confirm_password": "my own secret 22",
        },
        "/auth/password",
    )
    assert changed.status_code == 303 and sams.get("/wallets").status_code == 200
    assert session.scalars(select(AuditLog).where(AuditLog.action == "operator.password_reset")).one()


def test_flask_reset_password_lets_the_first_admin_back_in(committing_app, monkeypatch):
    from wallet_app.extensions import db
    from wallet_app.services.operators import create_operator, verify_password

    with committing_app.app_context():
        create_operator("first@example.com", "forgotten password", "admin", actor=Actor("cli", "cli"))
    monkeypatch.setenv("WALLET_OPERATOR_PASSWORD", "remembered this time")
    runner = committing_app.test_cli_runner()
    result = runner.invoke(args=["reset-password", "First@Example.com"])
    assert result.exit_code == 0 and "Password of admin first@example.com changed" in result.output
    with committing_app.app_context():
        user = db.session.scalars(select(User).where(User.email == "first@example.com")).one()
        assert verify_password(user.password_hash, "remembered this time") and not user.must_change_password
    unknown = runner.invoke(args=["reset-password", "nobody@example.com"])
    assert unknown.exit_code != 0 and "No operator" in unknown.output


def test_login_leads_to_sign_in(client):
    response = client.get("/login?next=/wallets")
    assert response.status_code == 301 and response.location.endswith("/auth/login?next=/wallets")


def test_a_failing_reconcile_shows_the_amounts_behind_it(client, login_as, make_wallet, session):
    login_as("finance")
    wallet = make_wallet(balance="10.00")
    session.execute(text("UPDATE wallets SET balance = 1234.56 WHERE id = :id"), {"id": wallet["id"]})
    post(client, "/finance/reconcile", {}, "/finance/reconcile")
    html = client.get("/finance/reconcile").get_data(as_text=True)
    assert "some invariants FAIL" in html and re.search(r"\d+ checks? failed", html)
    assert f"wallet {wallet['id']}: balance 1234.56, legs sum to 10.00" in html
