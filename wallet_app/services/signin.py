"""Operator sign-in rules: generic refusals (no account enumeration), per-account throttling,
and an audit row for every attempt."""
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import WalletError
from ..extensions import db
from ..models import AuditLog, User
from ..models.types import utcnow
from . import audit
from .atomic import atomic
from .audit import Actor
from .operators import hash_password, verify_password

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


@cache
def _dummy_hash() -> str:
    """What an unknown email is checked against, so it takes as long as a wrong password.
    Made on first use: argon2 takes 64 MB to hash, and at import every process (each
    gunicorn worker, each CLI command) peaked 64 MB higher for it."""
    return hash_password("timing-equaliser-not-a-password")


class SignInRefused(WalletError):
    code = "sign_in_refused"
    status = 401


class SignInThrottled(WalletError):
    code = "sign_in_throttled"
    status = 429


def sign_in(email: str, password: str, ip: str | None, session: Session | None = None) -> User:
    """The operator for these credentials, or SignInRefused with one message for every cause.

    Failures are counted per account from the audit log (shared by every worker), so an
    account locks for WINDOW after MAX_FAILURES wrong passwords, whoever tries.
    """
    s = session or db.session
    email = (email or "").strip().lower()[:320]
    failures = s.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "signin.failed", AuditLog.object_id == email,
        AuditLog.created_at > utcnow() - WINDOW))
    if failures >= MAX_FAILURES:
        _record(s, email, ip, "signin.throttled")
        raise SignInThrottled("Too many failed sign-ins for this account. Try again in 15 minutes.", field="password")
    user = s.scalars(select(User).where(User.email == email)).first()
    ok = verify_password(user.password_hash if user else _dummy_hash(), password or "")
    if not (user and ok and user.active):
        _record(s, email, ip, "signin.failed")
        raise SignInRefused("Email or password is incorrect.", field="password")

    def op(s: Session) -> User:
        user.last_login_at = utcnow()
        audit.record(s, Actor(f"user:{user.id}", user.email, ip), "signin", "user", user.email)
        return user

    return atomic(s, op)


def _record(s: Session, email: str, ip: str | None, action: str) -> None:
    atomic(s, lambda s: audit.record(s, Actor("anonymous", email or "-", ip), action, "user", email))
