"""Operators (console users): creation and password hashing with argon2."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
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


def create_operator(email: str, password: str, role: str, *, actor: Actor,
                    session: Session | None = None) -> User:
    s = session or db.session
    email = validate.email(email, "email", required=True)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Passwords have at least {MIN_PASSWORD} characters.", field="password")
    if s.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise InvalidInput("An operator with this email already exists.", field="email")
    user = User(email=email, password_hash=hash_password(password), role=role)

    def op(s: Session) -> User:
        s.add(user)
        s.flush()
        audit.record(s, actor, "operator.create", "user", user.id, email=email, role=role)
        return user

    return atomic(s, op)
