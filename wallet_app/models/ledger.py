"""The ledger: wallets, money movements, per-wallet history and idempotency keys."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    desc,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Money, UTCDateTime, utcnow

WALLET_STATUSES = ("active", "frozen", "closed")
TRANSACTION_STATUSES = ("posted", "pending", "awaiting_approval", "voided", "expired", "rejected")


def _status_known(statuses: tuple[str, ...]) -> CheckConstraint:
    """`status` is one of `statuses`, as one array constant: PostgreSQL reads a CHECK's stored
    expression at every write statement, and `IN (...)` on a varchar is stored three times as
    long (migration 0012)."""
    return CheckConstraint(f"status::text = ANY ('{{{','.join(statuses)}}}'::text[])", name="status_known")


def _created_at():
    return mapped_column(UTCDateTime(), default=utcnow, server_default=func.now(), nullable=False)


class Currency(db.Model):
    """A currency the ledger keeps, with its minor units: the engine rounds and checks by it."""

    __tablename__ = "currencies"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    minor_units: Mapped[int] = mapped_column(
        SmallInteger, CheckConstraint("minor_units BETWEEN 0 AND 4", name="minor_units_range")
    )


class Wallet(db.Model):
    """A customer wallet, or a system wallet (`system_purpose` set), one per purpose of the
    catalogue (ledger/catalogue.py, SYSTEM_WALLETS) and currency. Only an `unbounded` system
    wallet may go below its floor."""

    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint(
            "balance >= -overdraft_limit OR unbounded",
            name="balance_above_floor",
        ),
        CheckConstraint("NOT unbounded OR system_purpose IS NOT NULL", name="unbounded_is_system"),
        CheckConstraint("max_balance IS NULL OR balance <= max_balance", name="balance_below_max"),
        _status_known(WALLET_STATUSES),
        Index(
            "uq_wallets_system_purpose_currency",
            "system_purpose",
            "currency",
            "shard",
            unique=True,
            postgresql_where=text("system_purpose IS NOT NULL"),
        ),
        # The search's ILIKE '%text%' (migration 0003): GIN trigram indexes on PostgreSQL.
        *(
            Index(f"ix_wallets_{c}_trgm", c, postgresql_using="gin", postgresql_ops={c: "gin_trgm_ops"})
            for c in ("owner_name", "owner_email", "external_ref")
        ),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), index=True)
    system_purpose: Mapped[str | None] = mapped_column(String(20))
    # A system wallet is ledger_settings.system_shards rows per purpose and currency (migration 0014).
    shard: Mapped[int] = mapped_column(
        SmallInteger,
        CheckConstraint("shard = 0 OR (shard > 0 AND system_purpose IS NOT NULL)", name="shard"),
        default=0,
        server_default="0",
    )
    unbounded: Mapped[bool] = mapped_column(default=False, server_default=false())
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    # Limits the engine checks under the lock: the floor is -overdraft_limit.
    overdraft_limit: Mapped[Decimal] = mapped_column(
        Money,
        CheckConstraint("overdraft_limit >= 0", name="overdraft_limit_non_negative"),
        default=Decimal(0),
        server_default="0",
    )
    max_balance: Mapped[Decimal | None] = mapped_column(
        Money, CheckConstraint("max_balance >= 0", name="max_balance_non_negative")
    )
    daily_outflow_limit: Mapped[Decimal | None] = mapped_column(
        Money, CheckConstraint("daily_outflow_limit >= 0", name="daily_outflow_limit_non_negative")
    )
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_by: Mapped[str | None] = mapped_column(String(320))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What its unresolved holds reserve (expired ones too, until expire-holds marks them).
    held: Mapped[Decimal] = mapped_column(
        Money, CheckConstraint("held >= 0", name="held_non_negative"), default=Decimal(0), server_default="0"
    )
    # Alert lines on the available balance: a balance.alert event when it crosses one
    # (events_of_wallets.sql).
    alert_below: Mapped[Decimal | None] = mapped_column(Money)
    alert_above: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class Transaction(db.Model):
    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("reversed_amount >= 0 AND reversed_amount <= amount", name="reversed_within_amount"),
        CheckConstraint(
            "status = 'posted' OR (held_amount IS NOT NULL AND expires_at IS NOT NULL)", name="hold_complete"
        ),
        CheckConstraint(
            "(rate IS NULL) = (dest_currency IS NULL) AND (rate IS NULL) = (dest_amount IS NULL)",
            name="conversion_complete",
        ),
        Index("ix_transactions_created_at", "created_at"),
        Index(
            "ix_transactions_open_holds",
            "source_wallet_id",
            "expires_at",
            postgresql_where=text("status IN ('pending', 'awaiting_approval')"),
        ),
        Index(
            "ix_transactions_open_by_expiry",
            "expires_at",
            postgresql_where=text("status IN ('pending', 'awaiting_approval')"),
        ),
        Index("ix_transactions_batch", "batch_id", postgresql_where=text("batch_id IS NOT NULL")),
        # The header search: a transaction by the start of its reference (LIKE 'text%').
        Index(
            "ix_transactions_reference",
            "reference",
            postgresql_ops={"reference": "text_pattern_ops"},
            postgresql_where=text("reference IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    source_wallet_id: Mapped[int | None] = mapped_column(ForeignKey("wallets.id"), index=True)
    dest_wallet_id: Mapped[int | None] = mapped_column(ForeignKey("wallets.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created_at()
    fee: Mapped[Decimal] = mapped_column(
        Money, CheckConstraint("fee >= 0", name="fee_non_negative"), default=Decimal(0), server_default="0"
    )
    reverses_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"), index=True)
    reversed_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    fee_refunded: Mapped[bool] = mapped_column(default=False, server_default=false())
    reason: Mapped[str | None] = mapped_column(String(500))
    # A hold or an approval request (migration 0008): no legs until captured or approved.
    status: Mapped[str] = mapped_column(
        String(20),
        _status_known(TRANSACTION_STATUSES),
        default="posted",
        server_default="posted",
    )
    held_amount: Mapped[Decimal | None] = mapped_column(
        Money, CheckConstraint("held_amount >= 0", name="held_amount_non_negative")
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    maker_scope: Mapped[str | None] = mapped_column(String(100))  # the maker's owner: user:N, integration:N
    maker_issuer: Mapped[str | None] = mapped_column(String(100))  # who issued the maker's token: user:N
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolve_reason: Mapped[str | None] = mapped_column(String(500))
    # Asked for as a hold: approved above the threshold, it becomes that hold (pending).
    hold_requested: Mapped[bool] = mapped_column(default=False, server_default=false())
    # An exchange: destination units per source unit, and what the destination received.
    rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 12), CheckConstraint("rate > 0", name="rate_positive"))
    dest_amount: Mapped[Decimal | None] = mapped_column(
        Money, CheckConstraint("dest_amount > 0", name="dest_amount_positive")
    )
    dest_currency: Mapped[str | None] = mapped_column(ForeignKey("currencies.code"))
    # The fx_rates version (fx_rate_history.id) an exchange was priced at: reconcile checks it.
    rate_version: Mapped[int | None] = mapped_column(ForeignKey("fx_rate_history.id"))
    # A second person approved it: it no longer counts toward its wallet's unapproved day.
    approved_by: Mapped[str | None] = mapped_column(String(320))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The batch that posted it (migration 0013).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))


BATCH_MODES = ("atomic", "independent")
BATCH_STATUSES = ("posted", "partially_posted", "refused", "awaiting_approval", "rejected", "expired")
BATCH_ITEM_STATUSES = ("posted", "refused", "awaiting_approval", "rejected", "expired")


class Batch(db.Model):
    """Many movements asked in one request and posted by one engine call (ledger_batch.sql),
    claimed by its idempotency key as a movement is."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_batches_scope_key"),
        CheckConstraint("mode IN ('atomic', 'independent')", name="mode_known"),
        CheckConstraint(
            "status IN ('posted', 'partially_posted', 'refused', 'awaiting_approval', 'rejected', 'expired')",
            name="status_known",
        ),
        CheckConstraint("status <> 'awaiting_approval' OR expires_at IS NOT NULL", name="waiting_expires"),
        CheckConstraint("item_count BETWEEN 1 AND 1000", name="item_count"),
        Index("ix_batches_awaiting", "expires_at", postgresql_where=text("status = 'awaiting_approval'")),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20))
    item_count: Mapped[int]
    response_status: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(320))
    maker_scope: Mapped[str] = mapped_column(String(100))
    maker_issuer: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_reason: Mapped[str | None] = mapped_column(String(500))
    # A waiting batch's end: past it, it can no longer be approved (expire-holds marks it).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BatchItem(db.Model):
    """One movement of a batch, as asked, and what became of it."""

    __tablename__ = "batch_items"
    __table_args__ = (
        CheckConstraint("index >= 0", name="index"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('posted', 'refused', 'awaiting_approval', 'rejected', 'expired')",
            name="status_known",
        ),
        CheckConstraint(
            "(status = 'posted') = (transaction_id IS NOT NULL) AND (status = 'refused') = (error_code IS NOT NULL)",
            name="outcome",
        ),
    )

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    index: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)
    # As asked, no foreign key: a refused item may name a wallet that does not exist.
    source_wallet_id: Mapped[int | None] = mapped_column(BigId)
    dest_wallet_id: Mapped[int | None] = mapped_column(BigId)
    reference: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_detail: Mapped[str | None] = mapped_column(Text)


