"""Reads of the ledger: customer wallets, a wallet's history, transactions with their legs. Each
runs on the read session (reads.py): a replica for a GET when one is fit, else the primary."""

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import BigInteger, any_, bindparam, case, func, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased

from .. import reads
from ..errors import InvalidInput, NotFound, WalletError
from ..models import Batch, Transaction, Wallet, WalletHistory
from ..money import check_currency, format_amount, parse_amount
from ..services import validate
from ..services.serialize import history_entry_dict, iso, wallet_dict
from .catalogue import KINDS, Movement

__all__ = [
    "Page",
    "get_wallet",
    "list_wallets",
    "history",
    "holds",
    "awaiting_approval",
    "get_transaction",
    "get_transactions",
    "transaction_dict",
    "wallet_names",
    "find",
    "recipient",
    "recipient_choices",
]


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


def get_wallet(wallet_id, field: str = "wallet_id") -> dict:
    """A customer wallet; system wallets are the ledger's own and not found here."""
    wallet = reads.session().get(Wallet, validate.wallet_id(wallet_id, field))
    if wallet is None or wallet.system_purpose is not None:
        raise NotFound(f"Wallet {wallet_id} does not exist.", field=field)
    return wallet_dict(wallet, live_held(wallet.id) if wallet.held else None)


OPEN = ("pending", "awaiting_approval")


def live_held(wallet_id: int, session=None):
    """What a wallet's live holds reserve: the engine's own ledger_live_held() (a write passes
    its own session: the primary, under the wallet's lock)."""
    return (session or reads.session()).scalar(select(func.ledger_live_held(wallet_id)))


def open_holds(wallet_id: int, session) -> int:
    """How many unexpired holds and approval requests a wallet is on either side of (closing
    it is refused while there are any; the caller holds the wallet's lock)."""
    t = Transaction
    return session.scalar(
        select(func.count())
        .select_from(t)
        .where(
            or_(t.source_wallet_id == wallet_id, t.dest_wallet_id == wallet_id),
            t.status.in_(OPEN),
            t.expires_at > func.now(),
        )
    )


def holds(wallet_id, *, cursor=None, limit=None, is_open: bool | None = None, with_names: bool = False) -> Page:
    """A wallet's holds and approval requests, newest first (keyset on id): all of them, or
    only the open ones (`is_open`: unresolved and unexpired) or only the others.
    `with_names` adds the destination's owner name (the console's)."""
    wallet = get_wallet(wallet_id)
    limit = validate.limit(limit)
    t, dst = Transaction, aliased(Wallet)
    stmt = (
        select(t, dst.owner_name)
        .outerjoin(dst, dst.id == t.dest_wallet_id)
        .where(t.source_wallet_id == wallet["id"], t.held_amount.is_not(None))
        .order_by(t.id.desc())
        .limit(limit + 1)
    )
    if is_open is not None:
        live = t.status.in_(OPEN) & (t.expires_at > func.now())
        stmt = stmt.where(live if is_open else ~live)
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(t.id < before)
    rows = reads.session().execute(stmt)
    return _page([hold_dict(h) | ({"dest_owner": name} if with_names else {}) for h, name in rows], limit)


def awaiting_approval(*, cursor=None, limit=None) -> Page:
    """Movements waiting for a second operator, oldest first (keyset on id), with the wallets'
    owner names."""
    limit = validate.limit(limit)
    t, src, dst = Transaction, aliased(Wallet), aliased(Wallet)
    stmt = (
        select(t, src.owner_name, dst.owner_name)
        .outerjoin(src, src.id == t.source_wallet_id)
        .outerjoin(dst, dst.id == t.dest_wallet_id)
        .where(t.status == "awaiting_approval", t.expires_at > func.now())
        .order_by(t.id)
        .limit(limit + 1)
    )
    if (after := validate.cursor(cursor)) is not None:
        stmt = stmt.where(t.id > after)
    return _page(
        [{**hold_dict(h), "source_owner": s, "dest_owner": d} for h, s, d in reads.session().execute(stmt)], limit
    )


def awaiting_count(person: str) -> int:
    """How many live approval requests and waiting batches `person` (`user:7`) may decide:
    not their own, nor made by a token they issued (the engine refuses those:
    maker_cannot_approve). A batch counts once, whatever its size."""
    t = Transaction
    batches = (
        select(func.count())
        .select_from(Batch)
        .where(
            Batch.status == "awaiting_approval",
            Batch.expires_at > func.now(),
            Batch.maker_scope != person,
            Batch.maker_issuer.is_distinct_from(person),
        )
        .scalar_subquery()
    )
    requests = (
        select(func.count())
        .select_from(t)
        .where(
            t.status == "awaiting_approval",
            t.expires_at > func.now(),
            t.maker_scope.is_distinct_from(person),
            t.maker_issuer.is_distinct_from(person),
        )
        .scalar_subquery()
    )
    return reads.session().scalar(select(batches + requests))  # one round trip for both


