"""Every state change of a wallet: create, status, and the money movements of the catalogue."""

from dataclasses import dataclass, replace
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..errors import (
    BalanceNotZero,
    CurrencyMismatch,
    HoldNotPending,
    HoldsOpen,
    InvalidAmount,
    InvalidInput,
    NotFound,
    ReversalExceedsOriginal,
    WalletClosed,
)
from ..extensions import db
from ..models import WALLET_STATUSES, Wallet
from ..models.ledger import MAX_SYSTEM_SHARDS
from ..models.types import utcnow
from ..money import check_currency, format_amount, parse_amount, parse_rate
from ..services import audit, validate
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import wallet_dict
from . import engine, functions
from .catalogue import KINDS, Movement
from .idempotency import check_key, fingerprint
from .queries import get_transaction, get_wallet, live_held, open_holds, transaction_dict

__all__ = [
    "OperationResult",
    "create_wallet",
    "set_status",
    "set_limits",
    "update_wallet",
    "ask",
    "fund",
    "transfer",
    "withdraw",
    "split",
    "set_system_shards",
    "reverse",
    "capture",
    "void",
    "approve",
    "reject",
    "expire_holds",
    "preview",
    "preview_ask",
    "preview_reversal",
    "preview_resolution",
]


@dataclass(frozen=True)
class OperationResult:
    """A movement: the transaction as a JSON-ready dict, and whether it was a replay."""

    transaction: dict
    replayed: bool = False
    status: int | None = None  # the HTTP status its first answer had (201, 202, 200); a replay repeats it


def create_wallet(owner_name, currency, *, actor: Actor, owner_email=None, external_ref=None) -> dict:
    wallet = Wallet(
        owner_name=validate.text(owner_name, "owner_name", 200, required=True),
        currency=check_currency(currency),
        owner_email=validate.email(owner_email),
        external_ref=validate.text(external_ref, "external_ref", 100),
    )

    def op(s: Session) -> dict:
        if wallet.external_ref:
            # One customer wallet per external reference and currency: a second is a mistake
            # (a double submit, a retried import). Creations of the same pair queue on a
            # transaction-scoped lock, so two at once cannot both pass the check.
            s.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:ref || ' ' || :cur, 0))"),
                {"ref": wallet.external_ref, "cur": wallet.currency},
            )
            twin = s.execute(
                select(Wallet.id, Wallet.owner_name).where(
                    Wallet.external_ref == wallet.external_ref,
                    Wallet.currency == wallet.currency,
                    Wallet.system_purpose.is_(None),
                )
            ).first()
            if twin:
                raise InvalidInput(
                    f"{twin.owner_name} #{twin.id} already has the reference {wallet.external_ref} in "
                    f"{wallet.currency}: use that wallet, or give another reference.",
                    field="external_ref",
                    wallet_id=twin.id,
                )
        s.add(wallet)
        s.flush()
        audit.record(s, actor, "wallet.create", "wallet", wallet.id, currency=wallet.currency)
        return wallet_dict(wallet)

    return atomic(db.session, op)


# Which status may follow which: a closed wallet never reopens.
TRANSITIONS = {"active": {"frozen", "closed"}, "frozen": {"active", "closed"}, "closed": set()}


LIMITS = ("overdraft_limit", "max_balance", "daily_outflow_limit")
# Lines on the available balance: crossing one writes a balance.alert event (events_of_wallets.sql).
ALERTS = ("alert_below", "alert_above")


def set_status(wallet_id, status: str, *, actor: Actor, reason=None) -> dict:
    """Freeze, unfreeze or close a customer wallet, with a reason (admins)."""
    return update_wallet(wallet_id, actor=actor, status=status, reason=reason)


def set_limits(wallet_id, *, actor: Actor, **limits) -> dict:
    """Change a wallet's limits (admins); see update_wallet."""
    return update_wallet(wallet_id, actor=actor, **limits)


