"""Idempotency keys: claim a key inside the operation's transaction, store and replay results."""
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InvalidInput
from ..models import IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """A key this transaction now owns (`id`), or the stored first result to replay."""

    id: int | None = None
    replay: dict | None = None


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


def claim_idempotency_key(session: Session, scope: str, key: str, fp: str) -> Claim:
    """Insert the key row first (DESIGN.md section 4, step 1).

    A concurrent twin blocks on the unique index until the first transaction ends; it
    then finds the stored response (replay) or, if the first rolled back, owns the key.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(IdempotencyKey)
        .values(scope=scope, key=key, fingerprint=fp)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyKey.id)
    )
    try:
        new_id = session.execute(stmt).scalar()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_timeout while the twin runs
            raise IdempotencyKeyInFlight(
                "A request with this idempotency key is still in progress.", field="idempotency_key"
            ) from None
        raise
    if new_id is not None:
        return Claim(id=new_id)
    row = session.execute(
        select(IdempotencyKey.fingerprint, IdempotencyKey.response_body)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    ).one()
    if row.fingerprint != fp:
        raise IdempotencyKeyReused(
            "This idempotency key was already used for a different request.", field="idempotency_key"
        )
    if row.response_body is None:
        raise IdempotencyKeyInFlight(
            "A request with this idempotency key is still in progress.", field="idempotency_key"
        )
    return Claim(replay=json.loads(row.response_body))


def store_response(session: Session, claim: Claim, transaction_id: int, status: int, body: dict) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.id)
        .values(transaction_id=transaction_id, response_status=status, response_body=json.dumps(body))
    )
