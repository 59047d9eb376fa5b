"""Reading the audit log, newest first, with a keyset cursor."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditLog
from . import validate
from .serialize import iso


def entries(*, actor: str | None = None, action: str | None = None, day: date | None = None, cursor=None,
            limit: int = 50, session: Session | None = None) -> tuple[list[dict], str | None]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit + 1)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if day:
        start = datetime.combine(day, time(), timezone.utc)
        stmt = stmt.where(AuditLog.created_at >= start, AuditLog.created_at < start + timedelta(days=1))
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(AuditLog.id < before)
    rows = (session or db.session).scalars(stmt).all()
    items = [{"id": r.id, "at": iso(r.created_at), "actor": r.actor, "action": r.action,
              "object": f"{r.object_type or ''} {r.object_id or ''}".strip(), "ip": r.ip, "details": r.details}
             for r in rows[:limit]]
    return items, (str(items[-1]["id"]) if len(rows) > limit else None)