def _status(t: Transaction) -> str:
    """`expired` once a hold or approval request is past its expiry, even before
    expire-holds marks it: the engine already treats it so."""
    return "expired" if t.status in OPEN and t.expires_at <= datetime.now(timezone.utc) else t.status


def held_currency(t: Transaction) -> str:
    """What a hold reserves is in its source's currency: an exchange's reversal, stated in the
    exchange's terms, pays in the exchange's destination currency."""
    return (t.reverses_transaction_id and t.dest_currency) or t.currency


def hold_dict(t: Transaction) -> dict:
    """A hold or approval request as lists show it."""
    return {
        "id": t.id,
        "kind": t.kind,
        "status": _status(t),
        "amount": format_amount(t.amount, t.currency),
        "currency": t.currency,
        "held_amount": format_amount(t.held_amount, held_currency(t)),
        "fee": format_amount(t.fee, t.currency),
        "source_wallet_id": t.source_wallet_id,
        "dest_wallet_id": t.dest_wallet_id,
        "reference": t.reference,
        "reason": t.reason,
        "created_by": t.created_by,
        "created_at": iso(t.created_at),
        "expires_at": iso(t.expires_at),
        "resolved_by": t.resolved_by,
        "resolved_at": iso(t.resolved_at),
        "resolve_reason": t.resolve_reason,
    }


def list_wallets(q=None, *, currency=None, status=None, cursor=None, limit=None) -> Page:
    """Customer wallets, newest first; `q` matches an exact id, or owner name, email or reference."""
    limit = validate.limit(limit)
    stmt = select(Wallet).where(Wallet.system_purpose.is_(None)).order_by(Wallet.id.desc()).limit(limit + 1)
    q = validate.text(q, "q", 200)
    if q:
        like = "%" + _escape_like(q) + "%"
        conds = [
            Wallet.owner_name.ilike(like, escape="\\"),
            Wallet.owner_email.ilike(like, escape="\\"),
            Wallet.external_ref.ilike(like, escape="\\"),
        ]
        if q.isascii() and q.isdigit() and len(q) <= 18:
            conds.append(Wallet.id == int(q))
        stmt = stmt.where(or_(*conds))
    if currency:
        stmt = stmt.where(Wallet.currency == check_currency(currency))
    if status:
        stmt = stmt.where(Wallet.status == status)
    if (after := validate.cursor(cursor)) is not None:
        stmt = stmt.where(Wallet.id < after)
    rows = reads.session().scalars(stmt).all()
    return _page([wallet_dict(w) for w in rows], limit)


def history(
    wallet_id,
    *,
    cursor=None,
    limit=None,
    since: datetime | None = None,
    until: datetime | None = None,
    kind=None,
    min_amount=None,
    max_amount=None,
    reference=None,
    with_names: bool = False,
) -> Page:
    """A wallet's legs, newest first, keyset-paginated on (wallet_id, id). Filters: a time
    range [since, until), the kind, the leg's size (credit or debit) from `min_amount` to
    `max_amount`, and text in the reference. `with_names` adds the counterparty's owner name and the
    movement's reason (the console's)."""
    wallet = get_wallet(wallet_id)
    limit = validate.limit(limit)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("From is after To: the range ends before it starts.", field="until")
    if kind and kind not in KINDS:
        raise InvalidInput("Unknown kind.", field="kind")
    low, high = (
        parse_amount(v, field=f, allow_zero=True) if v else None
        for v, f in ((min_amount, "min_amount"), (max_amount, "max_amount"))
    )
    if low is not None and high is not None and low > high:
        raise InvalidInput("The largest amount is below the smallest.", field="max_amount")
    reference = validate.text(reference, "reference", 200)
    h, t = WalletHistory, Transaction
    where, order = h.newest_first(wallet["id"])
    stmt = entries(with_names).where(*where).order_by(*order).limit(limit + 1)
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(h.id < before)
    if since is not None:
        stmt = stmt.where(h.created_at >= since)
    if until is not None:
        stmt = stmt.where(h.created_at < until)
    if kind:
        stmt = stmt.where(t.kind == kind)
    if low is not None:
        stmt = stmt.where(func.abs(h.amount) >= low)
    if high is not None:
        stmt = stmt.where(func.abs(h.amount) <= high)
    if reference:
        stmt = stmt.where(t.reference.ilike("%" + _escape_like(reference) + "%", escape="\\"))
    rows = reads.session().execute(stmt).all()
    return _page(
        [
            history_entry_dict(r, wallet["currency"])
            | ({"counterparty_name": r.counterparty_name, "reason": r.reason} if with_names else {})
            for r in rows
        ],
        limit,
    )


