"""WalletsService: every wallet rule. Takes plain values, returns plain values or raises WalletError."""
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..errors import CurrencyMismatch, InsufficientFunds, InvalidInput, NotFound, SameWallet, WalletNotActive
from ..extensions import db
from ..models import Transaction, Wallet, WalletHistory
from ..models.types import utcnow
from ..money import check_currency, check_minor_units, format_amount, parse_amount, quantize
from . import audit, validate
from .atomic import atomic, single_statement_connection
from .audit import Actor
from . import ledger_sql
from .idempotency import check_key, claim_idempotency_key, fingerprint, replayed_transaction, store_response
from .serialize import history_entry_dict, transaction_dict, wallet_dict


@dataclass(frozen=True)
class OperationResult:
    """A fund or transfer: the transaction as JSON-ready dict, and whether it was a replay."""

    transaction: dict
    replayed: bool = False


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


class WalletsService:
    def __init__(self, session: Session | None = None):
        self.session = session or db.session

    # -- wallets ---------------------------------------------------------------------
    def create_wallet(self, owner_name, currency, *, actor: Actor, owner_email=None,
                      external_ref=None) -> dict:
        wallet = Wallet(
            owner_name=validate.text(owner_name, "owner_name", 200, required=True),
            currency=check_currency(currency),
            owner_email=validate.email(owner_email),
            external_ref=validate.text(external_ref, "external_ref", 100),
        )

        def op(s: Session) -> dict:
            s.add(wallet)
            s.flush()
            audit.record(s, actor, "wallet.create", "wallet", wallet.id, currency=wallet.currency)
            return wallet_dict(wallet)

        return atomic(self.session, op)

    def get_wallet(self, wallet_id, field: str = "wallet_id") -> dict:
        wallet = self.session.get(Wallet, validate.wallet_id(wallet_id, field))
        if wallet is None:
            raise NotFound(f"Wallet {wallet_id} does not exist.", field=field)
        return wallet_dict(wallet)

    def set_status(self, wallet_id, status: str, *, actor: Actor) -> dict:
        """Freeze, unfreeze or close a wallet (admins)."""
        if status not in ("active", "frozen", "closed"):
            raise InvalidInput("Unknown status.", field="status")
        wallet_id = validate.wallet_id(wallet_id, "wallet_id")

        def op(s: Session) -> dict:
            wallet = s.get(Wallet, wallet_id, with_for_update=True)
            if wallet is None:
                raise NotFound(f"Wallet {wallet_id} does not exist.", field="wallet_id")
            previous, wallet.status, wallet.updated_at = wallet.status, status, utcnow()
            audit.record(s, actor, "wallet.status", "wallet", wallet_id, before=previous, after=status)
            s.flush()
            return wallet_dict(wallet)

        return atomic(self.session, op)

    def list_wallets(self, q=None, *, currency=None, status=None, cursor=None, limit=None) -> Page:
        """Newest first; `q` matches an exact id, or owner name, email or external ref."""
        limit = validate.limit(limit)
        stmt = select(Wallet).order_by(Wallet.id.desc()).limit(limit + 1)
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
        rows = self.session.scalars(stmt).all()
        return _page([wallet_dict(w) for w in rows], limit)

    # -- money movements ---------------------------------------------------------------
    def fund(self, wallet_id, amount, *, idempotency_key, actor: Actor, reference=None) -> OperationResult:
        """Credit a wallet from outside the ledger (a deposit)."""
        dest = validate.wallet_id(wallet_id, "wallet_id")
        return self._move("fund", None, dest, amount, idempotency_key, actor, reference)

    def transfer(self, from_wallet_id, to_wallet_id, amount, *, idempotency_key, actor: Actor,
                 reference=None) -> OperationResult:
        source = validate.wallet_id(from_wallet_id, "from_wallet_id")
        dest = validate.wallet_id(to_wallet_id, "to_wallet_id")
        if source == dest:
            raise SameWallet("Choose two different wallets.", field="to_wallet_id")
        return self._move("transfer", source, dest, amount, idempotency_key, actor, reference)

    def _move(self, kind, source_id, dest_id, amount, key, actor, reference) -> OperationResult:
        """The write protocol of DESIGN.md section 4, for a fund (no source) or a transfer."""
        value = parse_amount(amount)
        key = check_key(key)
        reference = validate.text(reference, "reference", 500)
        fp = fingerprint(kind, source=source_id, dest=dest_id, amount=f"{value:f}", reference=reference)
        solo = single_statement_connection(self.session)
        one_statement = solo is not None or self.session.get_bind().dialect.name == "postgresql"
        move = _move_in_one_statement if one_statement else _move_step_by_step

        def op(s: Session) -> OperationResult:
            body = move(s, kind, source_id, dest_id, value, key, fp, reference, actor)
            if body is None:  # the key was used before: replay its first result
                tx_id = replayed_transaction(s, actor.scope, key, fp)
                return OperationResult(_transaction(_orm(s), tx_id), replayed=True)
            return OperationResult(body)

        if solo is None:
            return atomic(self.session, op)
        with solo:
            return atomic(solo, op)

    def preview(self, from_wallet_id, to_wallet_id, amount) -> dict:
        """What a fund (no source) or transfer would do, for the confirmation step: both
        wallets and their balances after. Nothing is locked or written; the real operation
        checks again under its locks."""
        dest = validate.wallet_id(to_wallet_id, "to_wallet_id" if from_wallet_id else "wallet_id")
        source = validate.wallet_id(from_wallet_id, "from_wallet_id") if from_wallet_id else None
        if source == dest:
            raise SameWallet("Choose two different wallets.", field="to_wallet_id")
        value = parse_amount(amount)
        rows = self.session.execute(select(Wallet.id, Wallet.balance, Wallet.currency, Wallet.status)
                                    .where(Wallet.id.in_([i for i in (source, dest) if i]))).all()
        wallets = {r.id: r for r in rows}
        value = _checked_amount(wallets, source, dest, value)
        result = {"amount": format_amount(value, wallets[dest].currency), "currency": wallets[dest].currency}
        for role, wallet_id, sign in (("source", source, -1), ("dest", dest, 1)):
            if wallet_id:
                result[role] = {**self.get_wallet(wallet_id),
                                "balance_after": format_amount(wallets[wallet_id].balance + sign * value,
                                                               wallets[wallet_id].currency)}
        return result

    # -- reads -----------------------------------------------------------------------------
    def history(self, wallet_id, *, cursor=None, limit=None, since: datetime | None = None,
                until: datetime | None = None) -> Page:
        """A wallet's entries, newest first, keyset-paginated on (wallet_id, id)."""
        wallet = self.get_wallet(wallet_id)
        limit = validate.limit(limit)
        h, t = WalletHistory, Transaction
        counterparty = case((h.amount < 0, t.dest_wallet_id), else_=t.source_wallet_id)
        where, order = h.newest_first(wallet["id"])
        stmt = (
            select(h.id, h.transaction_id, t.kind, h.amount, h.balance_after, t.reference,
                   t.created_by, h.created_at, counterparty.label("counterparty_wallet_id"))
            .join(t, t.id == h.transaction_id)
            .where(*where).order_by(*order).limit(limit + 1)
        )
        if (before := validate.cursor(cursor)) is not None:
            stmt = stmt.where(h.id < before)
        if since is not None:
            stmt = stmt.where(h.created_at >= since)
        if until is not None:
            stmt = stmt.where(h.created_at < until)
        rows = self.session.execute(stmt).all()
        return _page([history_entry_dict(r, wallet["currency"]) for r in rows], limit)

    def get_transaction(self, transaction_id) -> dict:
        return _transaction(self.session, validate.wallet_id(transaction_id, "transaction_id"))

    def reconcile(self):
        from .reconcile import reconcile
        return reconcile(self.session)