class FeeSchedule(db.Model):
    """What a kind of movement costs in a currency: fixed + bps of the amount, clamped to
    [minimum, maximum], rounded up to minor units (the engine computes it)."""

    __tablename__ = "fee_schedule"
    __table_args__ = (
        CheckConstraint("minimum IS NULL OR maximum IS NULL OR minimum <= maximum", name="minimum_below_maximum"),
    )

    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    fixed: Mapped[Decimal] = mapped_column(
        Money, CheckConstraint("fixed >= 0", name="fixed_non_negative"), default=Decimal(0), server_default="0"
    )
    bps: Mapped[int] = mapped_column(
        CheckConstraint("bps BETWEEN 0 AND 10000", name="bps_range"), default=0, server_default="0"
    )
    minimum: Mapped[Decimal | None] = mapped_column(Money, CheckConstraint("minimum >= 0", name="minimum_non_negative"))
    maximum: Mapped[Decimal | None] = mapped_column(Money, CheckConstraint("maximum >= 0", name="maximum_non_negative"))
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = _created_at()


class WalletHistory(db.Model):
    __tablename__ = "wallet_history"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        Index("ix_wallet_history_wallet_id_id", "wallet_id", desc("id")),
        # A balance as of a moment: the last leg at or before it, one read (migration 0017).
        Index("ix_wallet_history_wallet_id_created_at", "wallet_id", "created_at", "id"),
        Index("ix_wallet_history_transaction_id", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = _created_at()

    @classmethod
    def newest_first(cls, wallet_id: int) -> tuple[tuple, tuple]:
        """(where, order_by) for one wallet's entries, newest first, that PostgreSQL serves
        from the (wallet_id, id DESC) index. With `wallet_id = x ORDER BY id DESC` the planner
        may walk the primary key backwards instead, filtering: for a wallet holding half the
        table (a treasury) it first skips everybody else's newer entries (56 ms instead of
        0.04 ms after 250,000 of them). A range on wallet_id keeps wallet_id in the order,
        which only that index provides."""
        return (cls.wallet_id >= wallet_id, cls.wallet_id <= wallet_id), (cls.wallet_id, cls.id.desc())


class ApprovalThreshold(db.Model):
    """Above this amount (a wallet's unapproved movements of the last day, this one included),
    a movement in this currency waits for a second person (four eyes), whoever asks."""

    __tablename__ = "approval_thresholds"

    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money, CheckConstraint("amount >= 0", name="amount_non_negative"))
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = _created_at()


