"""Reversals, withdrawals, fees, per-wallet limits, status with a reason

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:40:00

- `fee_schedule`: per currency and kind, a fixed part, basis points, an optional minimum
  and maximum.
- wallets: `overdraft_limit` (the floor is minus it), `max_balance`, `daily_outflow_limit`,
  and who set the status, when and why.
- transactions: `fee`, `reverses_transaction_id`, `reversed_amount` (never above `amount`),
  `fee_refunded`, `reason`.
- ledger_post() learns the kind's fee (a leg of the same transaction to the `fees` wallet,
  paid by one leg), reversals (the original is locked, never reversed beyond its amount,
  and a reversal is not reversible), and the limits, all checked under the locks.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE fee_schedule (
            currency varchar(3) NOT NULL CONSTRAINT fk_fee_schedule_currency_currencies
                REFERENCES currencies (code),
            kind varchar(20) NOT NULL,
            fixed numeric(20,4) NOT NULL DEFAULT 0 CONSTRAINT ck_fee_schedule_fixed_non_negative CHECK (fixed >= 0),
            bps integer NOT NULL DEFAULT 0 CONSTRAINT ck_fee_schedule_bps_range CHECK (bps BETWEEN 0 AND 10000),
            minimum numeric(20,4) CONSTRAINT ck_fee_schedule_minimum_non_negative CHECK (minimum >= 0),
            maximum numeric(20,4) CONSTRAINT ck_fee_schedule_maximum_non_negative CHECK (maximum >= 0),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_fee_schedule PRIMARY KEY (currency, kind),
            CONSTRAINT ck_fee_schedule_minimum_below_maximum
                CHECK (minimum IS NULL OR maximum IS NULL OR minimum <= maximum))""")
    op.execute("""
        ALTER TABLE wallets
            ADD COLUMN overdraft_limit numeric(20,4) NOT NULL DEFAULT 0
                CONSTRAINT ck_wallets_overdraft_limit_non_negative CHECK (overdraft_limit >= 0),
            ADD COLUMN max_balance numeric(20,4)
                CONSTRAINT ck_wallets_max_balance_non_negative CHECK (max_balance >= 0),
            ADD COLUMN daily_outflow_limit numeric(20,4)
                CONSTRAINT ck_wallets_daily_outflow_limit_non_negative CHECK (daily_outflow_limit >= 0),
            ADD COLUMN status_reason varchar(500),
            ADD COLUMN status_changed_by varchar(320),
            ADD COLUMN status_changed_at timestamptz""")
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_above_floor")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= -overdraft_limit OR system_purpose IS NOT DISTINCT FROM 'world')"
    )
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_below_max "
        "CHECK (max_balance IS NULL OR balance <= max_balance)"
    )
    op.execute("""
        ALTER TABLE transactions
            ADD COLUMN fee numeric(20,4) NOT NULL DEFAULT 0 CONSTRAINT ck_transactions_fee_non_negative CHECK (fee >= 0),
            ADD COLUMN reverses_transaction_id bigint
                CONSTRAINT fk_transactions_reverses_transaction_id_transactions REFERENCES transactions (id),
            ADD COLUMN reversed_amount numeric(20,4) NOT NULL DEFAULT 0,
            ADD COLUMN fee_refunded boolean NOT NULL DEFAULT false,
            ADD COLUMN reason varchar(500),
            ADD CONSTRAINT ck_transactions_reversed_within_amount
                CHECK (reversed_amount >= 0 AND reversed_amount <= amount)""")
    op.execute("CREATE INDEX ix_transactions_reverses_transaction_id ON transactions (reverses_transaction_id)")
    # This revision's ledger_post() is no longer kept here: the engine's one current text is
    # wallet_app/ledger/sql, (re)created after every upgrade to the head (migrations/env.py).


def downgrade():
    raise NotImplementedError("restore a backup instead")
