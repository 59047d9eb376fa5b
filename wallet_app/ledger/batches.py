"""Batches: up to 1,000 movements in one request, posted by one engine call and one commit
(ledger_batch.sql), `atomic` (all or nothing) or `independent` (each item on its own). Four
eyes look at the batch as a whole: above a threshold it waits for a second person, who posts
or drops it as one. Python checks each item's shape and composes its legs (the catalogue);
every rule is the engine's."""

import json
from dataclasses import dataclass

from sqlalchemy import select

from .. import reads
from ..errors import BatchTooLarge, InvalidInput, NotFound, WalletError
from ..extensions import db
from ..models import Batch, BatchItem
from ..services import validate
from ..services.audit import Actor
from ..services.serialize import iso
from . import engine
from .idempotency import check_key, fingerprint
from .operations import _asked, _transfer_movement
from .queries import get_transactions

MAX_ITEMS = 1000
MODES = ("atomic", "independent")
# What a batch's status is once decided so (a decision asked again by its decider is a retry).
DECIDED = {"approve": ("posted", "partially_posted", "refused"), "reject": ("rejected",)}
# The kinds a batch takes, and the fields each item of that kind may carry.
FIELDS = {
    "transfer": {"from_wallet_id", "to_wallet_id", "amount", "reference"},
    "withdrawal": {"from_wallet_id", "amount", "reference"},
    "fund": {"to_wallet_id", "amount", "reference"},
}


@dataclass(frozen=True)
class BatchResult:
    """A batch as the API answers it, whether this call replayed the first, and its status."""

    batch: dict
    replayed: bool = False
    status: int = 201


def post(items, *, mode, idempotency_key, actor: Actor) -> BatchResult:
    """Post `items` (dicts as the API takes them) as one batch. A malformed item refuses the
    whole request naming `items[i].field`; a refusal of the ledger refuses an atomic batch
    (BatchRefused, every refused item named) or that item alone (independent)."""
    key = check_key(idempotency_key)
    if mode not in MODES:
        raise InvalidInput("mode is atomic or independent.", field="mode")
    if not isinstance(items, list) or not items:
        raise InvalidInput("A batch has 1 to 1,000 items.", field="items")
    if len(items) > MAX_ITEMS:
        raise BatchTooLarge(f"A batch has at most {MAX_ITEMS:,} items; this one has {len(items):,}.", field="items")
    composed = [_item(i, item) for i, item in enumerate(items)]
    fp = fingerprint("batch", mode=mode, items=[c["fp"] for c in composed])
    posted = engine.post_batch(db.session, composed, actor=actor, mode=mode, key=key, fp=fp)
    return BatchResult(get_batch(posted.batch_id), posted.verdict == "replay", posted.first_status)


def decide(batch_id, action: str, *, actor: Actor, reason=None) -> BatchResult:
    """A second person approves (posts it as one, in its mode) or rejects a batch that awaits
    approval. Deciding it again, once decided by the same person, answers it as it is."""
    batch_id = validate.wallet_id(batch_id, "batch_id")
    reason = validate.text(reason, "reason", 500, required=action == "reject")
    found = db.session.get(Batch, batch_id)
    if found is None:
        raise NotFound(f"Batch {batch_id} does not exist.", field="batch_id")
    if found.resolved_by == actor.name and found.status in DECIDED[action]:  # a retry
        return BatchResult(get_batch(batch_id), replayed=True, status=200)
    rows = db.session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.index))
    items = [_stored(r) for r in rows] if action == "approve" else []
    db.session.rollback()  # the reads above end here: the engine's call is its own transaction
    posted = engine.post_batch(
        db.session, items, actor=actor, mode=found.mode, resolve=action, target=batch_id, reason=reason
    )
    return BatchResult(get_batch(posted.batch_id), status=posted.first_status)


def get_batch(batch_id) -> dict:
    """A batch as it is now: each item posted (with its transaction), refused (with the
    refusal's code and words), awaiting approval or rejected."""
    batch_id = validate.wallet_id(batch_id, "batch_id")
    s = reads.session()
    batch = s.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"Batch {batch_id} does not exist.", field="batch_id")
    rows = s.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.index)).all()
    transactions = {t["id"]: t for t in get_transactions([r.transaction_id for r in rows if r.transaction_id])}
    items = []
    for r in rows:
        item = {"index": r.index, "status": r.status}
        if r.transaction_id:
            item["transaction"] = transactions[r.transaction_id]
        if r.error_code:
            item["error"] = {
                "code": r.error_code,
                "detail": engine.refusal(r.error_code, json.loads(r.error_detail)).message,
            }
        items.append(item)
    return {
        "id": batch.id,
        "mode": batch.mode,
        "status": batch.status,
        "created_by": batch.created_by,
        "created_at": iso(batch.created_at),
        "resolved_by": batch.resolved_by,
        "resolved_at": iso(batch.resolved_at),
        "items": items,
    }


def _item(index: int, item) -> dict:
    """Item `index` checked for shape and composed for the engine; a fault names
    `items[index].field`."""
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput("An item is an object.", field=where)
    kind = item.get("kind")
    if kind not in FIELDS:
        raise InvalidInput("kind is transfer, withdrawal or fund.", field=f"{where}.kind")
    unknown = sorted(set(item) - FIELDS[kind] - {"kind"})
    if unknown:
        raise InvalidInput(f"A {kind} takes no {unknown[0]}.", field=f"{where}.{unknown[0]}")
    try:
        if kind == "transfer":
            movement = _transfer_movement(
                item.get("from_wallet_id"), item.get("to_wallet_id"), item.get("amount"), item.get("reference"), None
            )
        else:
            wallet_field = "from_wallet_id" if kind == "withdrawal" else "to_wallet_id"
            try:
                movement = _asked(kind, item.get(wallet_field), item)
            except WalletError as exc:
                exc.field = wallet_field if exc.field == "wallet_id" else exc.field
                raise
    except WalletError as exc:
        raise InvalidInput(exc.message, field=f"{where}.{exc.field}") from None
    m = movement
    fp = fingerprint(m.kind, source=m.source, dest=m.dest, amount=f"{m.amount:f}", reference=m.reference)
    return engine.batch_item(m, fp)


def _stored(r: BatchItem) -> dict:
    """A stored item (a batch awaiting approval) composed for the engine again."""
    fields = {"kind": r.kind, "amount": f"{r.amount.normalize():f}", "reference": r.reference}
    if r.source_wallet_id:
        fields["from_wallet_id"] = r.source_wallet_id
    if r.dest_wallet_id:
        fields["to_wallet_id"] = r.dest_wallet_id
    return _item(r.index, fields)
