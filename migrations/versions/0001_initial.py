"""ledger, operators, tokens, audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-24 03:40:55.408520

"""

import sqlalchemy as sa
from alembic import op

from wallet_app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("object_type", sa.String(length=30), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index("ix_audit_log_created_at", ["created_at"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("session_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_login_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'support', 'finance', 'admin')", name=op.f("ck_users_role_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "wallets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.Numeric(precision=20, scale=4), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name=op.f("ck_wallets_status_known")),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_wallets_balance_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
    )
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wallets_currency"), ["currency"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallets_external_ref"), ["external_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_wallets_owner_email"), ["owner_email"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=50), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_api_tokens_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source_wallet_id", sa.BigInteger(), nullable=True),
        sa.Column("dest_wallet_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('fund', 'transfer', 'reversal', 'withdrawal', 'fee')", name=op.f("ck_transactions_kind_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transactions_amount_positive")),
        sa.ForeignKeyConstraint(
            ["dest_wallet_id"], ["wallets.id"], name=op.f("fk_transactions_dest_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["source_wallet_id"], ["wallets.id"], name=op.f("fk_transactions_source_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_transactions_dest_wallet_id"), ["dest_wallet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transactions_source_wallet_id"), ["source_wallet_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_idempotency_keys_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_transaction_id"), ["transaction_id"], unique=False)

    op.create_table(
        "wallet_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("wallet_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("balance_after", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_wallet_history_amount_non_zero")),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_wallet_history_balance_after_non_negative")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_wallet_history_transaction_id_transactions")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_wallet_history_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_history")),
    )
    with op.batch_alter_table("wallet_history", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_history_transaction_id", ["transaction_id"], unique=False)
        batch_op.create_index("ix_wallet_history_wallet_id_id", ["wallet_id", sa.desc("id")], unique=False)


def downgrade():
    with op.batch_alter_table("wallet_history", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_history_wallet_id_id")
        batch_op.drop_index("ix_wallet_history_transaction_id")

    op.drop_table("wallet_history")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_transaction_id"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_source_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_transactions_dest_wallet_id"))
        batch_op.drop_index("ix_transactions_created_at")

    op.drop_table("transactions")
    op.drop_table("api_tokens")
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallets_owner_email"))
        batch_op.drop_index(batch_op.f("ix_wallets_external_ref"))
        batch_op.drop_index(batch_op.f("ix_wallets_currency"))

    op.drop_table("wallets")
    op.drop_table("users")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_created_at")
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
