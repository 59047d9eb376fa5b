"""Operator sign-in and sign-out: one refusal for every cause (no account enumeration),
failure limits an attacker cannot turn against the user, and sessions kept on the server."""

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import WalletError
from ..extensions import db
from ..models import AuditLog, OperatorSession, User
from ..models.types import utcnow
from . import audit
from .atomic import atomic
from .audit import Actor
from .operators import hash_password, verify_password

WINDOW = timedelta(minutes=15)
PAIR_FAILURES = 5  # per account and address: that address waits out the window
ACCOUNT_FAILURES = 50  # per account, from every address: then each attempt waits a growing delay
MAX_DELAY = 60  # seconds: the longest anyone (the real user too) waits for an account under attack
TOUCH = timedelta(minutes=1)  # how often a session's last_seen_at is written


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


def sign_in(email: str, password: str, ip: str | None, session: Session | None = None) -> tuple[User, str]:
    """(operator, session token) for these credentials, or SignInRefused with one message.

    Failures are counted from the audit log (shared by every worker). Five from one address
    for one account stop that address for that account for WINDOW; an account failing
    from many addresses makes every attempt wait a delay that grows to MAX_DELAY, never a
    lock-out: the user signing in from elsewhere gets in within a minute whatever an
    attacker does.
    """
    s = session or db.session
    email = (email or "").strip().lower()[:320]
    _check_failures(s, email, ip)
    user = s.scalars(select(User).where(User.email == email)).first()
    ok = verify_password(user.password_hash if user else _dummy_hash(), password or "")
    if not (user and ok and user.active):
        _record(s, email, ip, "signin.failed")
        raise SignInRefused("Email or password is incorrect.", field="password")

    def op(s: Session) -> str:
        user.last_login_at = utcnow()
        audit.record(s, Actor(f"user:{user.id}", user.email, ip), "signin", "user", user.email)
        return _open(s, user.id, ip)

    return user, atomic(s, op)


def open_session(user_id: int, ip: str | None) -> str:
    """A new server-side session for an operator who has proved who they are; its token."""
    return atomic(db.session, lambda s: _open(s, user_id, ip))


def _open(s: Session, user_id: int, ip: str | None) -> str:
    token = secrets.token_urlsafe(32)
    s.add(OperatorSession(id=_hash(token), user_id=user_id, ip=ip))
    s.flush()
    return token


def _check_failures(s: Session, email: str, ip: str | None) -> None:
    log = AuditLog
    pair, total, last = s.execute(
        select(func.count().filter(log.ip == ip), func.count(), func.max(log.created_at)).where(
            log.action == "signin.failed", log.object_id == email, log.created_at > utcnow() - WINDOW
        )
    ).one()
    if pair >= PAIR_FAILURES:
        _record(s, email, ip, "signin.throttled")
        raise SignInThrottled("Too many failed sign-ins from your address. Try again in 15 minutes.", field="password")
    if total >= ACCOUNT_FAILURES:
        delay = timedelta(seconds=min(2 ** ((total - ACCOUNT_FAILURES) // 5), MAX_DELAY))
        wait = last + delay - utcnow()
        if wait > timedelta(0):
            _record(s, email, ip, "signin.throttled")
            raise SignInThrottled(
                f"This account is receiving many failed sign-ins. Try again in "
                f"{int(wait.total_seconds()) + 1} seconds.",
                field="password",
            )


def session_alive(token: str | None, user_id: int, now: datetime | None = None) -> bool:
    """Whether the console session `token` of `user_id` is still open: not signed out, used
    within the idle timeout and younger than the absolute lifetime. Marks it used."""
    if not token:
        return False
    config, now = current_app.config, now or utcnow()
    row = db.session.get(OperatorSession, _hash(token))
    if (
        row is None
        or row.user_id != user_id
        or row.ended_at is not None
        or now - row.last_seen_at > timedelta(seconds=config["SESSION_IDLE_SECONDS"])
        or now - row.created_at > timedelta(seconds=config["SESSION_MAX_SECONDS"])
    ):
        return False
    if now - row.last_seen_at > TOUCH:
        atomic(
            db.session,
            lambda s: s.execute(update(OperatorSession).where(OperatorSession.id == row.id).values(last_seen_at=now)),
        )
    return True


def sign_out(token: str | None, actor: Actor) -> None:
    """End the session on the server: a copy of its cookie no longer opens anything."""

    def op(s: Session) -> None:
        if token:
            s.execute(
                update(OperatorSession)
                .where(OperatorSession.id == _hash(token), OperatorSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
        audit.record(s, actor, "signout", "user", actor.name)

    atomic(db.session, op)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(s: Session, email: str, ip: str | None, action: str) -> None:
    atomic(s, lambda s: audit.record(s, Actor("anonymous", email or "-", ip), action, "user", email))
