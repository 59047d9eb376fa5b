"""System wallets from the catalogue: which may go below zero is a column, not a list of purposes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:00:00

- wallets.unbounded: a system wallet whose balance may go below zero without limit (`world`,
  `fx`). The floor constraint, the engine and reconcile read it, where each kept its own list
  of purposes; only a system wallet may be unbounded.
- The system wallets themselves (one per purpose in wallet_app/ledger/catalogue.py and per
  currency) are made by the engine's install step after every upgrade to the head
  (ledger/functions.py), so a purpose the catalogue adds needs no migration.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE wallets ADD COLUMN unbounded boolean NOT NULL DEFAULT false")
    op.execute("UPDATE wallets SET unbounded = true WHERE system_purpose IN ('world', 'fx')")
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_above_floor")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor CHECK (balance >= -overdraft_limit OR unbounded)"
    )
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_unbounded_is_system CHECK (NOT unbounded OR system_purpose IS NOT NULL)"
    )


def downgrade():
    raise NotImplementedError("restore a backup instead")
