"""Batches: up to 1,000 movements in one request, posted by one engine call and one commit
(ledger_batch.sql), `atomic` (all or nothing) or `independent` (each item on its own). Four
eyes look at the batch as a whole: above a threshold it waits for a second person, who posts
or drops it as one. Python checks each item's shape and composes its legs (the catalogue);
every rule is the engine's."""

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, func, select

from .. import reads
from ..errors import BatchTooLarge, InvalidInput, NotAwaitingApproval, NotFound, WalletError
from ..extensions import db
from ..models import Batch, BatchItem, Wallet
from ..money import format_amount
from ..services import validate
from ..services.audit import Actor
from ..services.serialize import iso
from . import engine
from .idempotency import check_key, fingerprint
from .operations import _asked, _transfer_movement
from .queries import get_transactions

MAX_ITEMS = 1000
MAX_KEY = 250
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


def post(items, *, mode, idempotency_key, actor: Actor, always_wait: bool = False) -> BatchResult:
    """Post `items` (dicts as the API takes them) as one batch. A malformed item refuses the
    whole request naming `items[i].field`; a refusal of the ledger refuses an atomic batch
    (BatchRefused, every refused item named) or that item alone (independent)."""
    key = check_key(idempotency_key)
    if len(key) > MAX_KEY:  # its items are claimed as '<key>:<index>', within a key's 255
        raise InvalidInput(f"A batch's idempotency key has at most {MAX_KEY} characters.", field="idempotency_key")
    if mode not in MODES:
        raise InvalidInput("mode is atomic or independent.", field="mode")
    if not isinstance(items, list) or not items:
        raise InvalidInput("A batch has 1 to 1,000 items.", field="items")
    if len(items) > MAX_ITEMS:
        raise BatchTooLarge(f"A batch has at most {MAX_ITEMS:,} items; this one has {len(items):,}.", field="items")
    composed = [_item(i, item) for i, item in enumerate(items)]
    fp = fingerprint("batch", mode=mode, items=[c["fp"] for c in composed])
    posted = engine.post_batch(db.session, composed, actor=actor, mode=mode, key=key, fp=fp, always_wait=always_wait)
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


def expire_waiting(*, actor: Actor) -> int:
    """End every batch that waited past its expiry (`expired`, its items too): how many. Safe
    twice or concurrently: one decided or expired meanwhile is skipped."""
    due = db.session.scalars(
        select(Batch.id).where(Batch.status == "awaiting_approval", Batch.expires_at <= func.now()).order_by(Batch.id)
    ).all()
    ended = 0
    for batch_id in due:
        try:
            engine.post_batch(db.session, [], actor=actor, mode="atomic", resolve="expire", target=batch_id)
            ended += 1
        except (NotAwaitingApproval, NotFound):
            continue
    return ended


# get_batch()'s statements, built once (rows, not ORM objects: a batch of 1,000 is read back
# after it posts): the batch, and each item with its currency (its payer's, or its payee's).
_BATCH = select(*Batch.__table__.columns).where(Batch.id == bindparam("id"))
_ITEMS = (
    select(*BatchItem.__table__.columns, Wallet.currency)
    .outerjoin(Wallet, Wallet.id == func.coalesce(BatchItem.source_wallet_id, BatchItem.dest_wallet_id))
    .where(BatchItem.batch_id == bindparam("id"))
    .order_by(BatchItem.index)
)


def get_batch(batch_id) -> dict:
    """A batch as it is now: each item posted (with its transaction), refused (with the
    refusal's code and words), awaiting approval or rejected."""
    batch_id = validate.wallet_id(batch_id, "batch_id")
    s = reads.session()
    batch = s.execute(_BATCH, {"id": batch_id}).one_or_none()
    if batch is None:
        raise NotFound(f"Batch {batch_id} does not exist.", field="batch_id")
    rows = s.execute(_ITEMS, {"id": batch_id}).all()
    transactions = {t["id"]: t for t in get_transactions([r.transaction_id for r in rows if r.transaction_id])}
    items = []
    for r in rows:
        currency = r.currency
        item = {
            "index": r.index,
            "status": r.status,
            "kind": r.kind,
            "from_wallet_id": r.source_wallet_id,
            "to_wallet_id": r.dest_wallet_id,
            # an item refused as not_found names no wallet to take a currency from: as asked
            "amount": format_amount(r.amount, currency) if currency else f"{r.amount.normalize():f}",
            "currency": currency,
            "reference": r.reference,
        }
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
        "expires_at": iso(batch.expires_at),
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


