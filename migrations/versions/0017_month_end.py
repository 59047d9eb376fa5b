"""Month end: balances as of a moment, and the seal chain over posted history

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:30:00

A balance as of a moment is the `balance_after` of the wallet's last leg at or before it: one
read of a new index on `(wallet_id, created_at, id)` (legs are stamped after their wallets'
locks are taken, so a wallet's legs grow in time as they grow in id).

Every posted leg is sealed, after its commit, into a hash chain (`ledger_seals`): each seal
covers one transaction's legs in a range of leg ids, and its hash covers the previous seal's
hash and a canonical form of the transaction and those legs. `ledger_seal_state` is the one
sealer's place: legs up to `sealed_upto` are sealed; `next_upto` is sealed once every
transaction running when it was read (`next_snapshot`) has ended.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE INDEX ix_wallet_history_wallet_id_created_at ON wallet_history (wallet_id, created_at, id)")
    op.execute("""
        CREATE TABLE ledger_seals (
            seq bigint CONSTRAINT pk_ledger_seals PRIMARY KEY,
            transaction_id bigint NOT NULL,
            legs_after bigint NOT NULL,
            legs_upto bigint NOT NULL,
            leg_count integer NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL,
            sealed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_ledger_seals_range CHECK (legs_after < legs_upto AND leg_count > 0)
        )""")
    # Which links cover a transaction: verify-chain finds a leg no link covers.
    op.execute("CREATE INDEX ix_ledger_seals_transaction_id ON ledger_seals (transaction_id)")
    op.execute("""
        CREATE TABLE ledger_seal_state (
            id smallint CONSTRAINT pk_ledger_seal_state PRIMARY KEY DEFAULT 1,
            sealed_upto bigint NOT NULL DEFAULT 0,
            next_upto bigint,
            next_snapshot text,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_ledger_seal_state_one_row CHECK (id = 1)
        )""")
    op.execute("INSERT INTO ledger_seal_state (id) VALUES (1)")


def downgrade():
    op.execute("DROP TABLE ledger_seal_state")
    op.execute("DROP TABLE ledger_seals")
    op.execute("DROP INDEX ix_wallet_history_wallet_id_created_at")