def update_wallet(wallet_id, *, actor: Actor, status=None, reason=None, **limits) -> dict:
    """Limits and/or status of a customer wallet, in ONE transaction under the wallet's lock
    (a refused status leaves the limits unchanged too). Each limit is a non-negative amount
    in the wallet's currency, or None to remove it (the overdraft limit goes back to 0); a
    limit the balance already breaks is refused, so the table's CHECKs hold. A status needs a
    reason; closing needs a zero balance (a movement racing it waits, then sees `closed`)."""
    unknown = set(limits) - set(LIMITS) - set(ALERTS)
    if unknown:
        raise InvalidInput("Unknown limit.", field=sorted(unknown)[0])
    if status is not None:
        if status not in WALLET_STATUSES:
            raise InvalidInput(f"Status must be one of {', '.join(WALLET_STATUSES)}.", field="status")
        reason = validate.text(reason, "reason", 500, required=True)
    wallet_id = validate.wallet_id(wallet_id, "wallet_id")

    def op(s: Session) -> dict:
        wallet = s.get(Wallet, wallet_id, with_for_update=True)
        if wallet is None or wallet.system_purpose is not None:
            raise NotFound(f"Wallet {wallet_id} does not exist.", field="wallet_id")
        alerts = {k: limits[k] for k in ALERTS if k in limits}
        if len(alerts) < len(limits):
            _apply_limits(s, wallet, {k: v for k, v in limits.items() if k not in alerts}, actor)
        if alerts:
            _apply_alerts(s, wallet, alerts, actor)
        if status is not None:
            _apply_status(s, wallet, status, reason, actor)
        wallet.updated_at = utcnow()
        s.flush()
        return wallet_dict(wallet)

    return atomic(db.session, op)


def _apply_limits(s: Session, wallet: Wallet, limits: dict, actor: Actor) -> None:
    def plain(name):
        return None if getattr(wallet, name) is None else format_amount(getattr(wallet, name), wallet.currency)

    before = {name: plain(name) for name in limits}
    # Checked before anything is set on the wallet: a query here must not flush a limit the
    # table's CHECKs refuse (an IntegrityError, not the message below).
    new = {name: getattr(wallet, name) for name in LIMITS}
    for name, value in limits.items():
        amount = None if value is None else parse_amount(value, wallet.currency, field=name, allow_zero=True)
        new[name] = Decimal(0) if amount is None and name == "overdraft_limit" else amount
    balance = format_amount(wallet.balance, wallet.currency)
    held = live_held(wallet.id, s) if wallet.held else 0
    if held and wallet.balance - held < -new["overdraft_limit"]:
        raise InvalidInput(
            f"The balance is {balance} and holds reserve {format_amount(held, wallet.currency)}: "
            "the overdraft limit cannot be below what they already take.",
            field="overdraft_limit",
        )
    if wallet.balance < -new["overdraft_limit"]:
        raise InvalidInput(
            f"The balance is {balance}: the overdraft limit cannot be below what is already overdrawn.",
            field="overdraft_limit",
        )
    if new["max_balance"] is not None and wallet.balance > new["max_balance"]:
        raise InvalidInput(f"The balance is {balance}: the maximum cannot be below it.", field="max_balance")
    for name in limits:
        setattr(wallet, name, new[name])
    audit.record(
        s, actor, "wallet.limits", "wallet", wallet.id, before=before, after={name: plain(name) for name in limits}
    )


def _apply_alerts(s: Session, wallet: Wallet, alerts: dict, actor: Actor) -> None:
    """Set or remove (None) the alert lines, each an amount in the wallet's currency."""
    plain = lambda v: None if v is None else format_amount(v, wallet.currency)  # noqa: E731
    before = {name: plain(getattr(wallet, name)) for name in alerts}
    new = {
        name: None if value is None else parse_amount(value, wallet.currency, field=name, allow_zero=True)
        for name, value in alerts.items()
    }
    below, above = (new.get(n, getattr(wallet, n)) for n in ALERTS)
    if below is not None and above is not None and below >= above:
        field = "alert_above" if "alert_above" in alerts else "alert_below"
        raise InvalidInput("The line below must be lower than the line above.", field=field)
    for name, value in new.items():
        setattr(wallet, name, value)
    audit.record(
        s, actor, "wallet.alerts", "wallet", wallet.id, before=before, after={n: plain(v) for n, v in new.items()}
    )