def entries(with_names: bool = False):
    """A SELECT of legs with what a history entry shows (history_entry_dict); `with_names` adds
    the counterparty's owner name and the movement's reason. The caller adds where and order."""
    h, t = WalletHistory, Transaction
    counterparty = case((h.amount < 0, t.dest_wallet_id), else_=t.source_wallet_id)
    stmt = select(
        h.id,
        h.transaction_id,
        t.kind,
        h.amount,
        h.balance_after,
        t.reference,
        t.fee,
        t.reverses_transaction_id,
        t.created_by,
        h.created_at,
        counterparty.label("counterparty_wallet_id"),
        t.held_amount,
        t.currency.label("tx_currency"),
        t.batch_id,
    ).join(t, t.id == h.transaction_id)
    if with_names:
        other = aliased(Wallet)
        stmt = stmt.add_columns(other.owner_name.label("counterparty_name"), t.reason).outerjoin(
            other, other.id == counterparty
        )
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def recipient(text, *, exclude: int | None = None, field: str = "recipient") -> dict:
    """The one customer wallet `text` names (an exact id, or the only match of the search), for
    a wallet typed without picking from a list (a transfer's recipient, an export's wallet);
    else a refusal naming `field`."""
    text = validate.text(text, field, 200)
    if text is None:
        raise InvalidInput("Choose the wallet to send to.", field=field)
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return get_wallet(text, field)
    matches = [w for w in list_wallets(text, limit=3).items if w["id"] != exclude]
    if len(matches) != 1:
        raise InvalidInput(
            "No wallet matches this." if not matches else "Several wallets match: pick one from the list.",
            field=field,
        )
    return matches[0]


def recipient_choices(text, chosen=None, *, exclude: int | None = None) -> list[dict]:
    """The wallets a transfer form shown again offers to send to: the first ten its typed
    text matches, and the one picked before if it is not among them. Text or a pick that
    cannot be read offers nothing (the form says why)."""
    try:
        found = list_wallets(text, limit=10).items if validate.text(text, "recipient", 200) else []
        if chosen and int(chosen) not in {w["id"] for w in found}:
            found = [get_wallet(chosen, "to_wallet_id"), *found]
    except (WalletError, ValueError):
        return []
    return [w for w in found if w["id"] != exclude]


def wallet_names(ids) -> dict[int, str]:
    """Owner names of these wallets (system wallets' too: "World (USD)"), in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(reads.session().execute(select(Wallet.id, Wallet.owner_name).where(Wallet.id.in_(ids))).all())


def find(q, *, limit: int = 10) -> dict:
    """The header search: customer wallets by name, email, reference or id, and transactions
    by id or by the start of their reference. Each list is the newest `limit`."""
    q = validate.text(q, "q", 200, required=True)
    wallets = list_wallets(q, limit=limit)
    tx = select(
        Transaction.id,
        Transaction.kind,
        Transaction.amount,
        Transaction.currency,
        Transaction.reference,
        Transaction.created_at,
    )
    conds = [Transaction.reference.like(_escape_like(q) + "%", escape="\\")]
    number = q.removeprefix("#")  # "#305": how the console labels a transaction
    if number.isascii() and number.isdigit() and len(number) <= 18:
        conds.append(Transaction.id == int(number))
    rows = reads.session().execute(tx.where(or_(*conds)).order_by(Transaction.id.desc()).limit(limit)).all()
    return {
        "q": q,
        "wallets": wallets.items,
        "more_wallets": wallets.next_cursor is not None,
        "transactions": [
            {
                "id": r.id,
                "kind": r.kind,
                "amount": format_amount(r.amount, r.currency),
                "currency": r.currency,
                "reference": r.reference,
                "created_at": iso(r.created_at),
            }
            for r in rows
        ],
    }


def get_transaction(transaction_id) -> dict:
    """A transaction with every leg, system wallets' included."""
    tx_id = validate.wallet_id(transaction_id, "transaction_id")
    found = get_transactions([tx_id])
    if not found:
        raise NotFound(f"Transaction {transaction_id} does not exist.", field="transaction_id")
    return found[0]


