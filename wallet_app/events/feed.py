"""The events feed: committed events put in sequence, with their objects, and read in that
order.

An event row is written with its change; it has no place in the feed (`seq`) yet, because
ids are handed out before commit and commit in another order: a reader who had seen id 11
could later find id 10 committed. The sequencer (one at a time, an advisory lock) numbers
what has committed since it last ran, after the last number given, so a number once seen is
never followed by a smaller one; in the same transaction it renders each event's object as
the API answers it (as it is when sequenced, normally within a second of the change) and
queues a delivery to every endpoint that wants the event's type.
"""

from decimal import Decimal

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import BigInteger

from .. import reads
from ..errors import InvalidInput
from ..extensions import db
from ..ledger import batches, queries
from ..models import Wallet
from ..models.events import public_id
from ..money import format_amount
from ..services import validate
from ..services.serialize import iso, wallet_dict

LOCK = 0x6576_6E74  # 'evnt': one sequencer at a time, across processes
TYPES = (
    "transaction.posted",
    "transaction.pending",
    "transaction.awaiting_approval",
    "transaction.approved",
    "transaction.captured",
    "transaction.voided",
    "transaction.expired",
    "transaction.rejected",
    "transaction.reversed",
    "batch.posted",
    "batch.partially_posted",
    "batch.refused",
    "batch.awaiting_approval",
    "batch.rejected",
    "batch.expired",
    "wallet.created",
    "wallet.updated",
    "balance.alert",
)
MAX_LIMIT = 500

_UNSEQUENCED = text(
    "SELECT id, type, object_type, object_id, data FROM events WHERE seq IS NULL ORDER BY id LIMIT :n FOR UPDATE"
)
_SEQUENCE = text("""
    UPDATE events e SET seq = u.seq, data = u.data, sequenced_at = now()
    FROM unnest(:ids, :seqs, :data) u (id, seq, data) WHERE e.id = u.id""").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("seqs", type_=ARRAY(BigInteger)),
    bindparam("data", type_=ARRAY(JSONB)),
)
# Each endpoint that wants the event (no types: all of them) and existed when it happened owes
# it a delivery (what came before an endpoint is in the feed, or redelivered on request).
_FAN_OUT = text("""
    INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, status)
    SELECT ep.id, e.id, e.seq, 'pending'
    FROM events e JOIN webhook_endpoints ep
      ON ep.enabled AND ep.deleted_at IS NULL AND ep.created_at <= e.created_at
         AND (cardinality(ep.event_types) = 0 OR e.type = ANY (ep.event_types))
    WHERE e.id = ANY (:ids)
    ORDER BY ep.id, e.seq""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def sequence(limit: int = 1000) -> int:
    """Number the committed events that have no place yet (up to `limit`, oldest first),
    render their objects and queue their deliveries, in one transaction; how many. Another
    sequencer running meanwhile: 0 at once (it does the work)."""
    s = db.session
    try:
        if not s.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK}):
            return 0
        rows = s.execute(_UNSEQUENCED, {"n": limit}).all()
        if not rows:
            return 0
        last = s.scalar(text("SELECT coalesce(max(seq), 0) FROM events WHERE seq > 0"))  # tests are below 0
        objects = _render(rows)
        ids = [r.id for r in rows]
        s.execute(_SEQUENCE, {"ids": ids, "seqs": list(range(last + 1, last + 1 + len(rows))), "data": objects})
        s.execute(_FAN_OUT, {"ids": ids})
        s.commit()
        return len(rows)
    finally:
        s.rollback()


def _render(rows) -> list[dict]:
    """Each event's object as the API answers it: a transaction, a wallet, a batch (without
    its items: each transaction has its own event), or a balance alert."""
    wanted = {kind: [r.object_id for r in rows if r.object_type == kind] for kind in ("transaction", "wallet", "batch")}
    transactions = (
        {t["id"]: t for t in queries.get_transactions(wanted["transaction"])} if wanted["transaction"] else {}
    )
    wallets = (
        {w.id: w for w in db.session.query(Wallet).filter(Wallet.id.in_(wanted["wallet"]))} if wanted["wallet"] else {}
    )
    found_batches = {i: _batch(i) for i in set(wanted["batch"])}
    out = []
    for r in rows:
        if r.type == "balance.alert":
            w = wallets[r.object_id]
            out.append(
                {
                    "wallet_id": w.id,
                    "currency": w.currency,
                    "direction": r.data["direction"],
                    **{k: format_amount(Decimal(r.data[k]), w.currency) for k in ("line", "available", "previous")},
                }
            )
        elif r.object_type == "transaction":
            out.append(transactions.get(r.object_id))
        elif r.object_type == "wallet":
            out.append(wallet_dict(wallets[r.object_id]))
        else:
            out.append(found_batches[r.object_id])
    return out


def _batch(batch_id: int) -> dict:
    """A batch as GET /batches/{id} answers it, without its items (up to 1,000, and each
    posted one has its own transaction event): how many ended in each status instead."""
    found = batches.get_batch(batch_id)
    counts: dict[str, int] = {}
    for item in found.pop("items"):
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return {**found, "item_count": sum(counts.values()), "items_by_status": counts}


def envelope(row) -> dict:
    """An event as the feed and webhooks carry it."""
    return {
        "id": public_id(row.id),
        "type": row.type,
        "sequence": row.seq,
        "created_at": iso(row.created_at),
        "data": row.data,
    }


def list_events(after=None, types=None, limit=None) -> dict:
    """The feed: events after sequence number `after` (0: from the start), of `types` (a
    comma-separated list; none: all), in sequence order; `next_after` to ask for the next page."""
    after = 0 if after in (None, "", "0", 0) else validate.wallet_id(after, "after")
    limit = validate.limit(limit, 100, MAX_LIMIT)
    wanted = [t for t in (types or "").split(",") if t]
    unknown = sorted(set(wanted) - set(TYPES))
    if unknown:
        raise InvalidInput(f"Unknown event type {unknown[0]!r}.", field="types")
    rows = (
        reads.session()
        .execute(
            text(
                "SELECT id, type, seq, created_at, data FROM events WHERE seq > :after "
                + ("AND type = ANY (:types) " if wanted else "")
                + "ORDER BY seq LIMIT :limit"
            ).bindparams(*([bindparam("types", type_=ARRAY(db.String))] if wanted else [])),
            {"after": after, "limit": limit, **({"types": wanted} if wanted else {})},
        )
        .all()
    )
    return {"data": [envelope(r) for r in rows], "next_after": rows[-1].seq if rows else after}