def _apply_status(s: Session, wallet: Wallet, status: str, reason: str, actor: Actor) -> None:
    if status not in TRANSITIONS[wallet.status]:
        if wallet.status == "closed":
            raise WalletClosed(f"Wallet {wallet.id} is closed; it cannot be changed.", field="status")
        raise InvalidInput(f"Wallet {wallet.id} is already {status}.", field="status")
    if status == "closed" and wallet.balance != 0:
        raise BalanceNotZero(
            f"Wallet {wallet.id} holds {format_amount(wallet.balance, wallet.currency)} "
            f"{wallet.currency}; only an empty wallet can be closed.",
            field="status",
        )
    if status == "closed" and (n := open_holds(wallet.id, s)):
        raise HoldsOpen(
            f"Wallet {wallet.id} has {n} open hold{'s' if n != 1 else ''} or approval "
            f"request{'s' if n != 1 else ''}: capture, void, approve or reject "
            f"{'them' if n != 1 else 'it'} first (or let {'them' if n != 1 else 'it'} expire).",
            field="status",
        )
    before = wallet.status
    wallet.status, wallet.status_reason, wallet.status_changed_by = status, reason, actor.name
    wallet.status_changed_at = utcnow()
    audit.record(s, actor, "wallet.status", "wallet", wallet.id, before=before, after=status, reason=reason)


# -- money movements: each is a catalogue kind posted by the engine ---------------------------
def ask(kind: str, wallet_id, values: dict, *, idempotency_key, actor: Actor) -> OperationResult:
    """A kind asked for on one customer wallet with the fields of its catalogue entry (a fund,
    a withdrawal, an adjustment): the console's form and the API's body alike."""
    return _post(_asked(kind, wallet_id, values), idempotency_key, actor)


def preview_ask(kind: str, wallet_id, values: dict, *, actor: Actor) -> dict:
    """The review step of ask() (see _dry_run)."""
    return _dry_run(_asked(kind, wallet_id, values), actor)


def _asked(kind: str, wallet_id, values: dict) -> Movement:
    """The movement `values` ask for, each field checked as its catalogue entry says; the
    wallet pays (the source) or receives (the destination) as the kind decides from them."""
    entry = KINDS[kind]
    checked = {}
    for f in entry.fields:
        value = values.get(f.name)
        if f.type == "amount":
            checked[f.name] = parse_amount(value, field=f.name)
        elif f.type == "choice":
            if value not in dict(f.choices):
                options = " or ".join(v for v, _ in f.choices)
                raise InvalidInput(f"{f.label} is {options}.", field=f.name)
            checked[f.name] = value
        else:
            checked[f.name] = validate.text(value, f.name, f.max_length, required=f.required)
    wallet = validate.wallet_id(wallet_id, "wallet_id")
    pays = entry.pays(checked)
    return Movement(
        kind,
        checked["amount"],
        wallet if pays else None,
        None if pays else wallet,
        checked.get("reference"),
        reason=checked.get("reason"),
    )


def fund(wallet_id, amount, *, idempotency_key, actor: Actor, reference=None) -> OperationResult:
    """Credit a wallet from outside the ledger (a deposit): world -> wallet."""
    return ask(
        "fund", wallet_id, {"amount": amount, "reference": reference}, idempotency_key=idempotency_key, actor=actor
    )


def transfer(
    from_wallet_id,
    to_wallet_id,
    amount,
    *,
    idempotency_key,
    actor: Actor,
    reference=None,
    rate=None,
    pending: bool = False,
    expires_in=None,
) -> OperationResult:
    """Move money between two customer wallets. Between currencies it is an exchange, at
    `rate` (destination units per source unit) or the pair's rate in fx_rates. `pending`
    holds the amount instead (see capture and void) for `expires_in` seconds."""
    movement = _transfer_movement(from_wallet_id, to_wallet_id, amount, reference, rate)
    hold = _hold_seconds(pending, expires_in)
    try:
        return _post(movement, idempotency_key, actor, hold)
    except CurrencyMismatch as exc:
        if movement.kind != "transfer" or exc.field != "to_wallet_id":
            raise
        return _post(replace(movement, kind="exchange"), idempotency_key, actor, hold)


