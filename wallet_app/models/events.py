"""Events out: the outbox every change writes (migration 0016), and the webhook endpoints,
deliveries and attempts that carry it to integrations."""

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, UTCDateTime


def public_id(event_id: int) -> str:
    """An event's id as the feed and webhooks show it (`webhook-id`)."""
    return f"evt_{event_id}"


class Event(db.Model):
    """A change, written in its own transaction by the engine's triggers; `seq` (its place in the
    feed) and `data` (the object as the API answers it) come after its commit, from the
    sequencer (wallet_app/events)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("uq_events_seq", "seq", unique=True, postgresql_where=text("seq IS NOT NULL")),
        Index("ix_events_unsequenced", "id", postgresql_where=text("seq IS NULL")),
        Index("ix_events_balance_alerts", "object_id", "id", postgresql_where=text("type = 'balance.alert'")),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(BigInteger)
    wallet_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    data: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    sequenced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEndpoint(db.Model):
    """Where events are sent, signed with `secret` (and `previous_secret` until
    `previous_secret_until`, after a rotation)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(db.Model):
    """One event owed to one endpoint: pending until a 2xx answer (delivered) or until its
    retries run out (failed). `lease_until`: a worker is attempting it until then."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_webhook_deliveries_pending", "endpoint_id", "seq", postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(server_default="0")
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its retries' window starts
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(db.Model):
    """One try of a delivery: the answer's code and first bytes, or what went wrong."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=text("now()"))
    code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    body_head: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int]
