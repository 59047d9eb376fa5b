"""Bench data, built set-based in PostgreSQL so it loads in seconds and reconciles exactly.

Every wallet is funded with 1000.00; then `transfers` transfers of 1.00 go from wallets
2..N (round robin) to wallet 1, which so holds about a million history rows. Running
balances come from window functions, so every balance_after is the true running balance.
"""
import psycopg

LOAD = """
INSERT INTO wallets (id, owner_name, owner_email, external_ref, currency, balance)
  OVERRIDING SYSTEM VALUE
  SELECT g, 'Owner ' || g, 'owner' || g || '@example.com', 'REF-' || g, 'USD', 1000 FROM generate_series(1, %(n)s) g;
INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by)
  OVERRIDING SYSTEM VALUE
  SELECT g, 'fund', 1000, 'USD', NULL, g, 'loader' FROM generate_series(1, %(n)s) g;
INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by)
  OVERRIDING SYSTEM VALUE
  SELECT %(n)s + t, 'transfer', 1, 'USD', 2 + (t - 1) %% (%(n)s - 1), 1, 'loader'
  FROM generate_series(1, %(t)s) t;
INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
  SELECT w, tx, amount, sum(amount) OVER (PARTITION BY w ORDER BY tx, amount), now()
  FROM (SELECT dest_wallet_id AS w, id AS tx, amount FROM transactions
        UNION ALL
        SELECT source_wallet_id, id, -amount FROM transactions WHERE source_wallet_id IS NOT NULL) e
  ORDER BY tx, amount;
UPDATE wallets w SET balance = h.balance_after FROM (
  SELECT DISTINCT ON (wallet_id) wallet_id, balance_after FROM wallet_history ORDER BY wallet_id, id DESC) h
  WHERE h.wallet_id = w.id;
INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status)
  SELECT 'loader', 'load-' || id, 'fp', id, 201 FROM transactions;
SELECT setval(pg_get_serial_sequence('wallets', 'id'), %(n)s);
SELECT setval(pg_get_serial_sequence('transactions', 'id'), %(n)s + %(t)s);
"""


def load(url: str, wallets: int, history_rows: int) -> None:
    transfers = max((history_rows - wallets) // 2, 0)
    with psycopg.connect(url) as conn:
        for statement in filter(str.strip, LOAD.split(";\n")):
            conn.execute(statement, {"n": wallets, "t": transfers})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
