"""The migrations build exactly the schema the models describe, with the money constraints."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from wallet_app.extensions import db


@pytest.mark.parametrize("app", ["postgresql", "sqlite"], indirect=True)
def test_migrations_match_the_models(session):
    conn = session.connection()
    # SQLite cannot reflect a DESC index column; PostgreSQL checks that index fully.
    skip = {"ix_wallet_history_wallet_id_id"} if conn.dialect.name == "sqlite" else set()
    context = MigrationContext.configure(conn, opts={
        "include_object": lambda obj, name, type_, *_: not (type_ == "index" and name in skip)})
    assert compare_metadata(context, db.metadata) == []


@pytest.mark.parametrize("app", ["postgresql", "sqlite"], indirect=True)
def test_check_constraints_refuse_a_negative_balance(session, make_wallet):
    wallet = make_wallet(balance="1.00")
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("UPDATE wallets SET balance = -1 WHERE id = :id"), {"id": wallet["id"]})
