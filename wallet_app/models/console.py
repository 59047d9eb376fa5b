"""What the console keeps beside the ledger: notes on wallets and past reconcile runs."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Identity, Index, String, desc, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, UTCDateTime, utcnow


class WalletNote(db.Model):
    """A note on a wallet: append-only (a trigger of migration 0009 refuses UPDATE and DELETE)."""

    __tablename__ = "wallet_notes"
    __table_args__ = (
        CheckConstraint("btrim(body) <> ''", name="body_not_blank"),
        Index("ix_wallet_notes_wallet_id_id", "wallet_id", desc("id")),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    body: Mapped[str] = mapped_column(String(2000))
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class ReconcileRun(db.Model):
    """One reconcile run: who ran it, when, how long it took, and each check's figures."""

    __tablename__ = "reconcile_runs"
    __table_args__ = (CheckConstraint("duration_ms >= 0", name="duration"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    duration_ms: Mapped[int]
    ok: Mapped[bool]
    run_by: Mapped[str] = mapped_column(String(320))
    figures: Mapped[dict] = mapped_column(JSON)
