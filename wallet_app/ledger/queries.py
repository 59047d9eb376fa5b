"""Reads of the ledger: customer wallets, a wallet's history, transactions with their legs."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, or_, select

from ..errors import NotFound
from ..extensions import db
from ..models import Transaction, Wallet, WalletHistory
from ..money import check_currency, format_amount
from ..services import validate
from ..services.serialize import history_entry_dict, iso, wallet_dict
from .catalogue import Movement

__all__ = ["Page", "get_wallet", "list_wallets", "history", "get_transaction", "transaction_dict"]

@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


def get_wallet(wallet_id, field: str = "wallet_id") -> dict:
    """A customer wallet; system wallets are the ledger's own and not found here."""
    wallet = db.session.get(Wallet, validate.wallet_id(wallet_id, field))
    if wallet is None or wallet.system_purpose is not None:
        raise NotFound(f"Wallet {wallet_id} does not exist.", field=field)
    return wallet_dict(wallet)


def list_wallets(q=None, *, currency=None, status=None, cursor=None, limit=None) -> Page:
    """Customer wallets, newest first; `q` matches an exact id, or owner name, email or reference."""
    limit = validate.limit(limit)
    stmt = select(Wallet).where(Wallet.system_purpose.is_(None)).order_by(Wallet.id.desc()).limit(limit + 1)
    q = validate.text(q, "q", 200)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds = [Wallet.owner_name.ilike(like, escape="\\"), Wallet.owner_email.ilike(like, escape="\\"),
                 Wallet.external_ref.ilike(like, escape="\\")]
        if q.isascii() and q.isdigit() and len(q) <= 18:
            conds.append(Wallet.id == int(q))
        stmt = stmt.where(or_(*conds))
    if currency:
        stmt = stmt.where(Wallet.currency == check_currency(currency))
    if status:
        stmt = stmt.where(Wallet.status == status)
    if (after := validate.cursor(cursor)) is not None:
        stmt = stmt.where(Wallet.id < after)
    rows = db.session.scalars(stmt).all()
    return _page([wallet_dict(w) for w in rows], limit)


def history(wallet_id, *, cursor=None, limit=None, since: datetime | None = None,
            until: datetime | None = None) -> Page:
    """A wallet's legs, newest first, keyset-paginated on (wallet_id, id)."""
    wallet = get_wallet(wallet_id)
    limit = validate.limit(limit)
    h, t = WalletHistory, Transaction
    counterparty = case((h.amount < 0, t.dest_wallet_id), else_=t.source_wallet_id)
    where, order = h.newest_first(wallet["id"])
    stmt = (
        select(h.id, h.transaction_id, t.kind, h.amount, h.balance_after, t.reference, t.fee,
               t.reverses_transaction_id, t.created_by, h.created_at, counterparty.label("counterparty_wallet_id"))
        .join(t, t.id == h.transaction_id)
        .where(*where).order_by(*order).limit(limit + 1)
    )
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(h.id < before)
    if since is not None:
        stmt = stmt.where(h.created_at >= since)
    if until is not None:
        stmt = stmt.where(h.created_at < until)
    rows = db.session.execute(stmt).all()
    return _page([history_entry_dict(r, wallet["currency"]) for r in rows], limit)


def get_transaction(transaction_id) -> dict:
    """A transaction with every leg, system wallets' included."""
    tx_id = validate.wallet_id(transaction_id, "transaction_id")
    tx = db.session.get(Transaction, tx_id)
    if tx is None:
        raise NotFound(f"Transaction {transaction_id} does not exist.", field="transaction_id")
    legs = db.session.execute(
        select(WalletHistory.wallet_id, Wallet.system_purpose, WalletHistory.amount, WalletHistory.balance_after)
        .join(Wallet, Wallet.id == WalletHistory.wallet_id)
        .where(WalletHistory.transaction_id == tx.id).order_by(WalletHistory.id)).all()
    movement = Movement(tx.kind, tx.amount, tx.source_wallet_id, tx.dest_wallet_id, tx.reference, reason=tx.reason)
    reversals = db.session.scalars(select(Transaction.id).where(Transaction.reverses_transaction_id == tx.id)
                                   .order_by(Transaction.id)).all()
    return transaction_dict(movement, tx.id, tx.currency, tx.created_by, tx.created_at, tx.fee, legs,
                            reverses=tx.reverses_transaction_id, reversed_amount=tx.reversed_amount,
                            fee_refunded=tx.fee_refunded, reversals=list(reversals))


def transaction_dict(m: Movement, tx_id: int, currency: str, created_by: str, created_at, fee, legs, *,
                     reverses=None, reversed_amount=0, fee_refunded=False, reversals=()) -> dict:
    """The JSON shape of a transaction. `legs`: (wallet_id, system purpose, amount, balance_after).
    A system wallet's running balance is the ledger's own business, so its legs carry none."""
    original = m.original["id"] if m.original else None
    return {
        "id": tx_id, "kind": m.kind, "amount": format_amount(m.amount, currency), "currency": currency,
        "fee": format_amount(fee, currency), "source_wallet_id": m.source, "dest_wallet_id": m.dest,
        "reference": m.reference, "reason": m.reason, "reverses_transaction_id": reverses or original,
        "reversed_amount": format_amount(reversed_amount, currency), "fee_refunded": fee_refunded,
        "reversal_ids": list(reversals), "created_by": created_by, "created_at": iso(created_at),
        "entries": [{"wallet_id": wallet_id, "system": system, "amount": format_amount(amount, currency),
                     "balance_after": None if system else format_amount(after, currency)}
                    for wallet_id, system, amount, after in legs],
    }


def _page(items: list[dict], limit: int) -> Page:
    more = len(items) > limit
    items = items[:limit]
    return Page(items, str(items[-1]["id"]) if more else None)
