"""Bench data, built set-based in PostgreSQL so it loads in seconds and reconciles exactly.

N customer wallets (USD) take the ids after those already in the database (the system
wallets of migration 0004). Each is funded with 1000.00 from the USD `world` wallet, two
legs as the catalogue's `fund` has; then `transfers` transfers of 1.00 go from the others
(round robin) to the first, the treasury, which so holds about half the history rows. What
they count toward four eyes goes into `wallet_flows`, as the engine would have written it.
Every leg's balance_after is a window sum in transaction order, the world wallet's
included, so every chain is the true running balance and reconcile passes.
"""

from typing import NamedTuple

import psycopg

FUND, TRANSFER = 1000, 1

LOAD = """
INSERT INTO wallets (id, owner_name, owner_email, external_ref, currency, balance)
  OVERRIDING SYSTEM VALUE
  SELECT %(w0)s + g, 'Owner ' || g, 'owner' || g || '@example.com', 'REF-' || g, 'USD', 0
  FROM generate_series(1, %(n)s) g;
INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by)
  OVERRIDING SYSTEM VALUE
  SELECT %(t0)s + g, 'fund', %(fund)s, 'USD', NULL, %(w0)s + g, 'loader' FROM generate_series(1, %(n)s) g;
INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by)
  OVERRIDING SYSTEM VALUE
  SELECT %(t0)s + %(n)s + t, 'transfer', %(transfer)s, 'USD', %(w0)s + 2 + (t - 1) %% (%(n)s - 1), %(w0)s + 1, 'loader'
  FROM generate_series(1, %(t)s) t;
-- The legs in the engine's order (a fund: customer, then world; a transfer: source, then
-- dest), numbered in transaction order so each wallet's chain runs in id order.
INSERT INTO wallet_history (id, wallet_id, transaction_id, amount, balance_after, created_at)
  OVERRIDING SYSTEM VALUE
  SELECT %(h0)s + row_number() OVER (ORDER BY e.tx, e.leg), e.w, e.tx, e.amount,
         w.balance + sum(e.amount) OVER (PARTITION BY e.w ORDER BY e.tx), now()
  FROM (SELECT id AS tx, 1 AS leg, dest_wallet_id AS w, amount FROM transactions WHERE id > %(t0)s AND kind = 'fund'
        UNION ALL
        SELECT id, 2, %(world)s, -amount FROM transactions WHERE id > %(t0)s AND kind = 'fund'
        UNION ALL
        SELECT id, 1, source_wallet_id, -amount FROM transactions WHERE id > %(t0)s AND kind = 'transfer'
        UNION ALL
        SELECT id, 2, dest_wallet_id, amount FROM transactions WHERE id > %(t0)s AND kind = 'transfer') e
  JOIN wallets w ON w.id = e.w;
UPDATE wallets w SET balance = w.balance + s.total
  FROM (SELECT wallet_id, sum(amount) AS total FROM wallet_history WHERE id > %(h0)s GROUP BY wallet_id) s
  WHERE s.wallet_id = w.id;
-- What the engine counts toward four eyes as it writes (ledger_flows_of, by the hour): the
-- loaded movements are today's. Left empty, the table was planned empty by every connection
-- that started before the bench's first writes, and scanned whole as it grew
-- (bench/RESULTS.md, 2026-12-08).
INSERT INTO wallet_flows (wallet_id, inflow, hour, amount)
  SELECT f.wallet_id, f.inflow, date_trunc('hour', t.created_at), sum(f.amount)
  FROM transactions t CROSS JOIN LATERAL ledger_flows_of(t) f
  WHERE t.id > %(t0)s AND f.wallet_id IS NOT NULL AND f.amount IS NOT NULL
  GROUP BY 1, 2, 3;
INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status)
  SELECT 'loader', 'load-' || id, 'fp', id, 201 FROM transactions WHERE id > %(t0)s;
-- The audit trail the engine would have written (the wallet page shows a wallet's activity
-- from it), and 50 notes on the treasury, so the page rows read what a real ledger holds.
INSERT INTO audit_log (actor, action, object_type, object_id, created_at)
  SELECT 'loader', kind, 'transaction', id::text, created_at FROM transactions WHERE id > %(t0)s;
INSERT INTO wallet_notes (wallet_id, body, author)
  SELECT %(w0)s + 1, 'note ' || g, 'loader' FROM generate_series(1, 50) g;
INSERT INTO audit_log (actor, action, object_type, object_id, created_at)
  SELECT 'loader', 'wallet.note', 'wallet', (%(w0)s + 1)::text, now() FROM generate_series(1, 50);
SELECT setval(pg_get_serial_sequence('wallets', 'id'), %(w0)s + %(n)s);
SELECT setval(pg_get_serial_sequence('transactions', 'id'), %(t0)s + %(n)s + %(t)s);
SELECT setval(pg_get_serial_sequence('wallet_history', 'id'), (SELECT max(id) FROM wallet_history))
"""

# The highest id a table's rows or its identity sequence have reached: ours start after it.
TOP = """SELECT greatest(coalesce(max(id), 0),
                         coalesce(pg_sequence_last_value(pg_get_serial_sequence('{0}', 'id')::regclass), 0))
         FROM {0}"""


QUIET = (("wallets", "events_of_new_wallets"), ("transactions", "events_of_new_transactions"))


class Wallets(NamedTuple):
    """The loaded customer wallets: the treasury, then the others, ids `first`..`last`; and
    how many transfers the treasury received."""

    treasury: int
    first: int
    last: int
    transfers: int
    first_transfer: int  # the loaded transfers' ids: first_transfer .. first_transfer + transfers - 1


def load(url: str, wallets: int, history_rows: int) -> Wallets:
    """Load `wallets` funded customer wallets and about `history_rows` legs; return their ids."""
    transfers = max((history_rows - 2 * wallets) // 2, 0)
    with psycopg.connect(url) as conn:
        top = {
            key: conn.execute(TOP.format(table)).fetchone()[0]
            for key, table in (("w0", "wallets"), ("t0", "transactions"), ("h0", "wallet_history"))
        }
        world = conn.execute("SELECT id FROM wallets WHERE system_purpose = 'world' AND currency = 'USD'").fetchone()
        if world is None:
            raise RuntimeError("no USD world wallet: is the database migrated (0004)?")
        params = {**top, "n": wallets, "t": transfers, "world": world[0], "fund": FUND, "transfer": TRANSFER}
        # The loaded history stands for what came before events existed: no event rows for it
        # (a million of them would wait unsequenced through every row of the bench).
        for table, trigger in QUIET:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for statement in filter(str.strip, LOAD.split(";\n")):
            conn.execute(statement, params)
        for table, trigger in QUIET:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return Wallets(top["w0"] + 1, top["w0"] + 2, top["w0"] + wallets, transfers, top["t0"] + wallets + 1)
