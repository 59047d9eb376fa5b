"""wallet_fail(): lets the single-statement transfer abort itself with a domain error code

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 04:00:00

The transfer statement (services/ledger_sql.py) calls it when a check
fails, so the whole statement, idempotency claim included, rolls back at once.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE FUNCTION wallet_fail(code text, detail text) RETURNS boolean
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'WA001', MESSAGE = code, DETAIL = detail;
        END $$
    """)


def downgrade():
    op.execute("DROP FUNCTION wallet_fail(text, text)")