def _orm(s: Session | Connection) -> Session:
    return Session(bind=s) if isinstance(s, Connection) else s


def _transaction(s: Session, transaction_id: int) -> dict:
    tx = s.get(Transaction, transaction_id)
    if tx is None:
        raise NotFound(f"Transaction {transaction_id} does not exist.", field="transaction_id")
    entries = s.scalars(
        select(WalletHistory).where(WalletHistory.transaction_id == tx.id).order_by(WalletHistory.id)).all()
    return transaction_dict(tx, entries)


def _move_in_one_statement(s, kind, source_id, dest_id, value, key, fp, reference, actor) -> dict | None:
    """PostgreSQL: claim, lock, check and write in one round trip (ledger_sql.MOVE)."""
    conn = s if isinstance(s, Connection) else s.connection()
    row = ledger_sql.move(conn, kind, source_id, dest_id, value, key, fp, reference, actor)
    if row.verdict == "replay":
        return None
    amount = quantize(value, row.currency)
    tx = _Tx(row.id, kind, amount, row.currency, source_id, dest_id, reference, actor.name, row.created_at)
    entries = ([_Entry(source_id, -amount, row.src_after)] if source_id else []) + [
        _Entry(dest_id, amount, row.dst_after)]
    return transaction_dict(tx, entries)


