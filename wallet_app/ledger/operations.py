"""Every state change of a wallet: create, status, and the money movements of the catalogue."""
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import WALLET_STATUSES, Wallet
from ..models.types import utcnow
from ..money import check_currency, format_amount, parse_amount
from ..services import audit, validate
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import wallet_dict
from . import engine
from .catalogue import Movement
from .idempotency import check_key, fingerprint
from .queries import get_transaction, get_wallet, transaction_dict

__all__ = ["OperationResult", "create_wallet", "set_status", "fund", "transfer", "preview"]

@dataclass(frozen=True)
class OperationResult:
    """A movement: the transaction as a JSON-ready dict, and whether it was a replay."""

    transaction: dict
    replayed: bool = False


def create_wallet(owner_name, currency, *, actor: Actor, owner_email=None, external_ref=None) -> dict:
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

    return atomic(db.session, op)


def set_status(wallet_id, status: str, *, actor: Actor) -> dict:
    """Freeze, unfreeze or close a customer wallet (admins)."""
    if status not in WALLET_STATUSES:
        raise InvalidInput("Unknown status.", field="status")
    wallet_id = validate.wallet_id(wallet_id, "wallet_id")

    def op(s: Session) -> dict:
        wallet = s.get(Wallet, wallet_id, with_for_update=True)
        if wallet is None or wallet.system_purpose is not None:
            raise NotFound(f"Wallet {wallet_id} does not exist.", field="wallet_id")
        previous, wallet.status, wallet.updated_at = wallet.status, status, utcnow()
        audit.record(s, actor, "wallet.status", "wallet", wallet_id, before=previous, after=status)
        s.flush()
        return wallet_dict(wallet)

    return atomic(db.session, op)


# -- money movements: each is a catalogue kind posted by the engine ---------------------------
def fund(wallet_id, amount, *, idempotency_key, actor: Actor, reference=None) -> OperationResult:
    """Credit a wallet from outside the ledger (a deposit): world -> wallet."""
    return _post("fund", None, validate.wallet_id(wallet_id, "wallet_id"), amount, idempotency_key, actor,
                 reference)


def transfer(from_wallet_id, to_wallet_id, amount, *, idempotency_key, actor: Actor,
             reference=None) -> OperationResult:
    return _post("transfer", validate.wallet_id(from_wallet_id, "from_wallet_id"),
                 validate.wallet_id(to_wallet_id, "to_wallet_id"), amount, idempotency_key, actor, reference)


def preview(kind: str, from_wallet_id, to_wallet_id, amount, *, actor: Actor) -> dict:
    """The confirmation step: the engine's own checks in a dry run (nothing written), and
    each customer wallet with its balance after. The real post checks again under its locks."""
    source = validate.wallet_id(from_wallet_id, "from_wallet_id") if from_wallet_id is not None else None
    dest = validate.wallet_id(to_wallet_id, "to_wallet_id" if source else "wallet_id")
    movement = Movement(kind, parse_amount(amount), source, dest)
    posted, legs = engine.post(db.session, movement, actor=actor, dry_run=True)
    result = {"amount": format_amount(movement.amount, posted.tx_currency), "currency": posted.tx_currency}
    for leg, wallet_id, after in zip(legs, posted.leg_wallets, posted.leg_balances):
        if leg.system is None:
            role = "source" if leg.amount < 0 else "dest"
            result[role] = {**get_wallet(wallet_id), "balance_after": format_amount(after, posted.tx_currency)}
    return result


def _post(kind, source, dest, amount, key, actor: Actor, reference) -> OperationResult:
    value = parse_amount(amount)
    key = check_key(key)
    reference = validate.text(reference, "reference", 500)
    movement = Movement(kind, value, source, dest, reference)
    fp = fingerprint(kind, source=source, dest=dest, amount=f"{value:f}", reference=reference)
    posted, legs = engine.post(db.session, movement, actor=actor, key=key, fp=fp)
    if posted.verdict == "replay":
        return OperationResult(get_transaction(posted.tx_id), replayed=True)
    return OperationResult(transaction_dict(
        movement, posted.tx_id, posted.tx_currency, actor.name, posted.posted_at,
        [(w, leg.system, leg.amount, after) for leg, w, after in zip(legs, posted.leg_wallets, posted.leg_balances)]))
