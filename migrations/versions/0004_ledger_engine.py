"""One ledger engine: system wallets, double-entry legs, ledger_post()

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:30:00

- `currencies` holds each currency's minor units; wallets reference it.
- System wallets live in `wallets`, one per purpose and currency (`world`: money entering
  or leaving the ledger, the only wallet allowed below zero; `fees`).
- Every existing fund gets its world leg, with a correct balance_after chain, so every
  transaction's legs sum to zero per currency.
- ledger_post() is the one write path (docs/DESIGN.md, "The write protocol"): claim the
  idempotency key, lock the legs' wallets in ascending id order, check every rule, write the
  transaction, the legs with balance_after and the audit row, in one round trip. With
  p_dry_run it checks the same rules and returns the balances after, writing nothing.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here as of this revision; tests check that money.MINOR_UNITS agrees with the table.
CURRENCIES = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3, "BHD": 3}
SYSTEM_PURPOSES = ("world", "fees")


def upgrade():
    op.execute(
        "CREATE TABLE currencies (code varchar(3) CONSTRAINT pk_currencies PRIMARY KEY, "
        "minor_units smallint NOT NULL "
        "CONSTRAINT ck_currencies_minor_units_range CHECK (minor_units BETWEEN 0 AND 4))"
    )
    op.execute("INSERT INTO currencies VALUES " + ", ".join(f"('{c}', {p})" for c, p in CURRENCIES.items()))
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT fk_wallets_currency_currencies "
        "FOREIGN KEY (currency) REFERENCES currencies (code)"
    )

    op.execute("ALTER TABLE wallets ADD COLUMN system_purpose varchar(20)")
    op.execute(
        "CREATE UNIQUE INDEX uq_wallets_system_purpose_currency ON wallets (system_purpose, currency) "
        "WHERE system_purpose IS NOT NULL"
    )
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_non_negative")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= 0 OR system_purpose IS NOT DISTINCT FROM 'world')"
    )
    # A leg's balance_after is its wallet's balance, whose floor the wallet row enforces.
    op.execute("ALTER TABLE wallet_history DROP CONSTRAINT ck_wallet_history_balance_after_non_negative")
    # Kinds live in one catalogue (wallet_app/ledger/catalogue.py); reconcile flags unknown ones.
    op.execute("ALTER TABLE transactions DROP CONSTRAINT ck_transactions_kind_known")
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN response_body")
    # The claim names its transaction before the transaction row exists (same database
    # transaction), so the reference is checked at commit.
    op.execute(
        "ALTER TABLE idempotency_keys ALTER CONSTRAINT fk_idempotency_keys_transaction_id_transactions "
        "DEFERRABLE INITIALLY DEFERRED"
    )

    op.execute(f"""
        INSERT INTO wallets (owner_name, currency, system_purpose)
        SELECT initcap(p) || ' (' || c.code || ')', c.code, p
        FROM currencies c CROSS JOIN unnest(ARRAY{list(SYSTEM_PURPOSES)}) p
        ORDER BY c.code, p""")
    # Each existing fund came from outside the ledger: give it its world leg, the world
    # wallet's balance_after running in transaction order.
    op.execute("""
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT w.id, t.id, -t.amount,
               -sum(t.amount) OVER (PARTITION BY t.currency ORDER BY t.id), t.created_at
        FROM transactions t JOIN wallets w ON w.system_purpose = 'world' AND w.currency = t.currency
        WHERE t.kind = 'fund' ORDER BY t.id""")
    op.execute("""
        UPDATE wallets w SET balance = s.total
        FROM (SELECT wallet_id, sum(amount) AS total FROM wallet_history GROUP BY wallet_id) s
        WHERE s.wallet_id = w.id AND w.system_purpose IS NOT NULL""")

    op.execute("DROP FUNCTION wallet_fail(text, text)")
    # This revision's ledger_post() and ledger_refuse() are no longer kept here: the engine's one current text is
    # wallet_app/ledger/sql, (re)created after every upgrade to the head (migrations/env.py).


def downgrade():
    raise NotImplementedError("0004 turns single-entry funds into double entry; restore a backup instead.")
