"""Console sessions kept on the server

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 11:30:00

A signed cookie alone cannot be ended: a copy taken before sign-out kept working for
Flask's default 31 days. A session row can be ended at sign-out and checked for idleness
and age on every request.
"""

import sqlalchemy as sa
from alembic import op

from wallet_app.models.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_operator_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
    )
    op.create_index(op.f("ix_operator_sessions_user_id"), "operator_sessions", ["user_id"])


def downgrade():
    op.drop_table("operator_sessions")
