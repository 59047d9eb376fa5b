"""Bank statements and what they matched in the ledger (migration 0018; docs/DESIGN.md,
"Bank statements")."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Identity, Index, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, Money, UTCDateTime, utcnow

DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY")
MATCH_RULES = ("reference", "amount_date", "manual", "adjustment")


def _known(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column}::text = ANY ('{{{','.join(values)}}}'::text[])", name=name)


class BankLayout(db.Model):
    """A statement's column layout saved by name: which header holds each of our fields."""

    __tablename__ = "bank_layouts"
    __table_args__ = (
        UniqueConstraint("name", name="uq_bank_layouts_name"),
        _known("date_format", DATE_FORMATS, "date_format_known"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_column: Mapped[str | None] = mapped_column(String(100))
    date_column: Mapped[str] = mapped_column(String(100))
    amount_column: Mapped[str] = mapped_column(String(100))
    reference_column: Mapped[str | None] = mapped_column(String(100))
    description_column: Mapped[str | None] = mapped_column(String(100))
    date_format: Mapped[str] = mapped_column(String(10), server_default="YYYY-MM-DD")
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class BankReconciliation(db.Model):
    """One statement upload: its currency, the matching's tolerance and window, and counts."""

    __tablename__ = "bank_reconciliations"
    __table_args__ = (
        CheckConstraint(
            "line_count = imported + duplicates AND imported >= 0 "
            "AND duplicates >= 0 AND matched BETWEEN 0 AND imported",
            name="counts",
        ),
        CheckConstraint("first_day <= last_day", name="days"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    tolerance: Mapped[Decimal] = mapped_column(
        Money, CheckConstraint("tolerance >= 0", name="tolerance_non_negative"), server_default="0"
    )
    window_days: Mapped[int] = mapped_column(
        SmallInteger, CheckConstraint("window_days BETWEEN 0 AND 31", name="window_range"), server_default="2"
    )
    layout: Mapped[str | None] = mapped_column(String(100))
    line_count: Mapped[int]
    imported: Mapped[int]
    duplicates: Mapped[int]
    matched: Mapped[int]  # at upload; the pages count again (links and adjustments since)
    first_day: Mapped[date]
    last_day: Mapped[date]
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class BankLine(db.Model):
    """A statement line: signed amount (+ money in, − money out), kept once per currency."""

    __tablename__ = "bank_lines"
    __table_args__ = (
        Index("ix_bank_lines_reconciliation_id", "reconciliation_id", "line_no"),
        Index(
            "uq_bank_lines_bank_id",
            "currency",
            "bank_id",
            unique=True,
            postgresql_where=text("bank_id IS NOT NULL"),
        ),
        Index(
            "uq_bank_lines_day_amount_reference",
            "currency",
            "value_date",
            "amount",
            "reference",
            unique=True,
            postgresql_where=text("bank_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("bank_reconciliations.id"))
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    line_no: Mapped[int] = mapped_column(CheckConstraint("line_no >= 2", name="line_no_after_header"))
    bank_id: Mapped[str | None] = mapped_column(String(100))
    value_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money, CheckConstraint("amount <> 0", name="amount_not_zero"))
    reference: Mapped[str] = mapped_column(String(500), server_default="")  # '' when the bank gave none
    description: Mapped[str] = mapped_column(String(1000), server_default="")


class BankMatch(db.Model):
    """A line matched to a ledger movement (a movement matches at most one line), by a rule,
    by hand, or by the adjustment asked to clear it (counted once posted)."""

    __tablename__ = "bank_matches"
    __table_args__ = (
        UniqueConstraint("transaction_id", name="uq_bank_matches_transaction_id"),
        _known("rule", MATCH_RULES, "rule_known"),
        Index("ix_bank_matches_line_id", "line_id"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_lines.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    rule: Mapped[str] = mapped_column(String(12))
    matched_by: Mapped[str] = mapped_column(String(320))
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
