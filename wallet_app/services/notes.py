"""Notes on a wallet: append-only (the table refuses UPDATE and DELETE), author and time, audited."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Wallet, WalletNote
from . import audit, validate
from .atomic import atomic
from .audit import Actor
from .serialize import iso

MAX_NOTE = 2000


def add_note(wallet_id, body, *, actor: Actor) -> dict:
    """Append a note to a customer wallet; the audit row (`wallet.note`) is written with it."""
    wallet_id = validate.wallet_id(wallet_id, "wallet_id")
    body = _body(body)

    def op(s: Session) -> dict:
        wallet = s.get(Wallet, wallet_id)
        if wallet is None or wallet.system_purpose is not None:
            raise NotFound(f"Wallet {wallet_id} does not exist.", field="wallet_id")
        note = WalletNote(wallet_id=wallet_id, body=body, author=actor.name)
        s.add(note)
        s.flush()
        audit.record(s, actor, "wallet.note", "wallet", wallet_id, note_id=note.id)
        return _note_dict(note)

    return atomic(db.session, op)


def list_notes(
    wallet_id: int, *, cursor=None, limit: int = 10, session: Session | None = None
) -> tuple[list[dict], str | None]:
    """A wallet's notes, newest first, keyset-paginated on (wallet_id, id)."""
    stmt = select(WalletNote).where(WalletNote.wallet_id == wallet_id).order_by(WalletNote.id.desc()).limit(limit + 1)
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(WalletNote.id < before)
    rows = (session or db.session).scalars(stmt).all()
    items = [_note_dict(n) for n in rows[:limit]]
    return items, (str(items[-1]["id"]) if len(rows) > limit else None)


def _body(value) -> str:
    """Free text over several lines (no other control characters), trimmed, 1 to MAX_NOTE characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Write the note first.", field="body")
    value = value.strip().replace("\r\n", "\n")
    if len(value) > MAX_NOTE:
        raise InvalidInput(f"At most {MAX_NOTE} characters.", field="body")
    if any(not (ch.isprintable() or ch == "\n") for ch in value):
        raise InvalidInput("Control characters are not allowed.", field="body")
    return value


def _note_dict(n: WalletNote) -> dict:
    return {"id": n.id, "wallet_id": n.wallet_id, "body": n.body, "author": n.author, "created_at": iso(n.created_at)}
