"""A batch awaiting approval expires, as a single approval request does

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:00:00

A waiting batch kept its items for ever: approved a month later it would post what nobody
still meant. It now lives as long as an approval request (APPROVAL_EXPIRES_DAYS): past
`expires_at` it cannot be approved or rejected, and `flask expire-holds` marks it
`expired` with its items. Batches already waiting get their creation plus three days.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE batches ADD COLUMN expires_at timestamptz")
    op.execute("UPDATE batches SET expires_at = created_at + interval '3 days' WHERE status = 'awaiting_approval'")
    op.execute("ALTER TABLE batches DROP CONSTRAINT ck_batches_status_known")
    op.execute(
        "ALTER TABLE batches ADD CONSTRAINT ck_batches_status_known CHECK ("
        "status IN ('posted', 'partially_posted', 'refused', 'awaiting_approval', 'rejected', 'expired'))"
    )
    op.execute(
        "ALTER TABLE batches ADD CONSTRAINT ck_batches_waiting_expires "
        "CHECK (status <> 'awaiting_approval' OR expires_at IS NOT NULL)"
    )
    op.execute("ALTER TABLE batch_items DROP CONSTRAINT ck_batch_items_status_known")
    op.execute(
        "ALTER TABLE batch_items ADD CONSTRAINT ck_batch_items_status_known CHECK ("
        "status IN ('posted', 'refused', 'awaiting_approval', 'rejected', 'expired'))"
    )
    op.execute("DROP INDEX ix_batches_awaiting")
    op.execute("CREATE INDEX ix_batches_awaiting ON batches (expires_at) WHERE status = 'awaiting_approval'")


def downgrade():
    raise NotImplementedError("restore a backup instead")
