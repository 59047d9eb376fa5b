"""The audit log: who did what to which object, when and from where."""

from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..models import AuditLog


@dataclass(frozen=True)
class Actor:
    """The principal behind an operation.

    `scope` keys idempotency and is stable (`user:7`, `token:3`, `cli`); `name` is what
    people read in history and the audit log; `ip` is where the request came from. `owner`:
    the person behind it for four eyes (`user:7`, `integration:2`): a token's owner, so two
    tokens of one owner are one person; by default the scope itself. `token`: the sha256 of
    the API token behind the request, if any; the engine then moves money only while that
    token is live; `issuer`: the operator who issued that token (`user:7`), who has seen its
    secret, so four eyes never let them decide what it made, nor it what they made.
    """

    scope: str
    name: str
    ip: str | None = None
    owner: str | None = None
    token: str | None = None
    issuer: str | None = None

    @property
    def person(self) -> str:
        return self.owner or self.scope


def record(
    session: Session, actor: Actor, action: str, object_type: str | None = None, object_id: object = None, **details
) -> None:
    """Add an audit row to the caller's transaction (flushes with it, never commits)."""
    session.execute(
        insert(AuditLog).values(
            actor=actor.name,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            ip=actor.ip,
            details=details or None,
        )
    )