def _move_step_by_step(s, kind, source_id, dest_id, value, key, fp, reference, actor) -> dict | None:
    """Other databases (SQLite for local use): the same protocol, one statement per step."""
    claim_id = claim_idempotency_key(s, actor.scope, key, fp)
    if claim_id is None:
        return None
    wallets = _lock_wallets(s, [i for i in (source_id, dest_id) if i])
    amount = _checked_amount(wallets, source_id, dest_id, value)
    source, dest = wallets.get(source_id), wallets[dest_id]
    return _apply(s, kind, amount, source, dest, reference, actor, claim_id)


def _checked_amount(wallets: dict, source_id, dest_id, value: Decimal) -> Decimal:
    """Every rule a movement must pass, on the wallet rows (locked, or read for a preview)."""
    fields = {source_id: "from_wallet_id", dest_id: "to_wallet_id" if source_id else "wallet_id"}
    for wallet_id, field in fields.items():
        if wallet_id and wallet_id not in wallets:
            raise NotFound(f"Wallet {wallet_id} does not exist.", field=field)
    for w in wallets.values():
        if w.status != "active":
            raise WalletNotActive(f"Wallet {w.id} is {w.status}.", field=fields[w.id])
    dest, source = wallets[dest_id], wallets.get(source_id)
    if source and source.currency != dest.currency:
        raise CurrencyMismatch(
            f"Wallet {source.id} holds {source.currency} but wallet {dest.id} holds {dest.currency}.",
            field="to_wallet_id")
    amount = check_minor_units(value, dest.currency)
    if source and source.balance < amount:
        available = format_amount(source.balance, source.currency)
        raise InsufficientFunds(f"Insufficient funds: {available} {source.currency} available.",
                                field="amount", available=available)
    return amount


def _lock_wallets(s: Session, ids: list[int]) -> dict:
    """SELECT ... FOR UPDATE in ascending id order, so opposite transfers cannot deadlock."""
    rows = s.execute(
        select(Wallet.id, Wallet.balance, Wallet.currency, Wallet.status)
        .where(Wallet.id.in_(ids)).order_by(Wallet.id).with_for_update()
    ).all()
    return {r.id: r for r in rows}


def _apply(s, kind, amount: Decimal, source, dest, reference, actor: Actor, claim_id: int) -> dict:
    """Move the money: balances, transaction row, history rows, stored response, audit."""
    now = utcnow()
    tx_id = s.execute(insert(Transaction).values(
        kind=kind, amount=amount, currency=dest.currency, source_wallet_id=source.id if source else None,
        dest_wallet_id=dest.id, reference=reference, created_by=actor.name, created_at=now,
    ).returning(Transaction.id)).scalar_one()
    entries = ([_Entry(source.id, -amount, source.balance - amount)] if source else []) + [
        _Entry(dest.id, amount, dest.balance + amount)]
    s.execute(update(Wallet), [{"id": e.wallet_id, "balance": e.balance_after, "updated_at": now}
                               for e in entries])
    s.execute(insert(WalletHistory), [dict(wallet_id=e.wallet_id, transaction_id=tx_id, amount=e.amount,
                                           balance_after=e.balance_after, created_at=now) for e in entries])
    store_response(s, claim_id, tx_id)
    audit.record(s, actor, kind, "transaction", tx_id, amount=f"{amount:f}", currency=dest.currency,
                 source_wallet_id=source.id if source else None, dest_wallet_id=dest.id)
    tx = _Tx(tx_id, kind, amount, dest.currency, source.id if source else None, dest.id, reference,
             actor.name, now)
    return transaction_dict(tx, entries)


class _Tx(NamedTuple):
    id: int
    kind: str
    amount: Decimal
    currency: str
    source_wallet_id: int | None
    dest_wallet_id: int
    reference: str | None
    created_by: str
    created_at: datetime


class _Entry(NamedTuple):
    wallet_id: int
    amount: Decimal
    balance_after: Decimal


def _page(items: list[dict], limit: int) -> Page:
    more = len(items) > limit
    items = items[:limit]
    return Page(items, str(items[-1]["id"]) if more else None)
