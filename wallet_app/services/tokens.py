"""API bearer tokens: created once (the secret is shown once), stored only as a sha256."""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import ApiToken, Integration, User
from ..models.types import utcnow
from . import audit, validate
from .atomic import atomic, execute_one, single_statements
from .audit import Actor
from .serialize import iso

SCOPES = ("read", "write", "manage", "approve")  # manage: limits and status of wallets; approve: four eyes
PREFIX = "wlt_"
LAST_USED_GRANULARITY = timedelta(minutes=1)  # one write a minute per token, not per request


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(value) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    scopes = sorted({s.strip() for s in items if s.strip()})
    if not scopes or any(s not in SCOPES for s in scopes):
        raise InvalidInput(f"Scopes are any of {', '.join(SCOPES)}.", field="scopes")
    return scopes


def create_token(
    name, scopes, *, actor: Actor, owner=None, created_by_id: int | None = None, session: Session | None = None
) -> tuple[dict, str]:
    """Return (token description, secret). The secret is not stored and cannot be shown again.

    `owner` names who the token acts for: an operator (by email) or an integration (by
    name); without it, a new integration called `name`. Four eyes compare owners, so a
    second token of one owner is never a second person."""
    name = validate.text(name, "name", 100, required=True)
    scopes = parse_scopes(scopes)
    owner = validate.text(owner, "owner", 320)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_hash(secret), scopes=",".join(scopes), created_by_id=created_by_id)

    def op(s: Session) -> dict:
        _set_owner(s, token, owner, actor)
        s.add(token)
        s.flush()
        audit.record(
            s, actor, "token.create", "api_token", token.id, name=name, scopes=scopes, owner=token_dict(token)["owner"]
        )
        return token_dict(token)

    return atomic(session or db.session, op), secret


def _set_owner(s: Session, token: ApiToken, owner: str | None, actor: Actor) -> None:
    if owner is None:
        integration = Integration(name=token.name, created_by=actor.name)
        try:
            with s.begin_nested():  # the unique name decides, a twin's at the same moment included
                s.add(integration)
                s.flush()
        except IntegrityError:
            raise InvalidInput(
                f"An integration called {token.name} already exists: name it as the owner to give "
                "it another token, or choose another name.",
                field="owner",
            ) from None
        token.integration_id = integration.id
    elif "@" in owner:
        user_id = s.scalar(select(User.id).where(User.email == owner.lower()))
        if user_id is None:
            raise NotFound(f"No operator has the email {owner}.", field="owner")
        token.owner_user_id = user_id
    else:
        token.integration_id = s.scalar(select(Integration.id).where(Integration.name == owner))
        if token.integration_id is None:
            raise NotFound(f"No integration is called {owner}.", field="owner")


def revoke_token(token_id, *, actor: Actor, session: Session | None = None) -> dict:
    token_id = validate.wallet_id(token_id, "token_id")

    def op(s: Session) -> dict:
        token = s.get(ApiToken, token_id, with_for_update=True)
        if token is None:
            raise NotFound(f"Token {token_id} does not exist.", field="token_id")
        forget(token.token_hash)  # this process's entry; the others' go at their next write
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(s, actor, "token.revoke", "api_token", token.id, name=token.name)
        s.flush()
        return token_dict(token)

    return atomic(session or db.session, op)


def list_tokens(session: Session | None = None) -> list[dict]:
    s = session or db.session
    return [token_dict(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]


# Compiled once to psycopg's placeholders: authenticate runs on every API request
# (bench/PROFILE.md has what building it per request cost).
_LOOKUP = str(
    select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.scopes,
        ApiToken.last_used_at,
        ApiToken.owner_user_id,
        ApiToken.integration_id,
        ApiToken.created_by_id,
    )
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    .compile(dialect=psycopg_dialect())
)
_TOUCH = str(
    update(ApiToken)
    .where(ApiToken.id == bindparam("id"))
    .values(last_used_at=bindparam("now"))
    .returning(ApiToken.id)
    .compile(dialect=psycopg_dialect())
)


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    scopes: frozenset[str]
    hash: str  # the sha256 of its secret
    owner: str  # the person four eyes compare: `user:N` or `integration:N`
    issuer: str | None = None  # the operator who issued it (`user:N`), None from the command line


# The tokens this process authenticated in the last minute: sha256 -> (Principal, expiry).
# Never proof that a token is still live, so only for requests whose one write checks that
# itself, in the same statement (engine.POST_AS_TOKEN_SQL); see api/routes.py. An entry
# expires after LAST_USED_GRANULARITY, so last_used_at keeps its granularity.
_known: dict[str, tuple[Principal, float]] = {}
KNOWN_MAX = 10_000


def known(secret: str) -> Principal | None:
    """The principal this process last authenticated for `secret` (within a minute), or None:
    NOT a check that the token is live."""
    entry = _known.get(_hash(secret)) if secret and len(secret) <= 200 else None
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


def forget(token_hash: str) -> None:
    _known.pop(token_hash, None)


def _remember(principal: Principal) -> None:
    if len(_known) >= KNOWN_MAX:
        _known.clear()  # a flood of tokens costs a lookup each, never unbounded memory
    _known[principal.hash] = (principal, time.monotonic() + LAST_USED_GRANULARITY.total_seconds())


def authenticate(secret: str, session: Session | None = None) -> Principal | None:
    """The live token for `secret`, or None. Revocation takes effect on the next request.

    Runs on every API request, so it is one autocommit round trip in production (no
    BEGIN, and no ROLLBACK at teardown); in tests it joins the test's transaction.
    """
    s = session or db.session
    if not secret or len(secret) > 200:
        return None
    solo = single_statements(s)
    conn = solo if solo is not None else s.connection()
    token_hash = _hash(secret)
    row = execute_one(conn, _LOOKUP, {"token_hash": token_hash})
    if row is None:
        forget(token_hash)
        return None
    token_id, name, scopes, last_used_at, owner_user_id, integration_id, created_by_id = row
    now = utcnow()
    if last_used_at is None or now - last_used_at > LAST_USED_GRANULARITY:
        execute_one(conn, _TOUCH, {"id": token_id, "now": now})
        if solo is None:
            s.commit()
    owner = f"user:{owner_user_id}" if owner_user_id is not None else f"integration:{integration_id}"
    issuer = None if created_by_id is None else f"user:{created_by_id}"
    principal = Principal(token_id, name, frozenset(scopes.split(",")), token_hash, owner, issuer)
    _remember(principal)
    return principal


def token_dict(t: ApiToken) -> dict:
    owner = t.owner_user.email if t.owner_user_id is not None else t.integration.name
    return {
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes.split(","),
        "owner": owner,
        "owner_kind": "operator" if t.owner_user_id is not None else "integration",
        "created_at": iso(t.created_at),
        "last_used_at": iso(t.last_used_at),
        "revoked_at": iso(t.revoked_at),
    }
