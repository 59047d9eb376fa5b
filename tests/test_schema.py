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


def test_the_engines_functions_are_exactly_its_sql_files(session):
    """The engine's one current text is wallet_app/ledger/sql: a migrated database holds those
    functions, each once, with those bodies, and nothing else of those names."""
    from wallet_app.ledger import functions

    wanted = functions.definitions()
    assert {"ledger_post", "ledger_refuse", "ledger_round_up"} <= set(wanted)
    assert functions.installed(session.connection()) == {name: [body] for name, body in wanted.items()}
    assert functions.install(session.connection()) is False  # already so: nothing dropped
