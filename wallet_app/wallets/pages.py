"""One read per console page: everything a wallet or transaction page shows, from one call.
Every list in it is keyset-paginated (a cursor, never OFFSET)."""

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from .. import reads
from ..errors import InvalidAmount, InvalidInput
from ..extensions import db
from ..ledger import queries
from ..models import Event, Transaction
from ..services import audit_log, notes, stats, validate

HISTORY_FILTERS = ("since", "until", "kind", "min_amount", "max_amount", "reference")


def wallet_history(wallet_id, args, *, cursor=None, limit: int = 25) -> queries.Page:
    """A wallet's history filtered by `args` (text as typed: days YYYY-MM-DD, kind, amounts,
    reference); each refusal names its filter."""
    since, until = validate.day(args.get("since"), "since"), validate.day(args.get("until"), "until")
    if since and until and since > until:
        raise InvalidInput("From is after To: the range ends before it starts.", field="until")
    return queries.history(
        wallet_id,
        cursor=cursor,
        limit=limit,
        since=_midnight(since),
        until=_midnight(until, days=1),
        kind=args.get("kind") or None,
        min_amount=args.get("min_amount") or None,
        max_amount=args.get("max_amount") or None,
        reference=args.get("reference") or None,
        with_names=True,
    )


def wallet_history_page(wallet_id, args, *, cursor=None) -> dict:
    """The wallet and its history filtered by `args`; a filter at fault is returned as
    `history_error` (with no rows), for the page to show next to that filter."""
    wallet = queries.get_wallet(wallet_id)
    try:
        history, error = wallet_history(wallet["id"], args or {}, cursor=cursor), None
    except (InvalidInput, InvalidAmount) as exc:
        history, error = queries.Page([], None), exc
    return {"wallet": wallet, "history": history, "history_error": error}


HOLD_STATES = ("open", "resolved")  # the wallet page's two lists of holds, open ones first


def wallet_page(wallet_id, args=None) -> dict:
    """The wallet, its filtered history (or the filter's refusal as `history_error`), its
    balance series, its holds (open, then resolved), its activity in the audit log and its
    notes."""
    data = wallet_history_page(wallet_id, args)
    wallet_id = data["wallet"]["id"]
    activity, activity_cursor = audit_log.wallet_activity(wallet_id)
    wallet_notes, notes_cursor = notes.list_notes(wallet_id)
    holds = {
        state: queries.holds(wallet_id, limit=10, is_open=state == "open", with_names=True) for state in HOLD_STATES
    }
    return {
        **data,
        "chart": stats.balance_series(wallet_id),
        "alerts": balance_alerts(wallet_id),
        "holds": holds,
        "activity": activity,
        "activity_cursor": activity_cursor,
        "notes": wallet_notes,
        "notes_cursor": notes_cursor,
    }


def balance_alerts(wallet_id: int, limit: int = 5) -> list[dict]:
    """The wallet's latest balance alerts (events_of_wallets.sql), newest first."""
    rows = reads.session().execute(
        select(Event.created_at, Event.data)
        .where(Event.type == "balance.alert", Event.object_type == "wallet", Event.object_id == wallet_id)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    return [{"at": r.created_at, **r.data} for r in rows]


def transaction_page(transaction_id) -> dict:
    """A transaction with its legs' owner names, the transactions linked to it (the one it
    reverses, its reversals) and its audit entries."""
    tx = queries.get_transaction(transaction_id)
    linked_ids = [i for i in [tx["reverses_transaction_id"], *tx["reversal_ids"]] if i]
    linked = (
        db.session.execute(
            select(
                Transaction.id,
                Transaction.kind,
                Transaction.amount,
                Transaction.currency,
                Transaction.created_at,
                Transaction.reverses_transaction_id,
            )
            .where(Transaction.id.in_(linked_ids))
            .order_by(Transaction.id)
        ).all()
        if linked_ids
        else []
    )
    names = queries.wallet_names(
        [tx["source_wallet_id"], tx["dest_wallet_id"], *(e["wallet_id"] for e in tx["entries"])]
    )
    activity, _ = audit_log.entries(object_type="transaction", object_id=str(tx["id"]), limit=20)
    return {
        "tx": tx,
        "names": names,
        "activity": activity,
        "linked": [
            {
                "id": r.id,
                "kind": r.kind,
                "amount": str(r.amount),
                "currency": r.currency,
                "created_at": r.created_at,
                "relation": "reverses" if r.id == tx["reverses_transaction_id"] else "reversal",
            }
            for r in linked
        ],
    }


def _midnight(day: date | None, days: int = 0) -> datetime | None:
    return datetime.combine(day + timedelta(days=days), time(), timezone.utc) if day else None
