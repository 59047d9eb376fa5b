"""Operators (console users): creation and password hashing with argon2."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import ROLES, User
from . import audit, validate
from .atomic import atomic
from .audit import Actor

_hasher = PasswordHasher()
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_operator(
    email: str, password: str, role: str, *, actor: Actor, session: Session | None = None, must_change: bool = False
) -> User:
    """A new operator. `must_change`: someone else chose the password (an admin in the console),
    so the operator's first page is the password change; the command line's is the person's own."""
    s = session or db.session
    email = validate.email(email, "email", required=True)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Passwords have at least {MIN_PASSWORD} characters.", field="password")
    if s.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise InvalidInput("An operator with this email already exists.", field="email")
    user = User(email=email, password_hash=hash_password(password), role=role, must_change_password=must_change)

    def op(s: Session) -> User:
        s.add(user)
        s.flush()
        audit.record(s, actor, "operator.create", "user", email, role=role)
        return user

    return atomic(s, op)


def list_operators(session: Session | None = None) -> list[User]:
    return list((session or db.session).scalars(select(User).order_by(User.email)))


def update_operator(
    user_id, *, actor: Actor, role: str | None = None, active: bool | None = None, session: Session | None = None
) -> User:
    """Change an operator's role or deactivate them. Either bumps session_version, so their
    open sessions end at once (auth/loader.py) and the new rights apply immediately."""
    user_id = validate.wallet_id(user_id, "user_id")
    if role is not None and role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.", field="role")

    if actor.scope == f"user:{user_id}" and (active is False or (role and role != "admin")):
        raise InvalidInput("You cannot lock yourself out.", field="user_id")

    def op(s: Session) -> User:
        user = _locked(s, user_id)
        before = {"role": user.role, "active": user.active}
        if role is not None:
            user.role = role
        if active is not None:
            user.active = active
        user.session_version += 1
        audit.record(
            s,
            actor,
            "operator.update",
            "user",
            user.email,
            before=before,
            after={"role": user.role, "active": user.active},
        )
        s.flush()
        return user

    return atomic(session or db.session, op)


def change_password(
    user_id: int, current: str, new: str, confirm: str, *, actor: Actor, session: Session | None = None
) -> User:
    """An operator changes their own password: the current one first. Every other session
    of theirs ends (session_version); the caller signs this one in again."""

    def op(s: Session) -> User:
        user = _locked(s, user_id)
        if not verify_password(user.password_hash, current or ""):
            raise InvalidInput("This is not your current password.", field="current_password")
        if new == current:
            raise InvalidInput("Choose a password other than the current one.", field="new_password")
        _set_password(user, new, confirm, field="new_password")
        user.must_change_password = False
        audit.record(s, actor, "operator.password", "user", user.email)
        s.flush()
        return user

    return atomic(session or db.session, op)


def reset_password(user_id, temporary: str, *, actor: Actor, session: Session | None = None) -> User:
    """An admin sets another operator's password: a temporary one, changed by them at their
    next sign-in before anything else; their open sessions end at once."""
    user_id = validate.wallet_id(user_id, "user_id")
    if actor.scope == f"user:{user_id}":
        raise InvalidInput("Change your own password from your account page.", field="password")

    def op(s: Session) -> User:
        user = _locked(s, user_id)
        _set_password(user, temporary, temporary, field="password")
        user.must_change_password = True
        audit.record(s, actor, "operator.password_reset", "user", user.email)
        s.flush()
        return user

    return atomic(session or db.session, op)


def set_password(email: str, password: str, *, actor: Actor, session: Session | None = None) -> User:
    """`flask reset-password EMAIL`: whoever runs it on the server chooses the password (the
    way back in for a locked-out first admin); it is not forced to change again."""
    email = validate.email(email, "email", required=True)

    def op(s: Session) -> User:
        user = s.scalars(select(User).where(User.email == email).with_for_update()).first()
        if user is None:
            raise NotFound(f"No operator {email}.", field="email")
        _set_password(user, password, password, field="password")
        user.must_change_password = False
        audit.record(s, actor, "operator.password_reset", "user", user.email)
        s.flush()
        return user

    return atomic(session or db.session, op)


def _set_password(user: User, password: str, confirm: str, *, field: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Passwords have at least {MIN_PASSWORD} characters.", field=field)
    if password != confirm:
        raise InvalidInput("The two passwords differ.", field="confirm_password")
    user.password_hash = hash_password(password)
    user.session_version += 1  # every open session of theirs ends (auth/loader.py)


def _locked(s: Session, user_id: int) -> User:
    """The operator's row, locked for this transaction's change."""
    user = s.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such operator.", field="user_id")
    return user