def set_system_shards(count, *, actor: Actor) -> int:
    """Split each system wallet into `count` rows per currency (1 to 1,024), making the rows that
    are missing: movements then spread over them (ledger_legs.sql). Fewer than before: the
    rows past it keep their balances (reconcile adds them up) and take no new legs."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SYSTEM_SHARDS:
        raise InvalidInput(f"The number of shards is a whole number from 1 to {MAX_SYSTEM_SHARDS:,}.", field="count")

    def op(s: Session) -> int:
        before = s.scalar(text("SELECT system_shards FROM ledger_settings FOR UPDATE"))
        s.execute(
            text("UPDATE ledger_settings SET system_shards = :n, updated_by = :by, updated_at = now()"),
            {"n": count, "by": actor.name},
        )
        s.execute(text(functions.system_wallets_sql()))
        audit.record(s, actor, "settings.system_shards", "settings", "ledger", before=before, after=count)
        return count

    return atomic(db.session, op)


MAX_SPLIT = 100


def split(from_wallet_id, to, *, idempotency_key, actor: Actor, reference=None) -> OperationResult:
    """One payment to several wallets of the payer's currency: `to` is [{"wallet_id",
    "amount"}, ...], 2 to 100 destinations, each once and none the payer; one transaction,
    one debit of their sum, one fee (a transfer's: catalogue fee_kind)."""
    source = validate.wallet_id(from_wallet_id, "from_wallet_id")
    if not isinstance(to, list) or not 2 <= len(to) <= MAX_SPLIT:
        raise InvalidInput(f"A split pays 2 to {MAX_SPLIT} wallets.", field="to")
    parts = []
    for i, part in enumerate(to):
        if not isinstance(part, dict) or set(part) != {"wallet_id", "amount"}:
            raise InvalidInput("Each destination is {wallet_id, amount}.", field=f"to[{i}]")
        wallet = validate.wallet_id(part["wallet_id"], f"to[{i}].wallet_id")
        if wallet == source or wallet in {w for w, _ in parts}:
            raise InvalidInput("Each destination once, and never the payer.", field=f"to[{i}].wallet_id")
        parts.append((wallet, parse_amount(part["amount"], field=f"to[{i}].amount")))
    movement = Movement(
        "split",
        sum((a for _, a in parts), Decimal(0)),
        source,
        None,
        validate.text(reference, "reference", 500),
        parts=tuple(parts),
    )
    try:
        return _post(movement, idempotency_key, actor)
    except InvalidAmount as exc:  # the engine names the sum's field, `amount`: a split's are in `to`
        exc.field = "to" if exc.field == "amount" else exc.field
        raise


def withdraw(wallet_id, amount, *, idempotency_key, actor: Actor, reference=None) -> OperationResult:
    """Pay money out of the ledger (a payout): wallet -> world, with the withdrawal fee."""
    return ask(
        "withdrawal",
        wallet_id,
        {"amount": amount, "reference": reference},
        idempotency_key=idempotency_key,
        actor=actor,
    )


def reverse(
    transaction_id, *, reason, idempotency_key, actor: Actor, amount=None, refund_fee: bool = False
) -> OperationResult:
    """Reverse a posted fund, transfer or withdrawal, fully (the default: what is left) or in
    part, with a reason; `refund_fee` also returns the original's fee to its payer."""
    reason = validate.text(reason, "reason", 500, required=True)
    return _post(_reversal(transaction_id, amount, refund_fee, reason), idempotency_key, actor)


def capture(transaction_id, *, idempotency_key, actor: Actor, amount=None) -> OperationResult:
    """Post a pending hold, for `amount` (at most the held amount; the default: all of it);
    the rest of the reservation is released. Its fee is the schedule's for what is captured."""
    return _resolve("capture", transaction_id, idempotency_key, actor, amount=amount)


def void(transaction_id, *, idempotency_key, actor: Actor) -> OperationResult:
    """Release a pending hold: nothing moves."""
    return _resolve("void", transaction_id, idempotency_key, actor)


def approve(transaction_id, *, idempotency_key, actor: Actor) -> OperationResult:
    """A second operator posts a movement that awaits approval, under the same checks as
    any write (refused, it stays waiting). The maker cannot approve their own."""
    return _resolve("approve", transaction_id, idempotency_key, actor)


def reject(transaction_id, *, reason, idempotency_key, actor: Actor) -> OperationResult:
    """A second operator refuses a movement that awaits approval, with a reason; its hold goes."""
    return _resolve(
        "reject", transaction_id, idempotency_key, actor, reason=validate.text(reason, "reason", 500, required=True)
    )


def expire_holds(*, actor: Actor = Actor("system", "expire-holds"), batch: int = 500) -> int:
    """Mark every hold and approval request past its expiry `expired`, releasing its
    reservation; how many it marked. Safe twice or concurrently: each is the engine's
    `expire` of that hold under its lock, keyed `expire:<id>`, and one already ended is skipped."""
    from sqlalchemy import select

    from ..models import Transaction

    done = 0
    while True:
        due = db.session.scalars(
            select(Transaction.id)
            .where(Transaction.status.in_(("pending", "awaiting_approval")), Transaction.expires_at <= utcnow())
            .order_by(Transaction.expires_at)
            .limit(batch)
        ).all()
        ended = 0
        for tx_id in due:
            try:
                _resolve("expire", tx_id, f"expire:{tx_id}", actor)
                ended += 1
            except (HoldNotPending, NotFound):
                continue  # resolved meanwhile, or by a concurrent run
        done += ended
        if len(due) < batch or not ended:
            return done


def preview(kind: str, from_wallet_id, to_wallet_id, amount, *, actor: Actor, rate=None) -> dict:
    """The review step of a transfer (see _dry_run): between currencies, the exchange it will
    be. A kind asked on one wallet previews with preview_ask()."""
    movement = _transfer_movement(from_wallet_id, to_wallet_id, amount, None, rate)
    try:
        return _dry_run(movement, actor)
    except CurrencyMismatch as exc:
        if movement.kind != "transfer" or exc.field != "to_wallet_id":
            raise
        return _dry_run(replace(movement, kind="exchange"), actor)


def preview_reversal(transaction_id, *, actor: Actor, amount=None, refund_fee: bool = False) -> dict:
    """The confirmation step of a reversal (see _dry_run), with the original."""
    movement = _reversal(transaction_id, amount, refund_fee, None)
    return {**_dry_run(movement, actor), "original": movement.original}


def _reversal(transaction_id, amount, refund_fee, reason) -> Movement:
    original = get_transaction(transaction_id)
    if not isinstance(refund_fee, bool):
        raise InvalidInput("refund_fee is true or false.", field="refund_fee")
    value = (
        parse_amount(amount)
        if amount not in (None, "")
        else Decimal(original["amount"]) - Decimal(original["reversed_amount"])
    )
    if value <= 0:
        raise ReversalExceedsOriginal(
            f"Transaction {original['id']} is already fully reversed.", field="amount", remaining="0"
        )
    return Movement(
        "reversal",
        value,
        original["dest_wallet_id"],
        original["source_wallet_id"],
        None,
        reason=reason,
        original=original,
        refund_fee=refund_fee,
    )


def _dry_run(movement: Movement, actor: Actor) -> dict:
    """The engine's own checks in a dry run (nothing written): each customer wallet with its
    change and balance after, the fee, the currency, an exchange's rate and converted amount,
    and whether it would wait for approval. The real post checks again under its locks."""
    posted = engine.post(db.session, movement, actor=actor, dry_run=True)
    currency = posted.tx_currency
    result = {
        "kind": movement.kind,
        "amount": format_amount(movement.amount, currency),
        "currency": currency,
        "fee": format_amount(posted.tx_fee, currency),
        "status": posted.tx_status,
        "wallets": [],
    }
    for wallet_id, system, leg_amount, after, leg_currency in zip(
        posted.leg_wallets, posted.leg_systems, posted.leg_amounts, posted.leg_balances, posted.leg_currencies
    ):
        if system is None:
            wallet = {
                **get_wallet(wallet_id),
                "change": format_amount(leg_amount, leg_currency),
                "balance_after": format_amount(after, leg_currency),
            }
            result["wallets"].append(wallet)
            result["source" if leg_amount < 0 else "dest"] = wallet
    if posted.tx_rate is not None:  # the converted amount is in the movement's other currency
        dest_currency = next(c for c in posted.leg_currencies if c != currency)
        result.update(
            rate=f"{posted.tx_rate.normalize():f}",
            dest_currency=dest_currency,
            dest_amount=format_amount(posted.tx_dest_amount, dest_currency),
        )
    return result


def _transfer_movement(from_wallet_id, to_wallet_id, amount, reference, rate) -> Movement:
    rate = None if rate in (None, "") else parse_rate(rate)
    return Movement(
        "exchange" if rate is not None else "transfer",
        parse_amount(amount),
        validate.wallet_id(from_wallet_id, "from_wallet_id"),
        validate.wallet_id(to_wallet_id, "to_wallet_id"),
        validate.text(reference, "reference", 500),
        rate=rate,
    )


def _hold_seconds(pending, expires_in) -> int | None:
    """A hold's life in seconds: `expires_in`, or the default; None when not pending."""
    if not isinstance(pending, bool):
        raise InvalidInput("pending is true or false.", field="pending")
    if not pending:
        if expires_in is not None:
            raise InvalidInput("expires_in applies only to a pending transfer.", field="expires_in")
        return None
    config = current_app.config
    if expires_in is None:
        return config["HOLD_DEFAULT_SECONDS"]
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or not 1 <= expires_in <= config["HOLD_MAX_SECONDS"]
    ):
        raise InvalidInput(
            f"expires_in is a whole number of seconds, 1 to {config['HOLD_MAX_SECONDS']}.", field="expires_in"
        )
    return expires_in


