"""Holds (pending transfers), four-eyes approval, cross-currency transfers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:00:00

- transactions: `status` (posted, pending, awaiting_approval, voided, expired, rejected);
  a hold or an approval request is a transaction row with no legs until it is captured or
  approved, reserving `held_amount` of its source until `expires_at`; who made it
  (`maker_scope`), who resolved it, when and why; for an exchange, `rate`, `dest_amount`,
  `dest_currency`.
- wallets: `held`, the sum of its unresolved holds (expired ones too, until `flask
  expire-holds` marks them): when it is above zero the engine sums the live holds under the
  wallet's lock, so an expired hold never counts.
- `approval_thresholds` per currency; `fx_rates` per currency pair with a spread; `fx`
  system wallets (one per currency, like `world` allowed below zero: the exchange desk).
- idempotency_keys: `operation`, so a hold's creation and its resolution each claim a key
  naming the same transaction.
- ledger_post() learns all of it: the same checks for a hold, a capture, an approval and a
  conversion, under the same locks (transaction rows first, then wallets ascending).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STATUSES = ("posted", "pending", "awaiting_approval", "voided", "expired", "rejected")


def upgrade():
    op.execute(f"""
        ALTER TABLE transactions
            ADD COLUMN status varchar(20) NOT NULL DEFAULT 'posted'
                CONSTRAINT ck_transactions_status_known CHECK (status IN {STATUSES}),
            ADD COLUMN held_amount numeric(20,4)
                CONSTRAINT ck_transactions_held_amount_non_negative CHECK (held_amount >= 0),
            ADD COLUMN expires_at timestamptz,
            ADD COLUMN maker_scope varchar(100),
            ADD COLUMN resolved_at timestamptz,
            ADD COLUMN resolved_by varchar(320),
            ADD COLUMN resolve_reason varchar(500),
            ADD COLUMN hold_requested boolean NOT NULL DEFAULT false,
            ADD COLUMN rate numeric(24,12) CONSTRAINT ck_transactions_rate_positive CHECK (rate > 0),
            ADD COLUMN dest_amount numeric(20,4)
                CONSTRAINT ck_transactions_dest_amount_positive CHECK (dest_amount > 0),
            ADD COLUMN dest_currency varchar(3) CONSTRAINT fk_transactions_dest_currency_currencies
                REFERENCES currencies (code),
            ADD CONSTRAINT ck_transactions_hold_complete
                CHECK (status = 'posted' OR (held_amount IS NOT NULL AND expires_at IS NOT NULL)),
            ADD CONSTRAINT ck_transactions_conversion_complete
                CHECK ((rate IS NULL) = (dest_currency IS NULL) AND (rate IS NULL) = (dest_amount IS NULL))""")
    # The holds a wallet's checks sum, and those `flask expire-holds` looks for.
    op.execute(
        "CREATE INDEX ix_transactions_open_holds ON transactions (source_wallet_id, expires_at) "
        "WHERE status IN ('pending', 'awaiting_approval')"
    )
    op.execute(
        "CREATE INDEX ix_transactions_open_by_expiry ON transactions (expires_at) "
        "WHERE status IN ('pending', 'awaiting_approval')"
    )
    op.execute(
        "ALTER TABLE wallets ADD COLUMN held numeric(20,4) NOT NULL DEFAULT 0 "
        "CONSTRAINT ck_wallets_held_non_negative CHECK (held >= 0)"
    )
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_above_floor")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= -overdraft_limit OR coalesce(system_purpose IN ('world', 'fx'), false))"
    )
    op.execute("""
        INSERT INTO wallets (owner_name, currency, system_purpose)
        SELECT 'Fx (' || c.code || ')', c.code, 'fx' FROM currencies c ORDER BY c.code""")
    op.execute("ALTER TABLE idempotency_keys ADD COLUMN operation varchar(10) NOT NULL DEFAULT 'post'")
    op.execute("""
        CREATE TABLE approval_thresholds (
            currency varchar(3) PRIMARY KEY CONSTRAINT fk_approval_thresholds_currency_currencies
                REFERENCES currencies (code),
            amount numeric(20,4) NOT NULL CONSTRAINT ck_approval_thresholds_amount_non_negative CHECK (amount >= 0),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now())""")
    op.execute("""
        CREATE TABLE fx_rates (
            base varchar(3) NOT NULL CONSTRAINT fk_fx_rates_base_currencies REFERENCES currencies (code),
            quote varchar(3) NOT NULL CONSTRAINT fk_fx_rates_quote_currencies REFERENCES currencies (code),
            rate numeric(24,12) NOT NULL CONSTRAINT ck_fx_rates_rate_positive CHECK (rate > 0),
            spread_bps integer NOT NULL DEFAULT 0 CONSTRAINT ck_fx_rates_spread_range CHECK (spread_bps BETWEEN 0 AND 10000),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_fx_rates PRIMARY KEY (base, quote),
            CONSTRAINT ck_fx_rates_two_currencies CHECK (base <> quote))""")
    op.execute("ALTER TABLE users DROP CONSTRAINT ck_users_role_known")
    op.execute(
        "ALTER TABLE users ADD CONSTRAINT ck_users_role_known "
        "CHECK (role IN ('viewer', 'support', 'finance', 'approver', 'admin'))"
    )
    # This revision's ledger_post() is no longer kept here: the engine's one current text is
    # wallet_app/ledger/sql, (re)created after every upgrade to the head (migrations/env.py).


def downgrade():
    raise NotImplementedError("restore a backup instead")
