"""The migrations build exactly the schema the models describe, with the money constraints."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from wallet_app.extensions import db


def test_migrations_match_the_models(session):
    context = MigrationContext.configure(session.connection())
    assert compare_metadata(context, db.metadata) == []


def test_check_constraints_refuse_a_negative_balance(session, make_wallet):
    wallet = make_wallet(balance="1.00")
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("UPDATE wallets SET balance = -1 WHERE id = :id"), {"id": wallet["id"]})
