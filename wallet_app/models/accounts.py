"""Who acts on the ledger: operators, API tokens, and the audit log of what they did."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Identity, Index, String, desc, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import BigId, UTCDateTime, utcnow

ROLES = ("viewer", "support", "finance", "approver", "admin")


class User(UserMixin, db.Model):
    """An operator. `email` is stored lower-cased, so the unique index is case-insensitive."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role_known"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bumped on deactivation and password change: old sessions stop matching at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set by an admin's reset: the operator picks a new password before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class OperatorSession(db.Model):
    """A signed-in console session, kept on the server so that sign-out, an idle timeout or
    the absolute lifetime ends it even for a copy of the cookie. The cookie holds a random
    token; only its sha256 is kept here."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Integration(db.Model):
    """A partner system that owns API tokens: its tokens count as one person for four eyes."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class ApiToken(db.Model):
    """A bearer token; only the sha256 of the secret is kept. Its owner, an operator or an
    integration, is the person four eyes compare (two tokens of one owner are one person)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("num_nonnulls(owner_user_id, integration_id) = 1", name="one_owner"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(50))  # comma-separated: read,write
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id"), index=True)
    owner_user: Mapped["User | None"] = relationship(foreign_keys=[owner_user_id])
    integration: Mapped["Integration | None"] = relationship()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLog(db.Model):
    """Who did what to which object, when and from where."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created_at", "created_at"),
        # A wallet page's activity: the entries of one object, newest first.
        Index("ix_audit_log_object", "object_type", "object_id", desc("id")),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