# -- the console's upload: a CSV of payouts, reviewed by the engine's dry run, then posted ------
COLUMNS = ("from", "to", "amount", "reference")
GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")  # thousands separated by commas, as the console writes


@dataclass
class Row:
    """A line of an uploaded CSV: as written, the item it asks for (None when it cannot be read:
    `error` says why), and the wallets' names."""

    line: int
    written: dict
    item: dict | None = None
    error: str | None = None
    names: dict = field(default_factory=dict)
    currency: str | None = None


def read_csv(text: str) -> list[Row]:
    """The rows of a payouts CSV (columns from, to, amount, reference; a wallet by id or by its
    owner's exact name). Both wallets: a transfer; no `to`: a withdrawal; no `from`: a fund. A
    row that names no wallet, or a name several wallets have, is kept with its error."""
    try:
        return _rows(text)
    except csv.Error as exc:
        raise InvalidInput(f"The file is not CSV as expected ({exc}).", field="file") from None


def _rows(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    if header[: len(COLUMNS)] != list(COLUMNS):
        raise InvalidInput(f"The first line names the columns: {','.join(COLUMNS)}.", field="file")
    reader.fieldnames = header
    rows = [
        Row(n, {c: (r.get(c) or "").strip() for c in COLUMNS})
        for n, r in enumerate(reader, start=2)
        if any((v or "").strip() for v in r.values() if isinstance(v, str))
    ]
    if not rows:
        raise InvalidInput("The file has no rows below its header.", field="file")
    if len(rows) > MAX_ITEMS:
        raise BatchTooLarge(f"A batch has at most {MAX_ITEMS:,} rows; this file has {len(rows):,}.", field="file")
    wallets = _wallets_named({r.written[c] for r in rows for c in ("from", "to") if r.written[c]})
    for row in rows:
        _read(row, wallets)
    return rows


def _wallets_named(labels: set[str]) -> dict[str, list]:
    """Customer wallets by id or exact owner name (any case), one query."""
    ids = {int(x) for x in labels if x.isascii() and x.isdigit() and len(x) <= 18}
    names = {x.lower() for x in labels}
    found = db.session.execute(
        select(Wallet.id, Wallet.owner_name, Wallet.currency).where(
            Wallet.system_purpose.is_(None), (Wallet.id.in_(ids)) | (func.lower(Wallet.owner_name).in_(names))
        )
    ).all()
    by_label: dict[str, list] = {}
    for w in found:
        if w.id in ids:
            by_label.setdefault(str(w.id), []).append(w)
        by_label.setdefault(w.owner_name.lower(), []).append(w)
    return by_label


def _read(row: Row, wallets: dict) -> None:
    chosen = {}
    for column in ("from", "to"):
        label = row.written[column]
        if not label:
            continue
        matches = wallets.get(label if label.isdigit() else label.lower(), [])
        if not matches:
            row.error = f"No wallet is {label!r} ({column})."
            return
        if len(matches) > 1:
            ids = ", ".join(f"#{w.id}" for w in matches)
            row.error = f"Several wallets are named {label!r} ({ids}): write the id instead."
            return
        chosen[column] = matches[0]
        row.names[column] = f"{matches[0].owner_name} #{matches[0].id}"
    if not chosen:
        row.error = "Name the wallet it comes from, goes to, or both."
        return
    kind = "transfer" if len(chosen) == 2 else "withdrawal" if "from" in chosen else "fund"
    amount = row.written["amount"]
    if "," in amount and not GROUPED.match(amount):  # "2,50" is not 250: only 1,234.50 groups
        row.error = f"Write amounts as 1,234.50: {amount!r} is not one."
        return
    item = {
        "kind": kind,
        "amount": amount.replace(",", ""),
        "reference": row.written["reference"] or None,
    }
    if "from" in chosen:
        item["from_wallet_id"] = chosen["from"].id
    if "to" in chosen:
        item["to_wallet_id"] = chosen["to"].id
    try:
        _item(0, item)
    except InvalidInput as exc:
        row.error = exc.message
        return
    row.item = item
    row.currency = chosen.get("from", chosen.get("to")).currency


def preview(rows: list[Row], *, actor: Actor, always_wait: bool = False) -> dict:
    """The engine's dry run of the rows that can be read, in order, each as if posted (the
    review and the write decide alike): each row's outcome, the totals per currency, and
    whether the batch would wait for a second person. Nothing is kept."""
    readable = [r for r in rows if r.item]
    outcome = {}
    waits = False
    if readable:
        composed = [_item(i, r.item) for i, r in enumerate(readable)]
        try:
            posted = engine.post_batch(
                db.session,
                composed,
                actor=actor,
                mode="independent",
                key=f"review:{uuid.uuid4()}",
                fp="review",
                dry_run=True,
                always_wait=always_wait,
            )
            waits = bool(posted.waits)
            items = db.session.scalars(select(BatchItem).where(BatchItem.batch_id == posted.batch_id)).all()
            outcome = {
                i.index: engine.refusal(i.error_code, json.loads(i.error_detail)).message if i.error_code else None
                for i in items
            }
        finally:
            db.session.rollback()
    totals: dict[str, Decimal] = {}
    position = {id(r): i for i, r in enumerate(readable)}
    shown = []
    for r in rows:
        error = r.error if r.item is None else outcome.get(position[id(r)])
        if r.item and error is None:
            totals[r.currency] = totals.get(r.currency, Decimal(0)) + Decimal(r.item["amount"])
        shown.append({"row": r, "error": error})
    return {
        "rows": shown,
        "totals": totals,
        "waits": waits,
        "readable": len(readable),
        "passing": sum(1 for x in shown if x["row"].item and x["error"] is None),
    }


def recent(limit: int = 20) -> list[dict]:
    """The newest batches, for the console's list."""
    s = reads.session()
    rows = s.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit)).all()
    return [
        {
            "id": b.id,
            "mode": b.mode,
            "status": b.status,
            "items": b.item_count,
            "created_by": b.created_by,
            "created_at": iso(b.created_at),
        }
        for b in rows
    ]


