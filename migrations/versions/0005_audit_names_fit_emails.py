"""Audit and transaction names fit any operator email (320 characters)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:20:00

Operator emails may be 320 characters long, but the audit log kept the actor in 200 and
the object (an email, for sign-ins and operator changes) in 64, and a transaction its
maker in 200: a long email made sign-in and operator creation fail with a 500, and a
failed sign-in went unaudited and uncounted.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE audit_log ALTER COLUMN actor TYPE varchar(320), ALTER COLUMN object_id TYPE varchar(320)")
    op.execute("ALTER TABLE transactions ALTER COLUMN created_by TYPE varchar(320)")


def downgrade():
    op.execute("ALTER TABLE transactions ALTER COLUMN created_by TYPE varchar(200)")
    op.execute("ALTER TABLE audit_log ALTER COLUMN actor TYPE varchar(200), ALTER COLUMN object_id TYPE varchar(64)")
