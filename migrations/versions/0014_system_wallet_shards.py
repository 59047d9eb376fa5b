"""System wallets split into shards: no hot system row

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:30:00

Every fee lands on `fees` and every funding leaves `world`: one row per purpose and currency,
locked by each movement that touches it, so such movements queued on one lock (a transfer
with a fee ran at 0.45 of one without, bench/RESULTS.md 2026-12-03). A system wallet is now
`ledger_settings.system_shards` rows per purpose and currency (`wallets.shard`), and a
movement takes the shard its paying wallet hashes to (ledger_legs.sql). Reconcile, the
dashboard and exports add the shards up. One shard (the default) is the ledger as before;
raising the number makes the missing rows (`flask system-shards N`), with no downtime.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "ALTER TABLE wallets ADD COLUMN shard smallint NOT NULL DEFAULT 0 "
        "CONSTRAINT ck_wallets_shard CHECK (shard = 0 OR (shard > 0 AND system_purpose IS NOT NULL))"
    )
    op.execute("DROP INDEX uq_wallets_system_purpose_currency")
    op.execute(
        "CREATE UNIQUE INDEX uq_wallets_system_purpose_currency ON wallets (system_purpose, currency, shard) "
        "WHERE system_purpose IS NOT NULL"
    )
    op.execute(
        "ALTER TABLE ledger_settings ADD COLUMN system_shards smallint NOT NULL DEFAULT 1 "
        "CONSTRAINT ck_ledger_settings_system_shards CHECK (system_shards BETWEEN 1 AND 64)"
    )


def downgrade():
    raise NotImplementedError("restore a backup instead")