def awaiting(person: str | None = None, batch_id: int | None = None) -> list[dict]:
    """Batches waiting for a second person, oldest first, with their totals per currency;
    `person` (user:7): only those they may decide (not their own, nor their token's);
    `batch_id`: that one only, if it waits."""
    s = reads.session()
    stmt = select(Batch).where(Batch.status == "awaiting_approval", Batch.expires_at > func.now()).order_by(Batch.id)
    if batch_id is not None:
        stmt = stmt.where(Batch.id == batch_id)
    if person:
        stmt = stmt.where(Batch.maker_scope != person, Batch.maker_issuer.is_distinct_from(person))
    batches = s.scalars(stmt).all()
    totals: dict[int, dict] = {}
    if batches:
        for batch_id, currency, total in s.execute(
            select(BatchItem.batch_id, Wallet.currency, func.sum(BatchItem.amount))
            .join(Wallet, Wallet.id == func.coalesce(BatchItem.source_wallet_id, BatchItem.dest_wallet_id))
            .where(BatchItem.batch_id.in_([b.id for b in batches]))
            .group_by(BatchItem.batch_id, Wallet.currency)
        ):
            totals.setdefault(batch_id, {})[currency] = total
    return [
        {
            "id": b.id,
            "mode": b.mode,
            "items": b.item_count,
            "created_by": b.created_by,
            "maker_scope": b.maker_scope,
            "created_at": iso(b.created_at),
            "expires_at": iso(b.expires_at),
            "totals": totals.get(b.id, {}),
        }
        for b in batches
    ]