def _post(movement: Movement, key, actor: Actor, hold: int | None = None) -> OperationResult:
    key = check_key(key)
    m = movement
    shares = {"parts": [(w, f"{a:f}") for w, a in m.parts]} if m.parts else {}  # other kinds' prints unchanged
    fp = fingerprint(
        m.kind if m.kind != "exchange" else "transfer",
        source=m.source,
        dest=m.dest,
        **shares,
        amount=f"{m.amount:f}",
        reference=m.reference,
        reason=m.reason,
        reverses=m.original["id"] if m.original else None,
        refund_fee=m.refund_fee,
        rate=None if m.rate is None else f"{m.rate:f}",
        hold=hold,
    )
    posted = engine.post(db.session, movement, actor=actor, key=key, fp=fp, pending=hold is not None, expires_in=hold)
    if posted.verdict == "replay":
        return OperationResult(get_transaction(posted.tx_id), replayed=True, status=posted.first_status)
    if posted.tx_status != "posted" or posted.tx_rate is not None:
        # Read back after the commit, so a checker may have approved it already: the status
        # is the engine's (202 for a request), as a replay answers it, not the row's of now.
        return OperationResult(get_transaction(posted.tx_id), status=posted.first_status)
    return OperationResult(
        transaction_dict(
            movement,
            posted.tx_id,
            posted.tx_currency,
            actor.name,
            posted.posted_at,
            posted.tx_fee,
            list(
                zip(
                    posted.leg_wallets,
                    posted.leg_systems,
                    posted.leg_amounts,
                    posted.leg_balances,
                    posted.leg_currencies,
                )
            ),
        )
    )


