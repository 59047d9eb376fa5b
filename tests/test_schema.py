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
    functions, each once, headers and bodies as the files write them (compared with the files
    created afresh in a schema of their own), and nothing else of those names."""
    from wallet_app.ledger import functions

    wanted = functions.definitions()
    assert {"ledger_post", "ledger_refuse", "ledger_round_up"} <= set(wanted)
    conn = session.connection()
    assert functions.installed(conn) == {name: [body] for name, body in wanted.items()}
    assert functions.installed_version(conn) == [functions.version()]
    definition = (
        "SELECT p.proname, replace(pg_get_functiondef(p.oid), n.nspname || '.', '') FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
        "AND p.proname = ANY (:names) ORDER BY 1"
    )
    migrated = conn.execute(text(definition), {"names": list(wanted)}).all()
    conn.execute(text("CREATE SCHEMA engine_afresh; SET LOCAL search_path = engine_afresh, public"))
    conn.execute(text(functions.install_sql()))
    afresh = conn.execute(text(definition), {"names": list(wanted)}).all()
    conn.execute(text("SET LOCAL search_path = public"))
    assert migrated == afresh and len(migrated) == len(wanted)
    assert functions.install(conn) is False  # already so: nothing dropped


def test_an_upgrade_written_as_sql_creates_the_engine(app, capsys):
    """`flask db upgrade --sql` (offline: no database to compare with) ends with the engine."""
    from flask_migrate import upgrade

    from tests.conftest import MIGRATIONS

    with app.app_context():
        upgrade(directory=MIGRATIONS, sql=True)
    script = capsys.readouterr().out
    assert script.count("CREATE FUNCTION ledger_post(") == 1 and "COMMENT ON FUNCTION ledger_post" in script
