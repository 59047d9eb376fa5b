"""Up to 1,024 shards per system wallet

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 19:00:00

A movement waits for another only when both take the same system row, so the chance that a
writer queues is about (concurrent writers - 1) / shards. At 64 shards, 16 writers still
spent 10 % of their time waiting on a row lock (Lock:transactionid), at 256 shards 3 %
(bench/RESULTS.md, issue 26). The cap was 64; it is now 1,024, for deployments with more
writers. Only the CHECK changes: raising the number still makes the missing rows with no
downtime (`flask system-shards N`).
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "ALTER TABLE ledger_settings DROP CONSTRAINT ck_ledger_settings_system_shards, "
        "ADD CONSTRAINT ck_ledger_settings_system_shards CHECK (system_shards BETWEEN 1 AND 1024)"
    )


def downgrade():
    raise NotImplementedError("restore a backup instead")
