"""Migration 0004 turns a single-entry ledger (funds from nowhere) into double entry that
reconciles: every fund gets its world leg with a correct balance_after chain."""
from flask_migrate import upgrade
from sqlalchemy import text

from tests import pg
from tests.conftest import MIGRATIONS, make_app
from wallet_app.extensions import db
from wallet_app.finance.reconcile import reconcile

# The previous schema's data, as its code wrote it: wallets 1-3, funds with one leg each,
# transfers with two, every balance_after a running balance.
SINGLE_ENTRY = [
    "INSERT INTO wallets (id, owner_name, currency, balance) OVERRIDING SYSTEM VALUE VALUES "
    "(1, 'Ada', 'USD', 70), (2, 'Alan', 'USD', 55), (3, 'Emmy', 'EUR', 9.5)",
    "INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by) "
    "OVERRIDING SYSTEM VALUE VALUES (1, 'fund', 100, 'USD', NULL, 1, 'cli'), (2, 'fund', 25, 'USD', NULL, 2, 'cli'), "
    "(3, 'transfer', 30, 'USD', 1, 2, 'cli'), (4, 'fund', 9.5, 'EUR', NULL, 3, 'cli')",
    "INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after) VALUES "
    "(1, 1, 100, 100), (2, 2, 25, 25), (1, 3, -30, 70), (2, 3, 30, 55), (3, 4, 9.5, 9.5)",
    "INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status) "
    "SELECT 'cli', 'k' || id, 'fp', id, 201 FROM transactions",
    "SELECT setval(pg_get_serial_sequence('wallets', 'id'), 3)",
    "SELECT setval(pg_get_serial_sequence('transactions', 'id'), 4)",
]


def test_a_single_entry_ledger_migrates_to_double_entry_that_reconciles(pg_server):
    server = pg_server[0]
    name = pg.create_database(server)
    try:
        app = make_app(pg.with_database(server, name))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0003")
            for statement in SINGLE_ENTRY:
                db.session.execute(text(statement))
            db.session.commit()
            upgrade(directory=MIGRATIONS)
            world = dict(db.session.execute(text(
                "SELECT currency, balance FROM wallets WHERE system_purpose = 'world'")).all())
            chain = db.session.execute(text(
                "SELECT h.amount, h.balance_after FROM wallet_history h JOIN wallets w ON w.id = h.wallet_id "
                "WHERE w.system_purpose = 'world' AND w.currency = 'USD' ORDER BY h.id")).all()
            report = reconcile(db.session)
            db.session.remove()
            db.engine.dispose()
    finally:
        pg.drop_database(server, name)
    assert world["USD"] == -125 and world["EUR"] == -9.5 and world["JPY"] == 0
    assert [(r.amount, r.balance_after) for r in chain] == [(-100, -100), (-25, -125)]
    assert report.ok, [(c.name, c.mismatches) for c in report.checks if not c.passed]