def _transactions_query():
    """get_transactions()'s statement, built once: each transaction one row with its legs and
    its reversals as arrays (numeric arrays read as Decimals), the ids one array parameter
    (one plan whatever their number)."""
    h, w, r = WalletHistory.__table__, Wallet.__table__, aliased(Transaction.__table__)
    legs = (
        select(
            *(
                func.array_agg(aggregate_order_by(column, h.c.id)).label(name)
                for column, name in (
                    (h.c.wallet_id, "leg_wallets"),
                    (w.c.system_purpose, "leg_systems"),
                    (h.c.amount, "leg_amounts"),
                    (h.c.balance_after, "leg_after"),
                    (w.c.currency, "leg_currencies"),
                )
            )
        )
        .join_from(h, w, w.c.id == h.c.wallet_id)
        .where(h.c.transaction_id == Transaction.id)
        .lateral()
    )
    reversals = (
        select(func.array_agg(aggregate_order_by(r.c.id, r.c.id)).label("reversal_ids"))
        .where(r.c.reverses_transaction_id == Transaction.id)
        .lateral()
    )
    return (
        select(*Transaction.__table__.columns, legs, reversals)
        .select_from(Transaction.__table__)
        .join(legs, true())
        .join(reversals, true())
        .where(Transaction.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    )


_TRANSACTIONS = _transactions_query()


def get_transactions(ids) -> list[dict]:
    """Transactions as get_transaction() answers each, in the order of `ids` (those that
    exist): one query however many (a batch's thousand). Read back after a batch of 100 in five
    queries of ORM objects, they were a third of the request."""
    ids = list(ids)
    rows = {t.id: t for t in reads.session().execute(_TRANSACTIONS, {"ids": ids})}
    return [_transaction(rows[i]) for i in ids if i in rows]


def _transaction(tx) -> dict:
    """A row of get_transactions() as the API answers it."""
    legs = zip(
        tx.leg_wallets or (), tx.leg_systems or (), tx.leg_amounts or (), tx.leg_after or (), tx.leg_currencies or ()
    )
    movement = Movement(
        tx.kind, tx.amount, tx.source_wallet_id, tx.dest_wallet_id, tx.reference, reason=tx.reason, rate=tx.rate
    )
    found = transaction_dict(
        movement,
        tx.id,
        tx.currency,
        tx.created_by,
        tx.created_at,
        tx.fee,
        legs,
        reverses=tx.reverses_transaction_id,
        reversed_amount=tx.reversed_amount,
        fee_refunded=tx.fee_refunded,
        reversals=tx.reversal_ids or (),
        status=_status(tx),
        dest_amount=tx.dest_amount,
        dest_currency=tx.dest_currency,
        batch_id=tx.batch_id,
    )
    if tx.held_amount is not None:
        found.update(
            held_amount=format_amount(tx.held_amount, held_currency(tx)),
            expires_at=iso(tx.expires_at),
            resolved_at=iso(tx.resolved_at),
            resolved_by=tx.resolved_by,
            resolve_reason=tx.resolve_reason,
            approved_by=tx.approved_by,
            approved_at=iso(tx.approved_at),
        )
    return found


def transaction_dict(
    m: Movement,
    tx_id: int,
    currency: str,
    created_by: str,
    created_at,
    fee,
    legs,
    *,
    reverses=None,
    reversed_amount=0,
    fee_refunded=False,
    reversals=(),
    status="posted",
    dest_amount=None,
    dest_currency=None,
    batch_id=None,
) -> dict:
    """The JSON shape of a transaction. `legs`: (wallet_id, system purpose, amount, balance_after,
    currency). A system wallet's running balance is the ledger's own business, so its legs
    carry none. A hold (pending, or awaiting approval) has no legs until it posts; an
    exchange has its rate and the amount its destination received."""
    original = m.original["id"] if m.original else None
    conversion = (
        {}
        if m.rate is None
        else {
            "rate": f"{m.rate.normalize():f}",
            "dest_currency": dest_currency,
            "dest_amount": None if dest_amount is None else format_amount(dest_amount, dest_currency),
        }
    )
    return {
        "id": tx_id,
        "kind": m.kind,
        "amount": format_amount(m.amount, currency),
        "currency": currency,
        "fee": format_amount(fee, currency),
        "source_wallet_id": m.source,
        "dest_wallet_id": m.dest,
        "reference": m.reference,
        "reason": m.reason,
        "reverses_transaction_id": reverses or original,
        "reversed_amount": format_amount(reversed_amount, currency),
        "fee_refunded": fee_refunded,
        "reversal_ids": list(reversals),
        "created_by": created_by,
        "created_at": iso(created_at),
        "status": status,
        "batch_id": batch_id,
        **conversion,
        "entries": [
            {
                "wallet_id": wallet_id,
                "system": system,
                "currency": leg_currency,
                "amount": format_amount(amount, leg_currency),
                "balance_after": None if system else format_amount(after, leg_currency),
            }
            for wallet_id, system, amount, after, leg_currency in legs
        ],
    }


def _page(items: list[dict], limit: int) -> Page:
    more = len(items) > limit
    items = items[:limit]
    return Page(items, str(items[-1]["id"]) if more else None)