class FxRate(db.Model):
    """Units of `quote` per unit of `base`, with the spread charged as a fee in `base`."""

    __tablename__ = "fx_rates"
    __table_args__ = (CheckConstraint("base <> quote", name="two_currencies"),)

    base: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    quote: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12), CheckConstraint("rate > 0", name="rate_positive"))
    spread_bps: Mapped[int] = mapped_column(
        CheckConstraint("spread_bps BETWEEN 0 AND 10000", name="spread_range"), default=0, server_default="0"
    )
    # How far a caller's expected rate may be from this one (else `rate_mismatch`).
    tolerance_bps: Mapped[int] = mapped_column(
        CheckConstraint("tolerance_bps BETWEEN 0 AND 10000", name="tolerance_range"), default=0, server_default="0"
    )
    version: Mapped[int | None] = mapped_column(BigId)  # its fx_rate_history row (set by a trigger)
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = _created_at()


class WalletFlow(db.Model):
    """Four eyes' count: a wallet's movements that no second person approved, per hour, out
    (what it pays) or in (money from outside). Written by ledger_post() alone."""

    __tablename__ = "wallet_flows"

    wallet_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # no foreign key: see migration 0010
    inflow: Mapped[bool] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)


class FxRateHistory(db.Model):
    """Every rate finance ever set (appended by a trigger on fx_rates): what reconcile checks
    each exchange's rate against."""

    __tablename__ = "fx_rate_history"
    __table_args__ = (Index("ix_fx_rate_history_base_quote_id", "base", "quote", "id"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    spread_bps: Mapped[int]
    tolerance_bps: Mapped[int]
    set_by: Mapped[str | None] = mapped_column(String(320))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The most rows a system wallet may be split into: a writer queues on a system row about
# (concurrent writers - 1) / shards of the time (docs/DESIGN.md, "No hot row").
MAX_SYSTEM_SHARDS = 1024


class LedgerSettings(db.Model):
    """The ledger's one row of policy settings (admins): the approval threshold of a currency
    without its own, and how far reconcile lets the fx desk's position drift."""

    __tablename__ = "ledger_settings"

    id: Mapped[bool] = mapped_column(
        CheckConstraint("id", name="one_row"), primary_key=True, server_default=text("true")
    )
    default_approval_threshold: Mapped[Decimal] = mapped_column(
        Money, CheckConstraint("default_approval_threshold >= 0", name="default_threshold"), server_default="10000"
    )
    fx_position_tolerance_bps: Mapped[int] = mapped_column(
        CheckConstraint("fx_position_tolerance_bps BETWEEN 0 AND 2000", name="fx_tolerance"), server_default="500"
    )
    # How many rows each system wallet is split into (migrations 0014, 0019): no hot system row.
    system_shards: Mapped[int] = mapped_column(
        SmallInteger,
        CheckConstraint(f"system_shards BETWEEN 1 AND {MAX_SYSTEM_SHARDS}", name="system_shards"),
        server_default="1",
    )
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = _created_at()


class IdempotencyKey(db.Model):
    """One row per (principal, key): the first result of an operation, replayed on retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Deferred: the engine's claim names its transaction before that row is written.
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", deferrable=True, initially="DEFERRED"), index=True
    )
    response_status: Mapped[int | None]
    created_at: Mapped[datetime] = _created_at()
    # post, or what the key resolved of a hold: capture, void, approve, reject, expire.
    operation: Mapped[str] = mapped_column(String(10), default="post", server_default="post")


class LedgerSeal(db.Model):
    """A link of the seal chain (migration 0017, ledger/sql/ledger_seal.sql): one transaction's
    legs with ids in (legs_after, legs_upto], hashed with the previous link's hash. No foreign
    key: a deleted row must be found by verify-chain, not made impossible to delete."""

    __tablename__ = "ledger_seals"
    __table_args__ = (CheckConstraint("legs_after < legs_upto AND leg_count > 0", name="range"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transaction_id: Mapped[int] = mapped_column(BigInteger, index=True)
    legs_after: Mapped[int] = mapped_column(BigInteger)
    legs_upto: Mapped[int] = mapped_column(BigInteger)
    leg_count: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class LedgerSealState(db.Model):
    """The sealer's place, one row: legs up to `sealed_upto` are sealed; `next_upto` (the leg
    id sequence as last read) is sealed once every transaction in `next_snapshot` has ended."""

    __tablename__ = "ledger_seal_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="1", autoincrement=False)
    sealed_upto: Mapped[int] = mapped_column(BigInteger, server_default="0")
    next_upto: Mapped[int | None] = mapped_column(BigInteger)
    next_snapshot: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