def preview_resolution(action: str, transaction_id, *, actor: Actor, amount=None) -> dict:
    """The review step of a capture or an approval: the engine's own checks in a dry run
    (the hold's state, its maker, the amount, the funds), nothing written; a refusal raises.
    An exchange's rate and converted amount as the write would take them now."""
    hold, movement, _ = _hold_movement(action, transaction_id, amount, None)
    posted = engine.post(db.session, movement, actor=actor, dry_run=True, resolve=action, target=hold["id"])
    if posted.tx_rate is None:
        return {}
    currency = hold["dest_currency"]
    return {"rate": f"{posted.tx_rate.normalize():f}", "dest_amount": format_amount(posted.tx_dest_amount, currency)}


def _hold_movement(action: str, transaction_id, amount, reason) -> tuple[dict, Movement, Decimal | None]:
    """A hold's own movement, built from its row, for `action`: (the hold, the movement, the
    amount it posts or None)."""
    hold = get_transaction(transaction_id)
    value = None
    if action in ("capture", "approve"):
        # Parsed alike either way, so "all" and the same amount spelled out share a fingerprint.
        value = parse_amount(hold["amount"] if amount in (None, "") else amount)
    # The hold's own movement (an exchange re-quoted at the house's rate of now); a request
    # approved keeps its own reason, and a reversal its original and whether it returns the fee.
    original = get_transaction(hold["reverses_transaction_id"]) if hold["reverses_transaction_id"] else None
    movement = Movement(
        hold["kind"],
        value,
        hold["source_wallet_id"],
        hold["dest_wallet_id"],
        hold["reference"],
        reason=hold["reason"] if action == "approve" else reason,
        original=original,
        refund_fee=bool(original) and hold["fee_refunded"],
    )
    return hold, movement, value


def _resolve(action: str, transaction_id, key, actor: Actor, *, amount=None, reason=None) -> OperationResult:
    """End hold `transaction_id` by `action` (the engine checks its state under its lock).
    A capture or an approval posts the hold's own movement, built from its row."""
    key = check_key(key)
    hold, movement, value = _hold_movement(action, transaction_id, amount, reason)
    fp = fingerprint(action, transaction=hold["id"], amount=None if value is None else f"{value:f}", reason=reason)
    posted = engine.post(db.session, movement, actor=actor, key=key, fp=fp, resolve=action, target=hold["id"])
    return OperationResult(
        get_transaction(posted.tx_id), replayed=posted.verdict == "replay", status=posted.first_status
    )
