"""Reading the audit log, newest first, with keyset cursors: the whole log, or one wallet's activity."""

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditLog, Wallet
from . import validate
from .serialize import iso


def entries(
    *,
    actor: str | None = None,
    action: str | None = None,
    day: date | None = None,
    cursor=None,
    limit: int = 50,
    object_type: str | None = None,
    object_id: str | None = None,
    session: Session | None = None,
) -> tuple[list[dict], str | None]:
    """Audit entries newest first; a wallet named as the object comes with its owner's name."""
    s = session or db.session
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit + 1)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type, AuditLog.object_id == object_id)
    if day:
        start = datetime.combine(day, time(), timezone.utc)
        stmt = stmt.where(AuditLog.created_at >= start, AuditLog.created_at < start + timedelta(days=1))
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(AuditLog.id < before)
    rows = s.scalars(stmt).all()[: limit + 1]
    wallet_ids = {int(r.object_id) for r in rows if r.object_type == "wallet" and (r.object_id or "").isdigit()}
    wallet_ids |= {w for r in rows for w in _moved(r.details)}
    names = (
        dict(s.execute(select(Wallet.id, Wallet.owner_name).where(Wallet.id.in_(wallet_ids))).all())
        if wallet_ids
        else {}
    )
    items = [
        {
            "id": r.id,
            "at": iso(r.created_at),
            "actor": r.actor,
            "action": r.action,
            "object": f"{r.object_type or ''} {r.object_id or ''}".strip(),
            "object_type": r.object_type,
            "object_id": r.object_id,
            "ip": r.ip,
            "details": _named(r.details or {}, names),
            "object_name": names.get(int(r.object_id))
            if r.object_type == "wallet" and r.object_id and r.object_id.isdigit()
            else None,
        }
        for r in rows[:limit]
    ]
    return items, (str(items[-1]["id"]) if len(rows) > limit else None)


def _moved(details: dict | None) -> list[int]:
    """The wallets a movement's audit row names (its source and destination)."""
    return [w for w in ((details or {}).get(k) for k in ("source_wallet_id", "dest_wallet_id")) if isinstance(w, int)]


def _named(details: dict, names: dict) -> dict:
    """A movement's details with its wallets' owner names, so the log names people."""
    moved = {
        f"{k}_name": names.get(details[f"{k}_wallet_id"]) for k in ("source", "dest") if details.get(f"{k}_wallet_id")
    }
    return {**details, **moved} if moved else details


_ACTIVITY = text("""
    SELECT * FROM (
        (SELECT a.id, a.created_at, a.actor, a.action, a.object_type, a.object_id, a.details, NULL::bigint AS leg_id
         FROM audit_log a WHERE a.object_type = 'wallet' AND a.object_id = :wallet AND a.id < :a
         ORDER BY a.id DESC LIMIT :n + 1)
        UNION ALL
        (SELECT a.id, a.created_at, a.actor, a.action, a.object_type, a.object_id, a.details, h.id AS leg_id
         FROM (SELECT id, transaction_id FROM wallet_history
               WHERE wallet_id >= :wallet_id AND wallet_id <= :wallet_id AND id < :h
               ORDER BY wallet_id, id DESC LIMIT :n + 1) h
         JOIN audit_log a ON a.object_type = 'transaction' AND a.object_id = h.transaction_id::text)
    ) e ORDER BY id DESC LIMIT :n + 1""")


def wallet_activity(
    wallet_id: int, *, cursor: str | None = None, limit: int = 15, session: Session | None = None
) -> tuple[list[dict], str | None]:
    """The audit entries of a wallet (created, limits, status, notes) and of its transactions,
    newest first. Two keyset streams merged: the wallet's own entries by audit id, its
    transactions' entries by its history legs (wallet_id, id) -- so a wallet with a million
    legs reads `limit` + 1 of them. The cursor is "<audit id>.<leg id>", where each stream
    stopped. Merging by audit id is exact: ledger_post() writes a movement's legs and its audit
    row in one statement under the wallet's lock, so for one wallet both ids rise together."""
    a, h = _activity_cursor(cursor)
    rows = (
        (session or db.session)
        .execute(_ACTIVITY, {"wallet": str(wallet_id), "wallet_id": wallet_id, "a": a, "h": h, "n": limit})
        .all()
    )
    shown = rows[:limit]
    items = [
        {
            "id": r.id,
            "at": iso(r.created_at),
            "actor": r.actor,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "details": r.details or {},
        }
        for r in shown
    ]
    if len(rows) <= limit:
        return items, None
    next_a = min((r.id for r in shown if r.leg_id is None), default=a)
    next_h = min((r.leg_id for r in shown if r.leg_id is not None), default=h)
    return items, f"{next_a}.{next_h}"


def _activity_cursor(cursor: str | None) -> tuple[int, int]:
    top = validate.MAX_ID
    if not cursor:
        return top, top
    a, _, h = str(cursor).partition(".")
    return validate.cursor(a) or top, validate.cursor(h) or top
