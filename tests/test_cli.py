"""The command line: create-operator, demo-data and reconcile, run as an operator would."""

import pytest
from sqlalchemy import text

from tests.conftest import DOUBLE_ENTRY_VIOLATIONS
from wallet_app.extensions import db
from wallet_app.models import User


@pytest.fixture
def runner(committing_app):
    return committing_app.test_cli_runner()


def test_create_operator_takes_the_password_from_the_environment(runner, committing_app, monkeypatch):
    monkeypatch.setenv("WALLET_OPERATOR_PASSWORD", "correct horse battery")
    result = runner.invoke(args=["create-operator", "Sam@Example.com", "--role", "support"])
    assert result.exit_code == 0, result.output
    assert "Created support sam@example.com" in result.output
    with committing_app.app_context():
        user = db.session.query(User).filter_by(email="sam@example.com").one()
        assert user.role == "support" and user.password_hash.startswith("$argon2")
    again = runner.invoke(args=["create-operator", "SAM@example.com", "--role", "admin"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_operator_refuses_short_passwords(runner, monkeypatch):
    monkeypatch.setenv("WALLET_OPERATOR_PASSWORD", "short")
    result = runner.invoke(args=["create-operator", "x@example.com", "--role", "viewer"])
    assert result.exit_code != 0 and "at least 12" in result.output


def test_demo_data_reconciles_and_a_tampered_balance_fails_reconcile(runner, committing_app):
    demo = runner.invoke(args=["demo-data"])
    assert demo.exit_code == 0, demo.output
    assert "sign in as admin@example.com" in demo.output
    ok = runner.invoke(args=["reconcile"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count(": ok") == 12
    with committing_app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM wallet_history")).scalar() >= 300
        assert db.session.execute(text(DOUBLE_ENTRY_VIOLATIONS)).scalar() == 0
        wallet_id = db.session.execute(text("SELECT min(id) FROM wallets WHERE system_purpose IS NULL")).scalar()
        db.session.execute(text("UPDATE wallets SET balance = balance + 1 WHERE id = :id"), {"id": wallet_id})
        db.session.commit()
    bad = runner.invoke(args=["reconcile"])
    assert bad.exit_code == 1
    assert "wallet_balances: FAILED (1 mismatches)" in bad.output
    assert f"wallet {wallet_id}: balance" in bad.output
    assert "currency_totals: FAILED" in bad.output


def test_expire_holds_counts_in_words(runner):
    """Issue 25, item 5: "Expired 0 holds and requests.", never "Expired 1 holds"."""
    result = runner.invoke(args=["expire-holds"])
    assert result.exit_code == 0 and result.output.strip() == "Expired 0 holds and requests and 0 waiting batches."
