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


def upgraded(server: str, revision: str, statements: list[str], *queries: str):
    """A new database migrated to `revision`, given `statements`' data, upgraded to the head:
    each query's rows, and reconcile's report."""
    name = pg.create_database(server)
    try:
        app = make_app(pg.with_database(server, name))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision=revision)
            for statement in statements:
                db.session.execute(text(statement))
            db.session.commit()
            upgrade(directory=MIGRATIONS)
            rows = [db.session.execute(text(q)).all() for q in queries]
            report = reconcile(db.session)
            db.session.remove()
            db.engine.dispose()
    finally:
        pg.drop_database(server, name)
    return *rows, report


def test_a_single_entry_ledger_migrates_to_double_entry_that_reconciles(pg_server):
    world, chain, report = upgraded(
        pg_server[0],
        "0003",
        SINGLE_ENTRY,
        "SELECT currency, balance FROM wallets WHERE system_purpose = 'world'",
        "SELECT h.amount, h.balance_after FROM wallet_history h JOIN wallets w ON w.id = h.wallet_id "
        "WHERE w.system_purpose = 'world' AND w.currency = 'USD' ORDER BY h.id",
    )
    world = dict(world)
    assert world["USD"] == -125 and world["EUR"] == -9.5 and world["JPY"] == 0
    assert [(r.amount, r.balance_after) for r in chain] == [(-100, -100), (-25, -125)]
    assert report.ok, [(c.name, c.mismatches) for c in report.checks if not c.passed]


# At 0009: a rate finance set (audited), an exchange at it, one at a rate its caller chose,
# and a token with an open hold. Balances and legs as 0009's engine wrote them.
def _exchange(tx: int, amount: str, rate: str, dest_amount: str, at: str = "now()") -> list[str]:
    return [
        f"INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by, rate, "
        f"dest_amount, dest_currency, created_at) OVERRIDING SYSTEM VALUE VALUES ({tx}, 'exchange', {amount}, 'USD', "
        f"1001, 1002, 'cli', {rate}, {dest_amount}, 'EUR', {at})",
        f"INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after) VALUES "
        f"(1001, {tx}, -{amount}, (SELECT balance FROM wallets WHERE id = 1001) - {amount}), "
        f"((SELECT id FROM wallets WHERE system_purpose = 'fx' AND currency = 'USD'), {tx}, {amount}, "
        f" (SELECT balance FROM wallets WHERE system_purpose = 'fx' AND currency = 'USD') + {amount}), "
        f"((SELECT id FROM wallets WHERE system_purpose = 'fx' AND currency = 'EUR'), {tx}, -{dest_amount}, "
        f" (SELECT balance FROM wallets WHERE system_purpose = 'fx' AND currency = 'EUR') - {dest_amount}), "
        f"(1002, {tx}, {dest_amount}, (SELECT balance FROM wallets WHERE id = 1002) + {dest_amount})",
        f"UPDATE wallets SET balance = balance - {amount} WHERE id = 1001",
        f"UPDATE wallets SET balance = balance + {dest_amount} WHERE id = 1002",
        f"UPDATE wallets SET balance = balance + {amount} WHERE system_purpose = 'fx' AND currency = 'USD'",
        f"UPDATE wallets SET balance = balance - {dest_amount} WHERE system_purpose = 'fx' AND currency = 'EUR'",
    ]


AT_0009 = [
    "INSERT INTO wallets (id, owner_name, currency, balance) OVERRIDING SYSTEM VALUE VALUES "
    "(1001, 'Ada', 'USD', 100), (1002, 'Emmy', 'EUR', 0)",
    "INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by) "
    "OVERRIDING SYSTEM VALUE VALUES (1, 'fund', 100, 'USD', NULL, 1001, 'cli')",
    "INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after) VALUES (1001, 1, 100, 100), "
    "((SELECT id FROM wallets WHERE system_purpose = 'world' AND currency = 'USD'), 1, -100, -100)",
    "UPDATE wallets SET balance = -100 WHERE system_purpose = 'world' AND currency = 'USD'",
    "INSERT INTO fx_rates (base, quote, rate, spread_bps, updated_by, updated_at) "
    "VALUES ('USD', 'EUR', 0.95, 0, 'fin@example.com', now() - interval '1 minute')",
    *[
        "INSERT INTO audit_log (actor, action, object_type, object_id, details, created_at) VALUES "
        f"('fin@example.com', "
        f'\'rate.set\', \'rate\', \'USD:EUR\', \'{{"after": {{"base": "USD", "quote": "EUR", "rate": "{rate}", '
        f"\"spread_bps\": 0}}}}', now() - interval '{ago} seconds')"
        for rate, ago in (("0.9", 120), ("0.95", 60))
    ],
    *_exchange(2, "10", "0.9", "9", at="now() - interval '90 seconds'"),  # at 0.9, finance's rate then
    *_exchange(3, "1", "900000", "900000"),
    "INSERT INTO api_tokens (id, name, token_hash, scopes) OVERRIDING SYSTEM VALUE VALUES "
    "(7, 'acme', 'h', 'read,write')",
    "INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by, status, "
    "held_amount, expires_at, maker_scope) OVERRIDING SYSTEM VALUE VALUES (4, 'transfer', 5, 'USD', 1001, 1002, "
    "'token:acme', 'pending', 5, now() + interval '1 day', 'token:7')",
    "UPDATE wallets SET held = 5 WHERE id = 1001",
    "SELECT setval(pg_get_serial_sequence('wallets', 'id'), (SELECT max(id) FROM wallets))",
    "SELECT setval(pg_get_serial_sequence('transactions', 'id'), 4)",
    # A deployment at 0009 has its engine of then: another signature, to be dropped.
    "CREATE FUNCTION ledger_post(text, numeric) RETURNS void LANGUAGE sql AS $$ SELECT $$",
]


def test_0010_names_each_earlier_exchanges_house_rate_and_each_tokens_owner(pg_server):
    """Upgraded from 0009: the exchange at finance's rate is matched to it, the one at its
    caller's rate is listed by reconcile, and the token's open hold belongs to its owner."""
    makers, owners, engines, report = upgraded(
        pg_server[0],
        "0009",
        AT_0009,
        "SELECT maker_scope FROM transactions WHERE id = 4",
        "SELECT 'integration:' || i.id FROM integrations i JOIN api_tokens t ON t.integration_id = i.id WHERE t.id = 7",
        "SELECT pronargs FROM pg_proc WHERE proname = 'ledger_post'",
    )
    assert makers == owners and len(makers) == 1
    assert len(engines) == 1 and engines[0][0] > 2  # the old signature dropped, the files' one made
    failed = {c.name: c.mismatches for c in report.checks if not c.passed}
    assert list(failed) == ["fx_positions"]
    assert any(
        m.startswith("transaction 3 (exchange): rate 900000 is not a rate the house set")
        for m in failed["fx_positions"]
    )
    assert not any(m.startswith("transaction 2 ") for m in failed["fx_positions"])
