"""Idempotency keys: claim a key inside the operation's transaction, store and replay results."""
import hashlib
import json

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InvalidInput
from ..models import IdempotencyKey

MAX_KEY_LENGTH = 255


def check_key(key: object, field: str = "idempotency_key") -> str:
    """Keys are 1-255 printable ASCII characters (a UUID is the usual choice)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("An idempotency key is required.", field=field)
    if len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise InvalidInput(
            f"The idempotency key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.", field=field
        )
    return key


def fingerprint(operation: str, **params) -> str:
    """sha256 of the operation and its canonical parameters."""
    canonical = json.dumps({"op": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_idempotency_key(session: Session, scope: str, key: str, fp: str) -> int | None:
    """Insert the key row first (DESIGN.md section 4, step 1); return its id, or None if the
    key already exists (then call `replayed_transaction`).

    A concurrent twin blocks on the unique index until the first transaction ends; it then
    finds the first result or, if the first rolled back, owns the key.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(IdempotencyKey)
        .values(scope=scope, key=key, fingerprint=fp)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyKey.id)
    )
    try:
        return session.execute(stmt).scalar()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_timeout while the twin runs
            raise _in_flight() from None
        raise


def replayed_transaction(session: Session, scope: str, key: str, fp: str) -> int:
    """The transaction the key's first request made; refuse a key reused for other parameters.

    The stored response is the transaction itself (immutable once written), so a replay
    rebuilds exactly the first result from it.
    """
    row = session.execute(
        select(IdempotencyKey.fingerprint, IdempotencyKey.transaction_id)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    ).one_or_none()
    if row is None or row.transaction_id is None:
        raise _in_flight()
    if row.fingerprint != fp:
        raise IdempotencyKeyReused(
            "This idempotency key was already used for a different request.", field="idempotency_key"
        )
    return row.transaction_id


def store_response(session: Session, claim_id: int, transaction_id: int, status: int = 201) -> None:
    session.execute(
        update(IdempotencyKey).where(IdempotencyKey.id == claim_id)
        .values(transaction_id=transaction_id, response_status=status)
    )


def _in_flight() -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(
        "A request with this idempotency key is still in progress.", field="idempotency_key")
