"""The one write path: every movement is one call of ledger_post() (migration 0004), which
claims the idempotency key, locks the legs' wallets in ascending id order, checks every rule,
and writes the transaction, its legs with balance_after and the audit row, in one round trip.
The confirmation step calls it with dry_run: the same checks, nothing written.

Python composes legs (catalogue.py) and turns a refusal into its WalletError; it checks no
rule itself.
"""
import json
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..errors import (BalanceLimitExceeded, CurrencyMismatch, IdempotencyKeyReused, InsufficientFunds, InvalidAmount, NotFound,
                      SameWallet, WalletError, WalletNotActive)
from ..money import format_amount
from ..services.atomic import atomic, execute_one, single_statement_connection
from ..services.audit import Actor
from .catalogue import KINDS, Movement

REFUSED = "WA001"  # the SQLSTATE ledger_refuse() raises

_POST = text("""SELECT verdict, tx_id, posted_at, tx_currency, leg_wallets, leg_balances FROM ledger_post(
    :scope, :key, :fp, :kind, :amount, :source, :dest, :reference, :actor, :ip,
    CAST(:wallets AS bigint[]), CAST(:systems AS text[]), CAST(:likes AS int[]),
    CAST(:amounts AS numeric[]), CAST(:fields AS text[]), :dry_run)""")
# Pre-compiled once to psycopg's placeholders: execute_one skips SQLAlchemy's per-call
# compile on the hottest path (bench/PROFILE.md).
POST_SQL = str(_POST.compile(dialect=psycopg_dialect()))


class Posted(NamedTuple):
    verdict: str  # posted | replay | checked (dry run)
    tx_id: int | None
    posted_at: object
    tx_currency: str | None
    leg_wallets: list
    leg_balances: list


def post(session: Session, movement: Movement, *, actor: Actor, key: str | None = None, fp: str | None = None,
         dry_run: bool = False) -> tuple[Posted, list]:
    """Run `movement` through the engine; return its result and the legs it was built from.
    A refusal raises its WalletError; nothing is left behind, the key's claim included."""
    legs = KINDS[movement.kind].legs(movement)
    params = dict(scope=actor.scope, key=key, fp=fp, kind=movement.kind, amount=movement.amount,
                  source=movement.source, dest=movement.dest, reference=movement.reference,
                  actor=actor.name, ip=actor.ip,
                  wallets=[leg.wallet_id for leg in legs], systems=[leg.system for leg in legs],
                  likes=[None if leg.like is None else leg.like + 1 for leg in legs],
                  amounts=[leg.amount for leg in legs], fields=[leg.field for leg in legs], dry_run=dry_run)

    def op(conn: Session | Connection) -> Posted:
        bind = conn if isinstance(conn, Connection) else conn.connection()
        try:
            return Posted(*execute_one(bind, POST_SQL, params))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == REFUSED:
                raise refusal(exc.orig.diag.message_primary, json.loads(exc.orig.diag.message_detail)) from None
            raise

    solo = single_statement_connection(session)
    if solo is None:
        return atomic(session, op), legs
    with solo:
        return atomic(solo, op), legs


def refusal(code: str, d: dict) -> WalletError:
    """The WalletError for a rule ledger_post() refused, worded for people."""
    field = d["field"]
    if code == "not_found":
        return NotFound(f"Wallet {d['wallet_id']} does not exist.", field=field)
    if code == "wallet_not_active":
        return WalletNotActive(f"Wallet {d['wallet_id']} is {d['status']}.", field=field)
    if code == "same_wallet":
        return SameWallet("Choose two different wallets.", field=field)
    if code == "currency_mismatch":
        return CurrencyMismatch(f"Wallet {d['other_wallet_id']} holds {d['other_currency']} but wallet "
                                f"{d['wallet_id']} holds {d['currency']}.", field=field)
    if code == "invalid_amount":
        unit = "no decimal places" if d["places"] == 0 else f"at most {d['places']} decimal places"
        return InvalidAmount(f"{d['currency']} amounts have {unit}.", field=field)
    if code == "insufficient_funds":
        available = format_amount(d["available"], d["currency"])
        return InsufficientFunds(f"Insufficient funds: {available} {d['currency']} available.",
                                 field=field, available=available)
    if code == "balance_limit_exceeded":
        return BalanceLimitExceeded(f"No wallet can hold more than {d['limit']} {d['currency']}; "
                                    f"this would take wallet {d['wallet_id']} past it.", field=field)
    if code == "idempotency_key_reused":
        return IdempotencyKeyReused("This idempotency key was already used for a different request.",
                                    field=field)
    raise AssertionError(f"ledger_post refused with an unknown code {code!r}")
