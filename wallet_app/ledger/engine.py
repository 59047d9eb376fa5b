"""The one write path: every movement is one call of ledger_post() (ledger/sql/ledger_post.sql), which
claims the idempotency key, locks the legs' wallets in ascending id order, checks every rule,
and writes the transaction, its legs with balance_after (the fee leg included) and the audit
row, in one round trip.
The confirmation step calls it with dry_run: the same checks, nothing written.

Python composes legs (catalogue.py) and turns a refusal into its WalletError; it checks no
rule itself.
"""

import json
from decimal import Decimal
from typing import NamedTuple, NoReturn

from flask import current_app
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..errors import (
    BalanceLimitExceeded,
    BatchRefused,
    CaptureExceedsHold,
    CurrencyMismatch,
    DailyLimitExceeded,
    FeeAlreadyRefunded,
    HoldNotPending,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    InvalidInput,
    KindNotHoldable,
    KindNotReversible,
    MakerCannotApprove,
    MaxBalanceExceeded,
    NotAwaitingApproval,
    NotFound,
    NotHoldMaker,
    NotReversible,
    RateMismatch,
    RateStale,
    ReversalExceedsOriginal,
    SameWallet,
    TokenNotLive,
    WalletError,
    WalletNotActive,
)
from ..money import format_amount
from ..services.atomic import SingleStatements, atomic, execute_one, single_statements
from ..services.audit import Actor
from .catalogue import KINDS, Movement, label

REFUSED = "WA001"  # the SQLSTATE ledger_refuse() raises

_COLUMNS = (
    "verdict, tx_id, posted_at, tx_currency, leg_wallets, leg_amounts, leg_balances, tx_fee, "
    "leg_currencies, tx_status, tx_rate, tx_dest_amount, tx_expires_at, first_status"
)
# Named parameters (their meaning is ledger_post.sql's header); the arrays go as text.
_CALL = """ledger_post(
    p_scope => {scope}, p_key => :key, p_fp => :fp, p_actor => {actor}, p_owner => {owner},
    p_kind => :kind, p_amount => :amount, p_source => :source, p_dest => :dest,
    p_wallets => CAST(:wallets AS bigint[]), p_systems => CAST(:systems AS text[]),
    p_likes => CAST(:likes AS int[]), p_amounts => CAST(:amounts AS numeric[]), p_fields => CAST(:fields AS text[]),
    p_rate_max_age => CAST(:rate_max_age AS int), p_expires_in => CAST(:expires_in AS int),
    p_fee_payer => CAST(:fee_payer AS int), p_four_eyes => :four_eyes, p_holdable => CAST(:holdable AS boolean),
    p_reference => :reference, p_reason => :reason, p_issuer => {issuer}, p_ip => :ip, p_dry_run => :dry_run,
    p_converts => CAST(:converts AS boolean[]), p_rate => CAST(:rate AS numeric),
    p_reverses => CAST(:reverses AS bigint), p_reversible => CAST(:reversible AS boolean),
    p_refund_fee => CAST(:refund_fee AS numeric),
    p_pending => :pending, p_resolve => CAST(:resolve AS text), p_target => CAST(:target AS bigint),
    p_batch => NULL, p_fee_kind => CAST(:fee_kind AS text))"""
_POST = text(
    f"SELECT {_COLUMNS} FROM "
    + _CALL.format(scope=":scope", actor=":actor", owner=":owner", issuer="CAST(:issuer AS text)")
)
# An API token's movement: the same call, made only while the token is live, in the same
# statement (so a revocation holds from the next request on, with no round trip of its own).
# The call takes its scope, actor name and owner from the token's row: that reference makes it a
# LATERAL call the executor runs once per live row, and never when the token is revoked.
_POST_AS_TOKEN = text(
    f"SELECT {', '.join('p.' + c for c in _COLUMNS.split(', '))} FROM api_tokens t CROSS JOIN LATERAL "
    + _CALL.format(
        scope="'token:' || t.id",
        actor="'token:' || t.name",
        owner="coalesce('user:' || t.owner_user_id, 'integration:' || t.integration_id)",
        issuer="'user:' || t.created_by_id",
    )
    + " p WHERE t.token_hash = :token AND t.revoked_at IS NULL"
)
# Pre-compiled once to psycopg's placeholders: execute_one skips SQLAlchemy's per-call
# compile on the hottest path (bench/PROFILE.md).
POST_SQL = str(_POST.compile(dialect=psycopg_dialect()))
POST_AS_TOKEN_SQL = str(_POST_AS_TOKEN.compile(dialect=psycopg_dialect()))


class Posted(NamedTuple):
    verdict: str  # posted | replay | checked (dry run)
    tx_id: int | None
    posted_at: object
    tx_currency: str | None
    leg_wallets: list  # every leg's wallet, the fee leg (to `fees`) last when there is one
    leg_amounts: list  # the payer's leg includes the fee
    leg_balances: list
    tx_fee: object
    leg_currencies: list | None = None
    tx_status: str = "posted"  # or pending | awaiting_approval (created so), voided | rejected | expired
    tx_rate: object = None  # an exchange's rate and converted amount
    tx_dest_amount: object = None
    tx_expires_at: object = None  # a hold's or an approval request's end
    first_status: int | None = None  # the HTTP status of the first answer (a replay answers it again)
    leg_systems: list | None = None  # each leg's system purpose (None: a customer wallet)


def post(
    session: Session,
    movement: Movement,
    *,
    actor: Actor,
    key: str | None = None,
    fp: str | None = None,
    dry_run: bool = False,
    pending: bool = False,
    expires_in: int | None = None,
    resolve: str | None = None,
    target: int | None = None,
) -> Posted:
    """Run `movement` through the engine and return what it did. A refusal raises its
    WalletError; nothing is left behind, the key's claim included. An actor with a `token`
    moves money only while that token is live (TokenNotLive otherwise, nothing written).

    `pending` creates a hold; `resolve` (capture, approve, void, reject, expire) ends hold
    `target`: capture and approve post `movement` (the hold's, for at most its amount),
    the others move nothing and take no movement."""
    kind = KINDS[movement.kind]
    legs = kind.legs(movement) if movement.amount is not None else []
    config = current_app.config
    fee_payer = None if kind.fee_payer is None else kind.fee_payer + 1
    original = movement.original
    refund = Decimal(original["fee"]) if movement.refund_fee and original and Decimal(original["fee"]) else None
    params = dict(
        scope=actor.scope,
        key=key,
        fp=fp,
        kind=movement.kind,
        amount=movement.amount,
        source=movement.source,
        dest=movement.dest,
        reference=movement.reference,
        actor=actor.name,
        ip=actor.ip,
        wallets=_array(leg.wallet_id for leg in legs),
        systems=_array(leg.system for leg in legs),
        likes=_array(None if leg.like is None else leg.like + 1 for leg in legs),
        amounts=_array(leg.amount for leg in legs),
        fields=_array(leg.field for leg in legs),
        fee_payer=fee_payer,
        reverses=original["id"] if original else None,
        refund_fee=refund,
        reason=movement.reason,
        dry_run=dry_run,
        converts=_array(str(leg.converted).lower() for leg in legs),
        rate=movement.rate,
        rate_max_age=config["FX_RATE_MAX_AGE"],
        pending=pending,
        expires_in=expires_in or config["APPROVAL_EXPIRES_IN"],
        owner=actor.person,
        four_eyes=kind.four_eyes,
        resolve=resolve,
        target=target,
        reversible=KINDS[original["kind"]].reversible if original else None,
        issuer=actor.issuer,
        holdable=kind.holdable,
        fee_kind=kind.fee_kind,
    )
    sql = POST_SQL
    if actor.token is not None:
        sql, params["token"] = POST_AS_TOKEN_SQL, actor.token

    def op(conn: Session | SingleStatements) -> Posted:
        bind = conn if isinstance(conn, SingleStatements) else conn.connection()
        try:
            row = execute_one(bind, sql, params)
            if row is None:  # only the token's join returns no row
                raise TokenNotLive("This token has been revoked.")
            posted = Posted(*row)
            systems = [leg.system for leg in legs]
            return posted._replace(leg_systems=systems + ["fees"] * (len(posted.leg_wallets or ()) - len(systems)))
        except DBAPIError as exc:
            _raise_refusal(exc)

    return atomic(single_statements(session) or session, op)


def _raise_refusal(exc: DBAPIError) -> NoReturn:
    """A refusal of the engine (SQLSTATE WA001) as its WalletError; any other error as it is."""
    if getattr(exc.orig, "sqlstate", None) == REFUSED:
        raise refusal(exc.orig.diag.message_primary, json.loads(exc.orig.diag.message_detail)) from None
    raise exc


def _array(values) -> str:
    """A PostgreSQL array literal. The values are ours (validated ids, Decimals, the catalogue's
    names), never free text; as text, the server parses the array, which costs less than
    psycopg adapting five Python lists per movement (bench/PROFILE.md)."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _shown(amount, currency: str) -> str:
    """An amount in a refusal's words as the console shows money: "1,234.50" (in `currency`'s
    minor units)."""
    return f"{Decimal(format_amount(amount, currency)):,f}"


def _named(d: dict, prefix: str = "") -> str:
    """A wallet as the console names it, its owner and a quiet id: "Ada Lovelace #21"."""
    owner = d.get(prefix + "owner")
    return f"{owner} #{d[prefix + 'wallet_id']}" if owner else f"Wallet #{d[prefix + 'wallet_id']}"


def _batch_refusal(code: str, d: dict) -> WalletError:
    """A refusal about a batch as a whole (deciding one that awaits approval)."""
    batch = d["batch_id"]
    if code == "not_found":
        return NotFound(f"Batch {batch} does not exist.", field="batch_id")
    if code == "not_awaiting_approval":
        status = d["status"].replace("_", " ")
        return NotAwaitingApproval(f"Batch {batch} is {status}; it is not awaiting approval.", field="batch_id")
    return MakerCannotApprove(f"You made batch {batch}; another person must approve or reject it.", field="batch_id")


def refusal(code: str, d: dict) -> WalletError:
    """The WalletError for a rule ledger_post() refused, worded for people."""
    field = d["field"]
    if code == "batch_refused":
        errors = [
            {"index": e["index"], "code": e["code"], "detail": refusal(e["code"], e["detail"]).message}
            for e in d["errors"]
        ]
        count = len(errors)
        return BatchRefused(
            f"{count} item{'s' if count != 1 else ''} of the batch refused; nothing was posted.",
            field=field,
            errors=errors,
        )
    if "batch_id" in d:
        return _batch_refusal(code, d)
    if code == "not_found" and "transaction_id" in d:
        return NotFound(f"Transaction {d['transaction_id']} does not exist.", field=field)
    if code == "not_found":
        return NotFound(f"Wallet {d['wallet_id']} does not exist.", field=field)
    if code == "wallet_not_active":
        return WalletNotActive(f"{_named(d)} is {d['status']}.", field=field)
    if code == "same_wallet":
        return SameWallet("Choose two different wallets.", field=field)
    if code == "currency_mismatch":
        return CurrencyMismatch(
            f"{_named(d, 'other_')} holds {d['other_currency']} but {_named(d)} holds {d['currency']}.", field=field
        )
    if code == "invalid_amount":
        unit = "no decimal places" if d["places"] == 0 else f"at most {d['places']} decimal places"
        return InvalidAmount(f"{d['currency']} amounts have {unit}.", field=field)
    if code == "insufficient_funds":
        available, fee, cur = format_amount(d["available"], d["currency"]), Decimal(d["fee"]), d["currency"]
        needs = f"; this needs {_shown(d['needed'], cur)}, fee of {_shown(d['fee'], cur)} included" if fee else ""
        return InsufficientFunds(
            f"Insufficient funds: {_shown(available, cur)} {cur} available{needs}.", field=field, available=available
        )

    if code == "max_balance_exceeded":
        return MaxBalanceExceeded(
            f"{_named(d)} may hold at most {d['max_balance']} {d['currency']}; it has room for {d['room']}.",
            field=field,
            room=d["room"],
        )
    if code == "daily_limit_exceeded":
        return DailyLimitExceeded(
            f"{_named(d)} may pay out {d['limit']} {d['currency']} a day (UTC), "
            f"fees included; {d['left']} is left today.",
            field=field,
            left=d["left"],
        )
    if code == "reversal_exceeds_original":
        return ReversalExceedsOriginal(
            f"At most {d['remaining']} of transaction {d['transaction_id']} is left to reverse.",
            field=field,
            remaining=d["remaining"],
        )
    if code == "kind_not_reversible":
        return KindNotReversible(
            f"Transaction {d['transaction_id']} is {label(d['kind']).lower()}; that kind cannot be reversed.",
            field=field,
            kind=d["kind"],
        )
    if code == "kind_not_holdable":
        return KindNotHoldable(
            f"A {label(d['kind']).lower()} cannot be held: only a transfer can be pending.", field=field, kind=d["kind"]
        )
    if code == "not_reversible" and d.get("status") != "posted":
        return NotReversible(
            f"Transaction {d['transaction_id']} is {d['status'].replace('_', ' ')}; only a posted "
            "transaction can be reversed.",
            field=field,
        )
    if code == "not_reversible":
        return NotReversible(f"Transaction {d['transaction_id']} is a reversal; it cannot be reversed.", field=field)
    if code == "hold_not_pending":
        return HoldNotPending(
            f"Transaction {d['transaction_id']} is {d['status'].replace('_', ' ')}, not a pending "
            "hold: it can no longer be captured or voided.",
            field=field,
            status=d["status"],
        )
    if code == "not_awaiting_approval":
        return NotAwaitingApproval(
            f"Transaction {d['transaction_id']} is {d['status'].replace('_', ' ')}; it is not awaiting approval.",
            field=field,
            status=d["status"],
        )
    if code == "not_hold_maker":
        return NotHoldMaker(
            f"Transaction {d['transaction_id']} is another person's hold: only whoever made it captures or voids it.",
            field=field,
        )
    if code == "maker_cannot_approve":
        return MakerCannotApprove(
            f"You made transaction {d['transaction_id']}; another operator must approve or reject it.", field=field
        )
    if code == "capture_exceeds_hold":
        # The hold reserves its fee on top of its amount; what can be captured is the amount.
        held, fee = format_amount(d["held"], d["currency"]), Decimal(d["fee"])
        on_top = f" (its fee, {format_amount(fee, d['currency'])} {d['currency']}, is reserved on top)" if fee else ""
        return CaptureExceedsHold(
            f"At most {held} {d['currency']} of transaction {d['transaction_id']} can be captured{on_top}.",
            field=field,
            held=held,
        )
    if code == "rate_stale":
        return RateStale(
            f"The {d['base']}->{d['quote']} rate was set at {d['updated_at']}, longer ago than "
            f"{d['max_age']} seconds: finance must update it.",
            field=field,
        )
    if code == "rate_mismatch":
        return RateMismatch(
            f"The {d['base']}->{d['quote']} rate is {d['rate']}, not {d['given']}: a rate given "
            f"with a transfer may differ from the house's by at most {d['tolerance_bps']} basis "
            "points (the house's rate always applies).",
            field=field,
            rate=d["rate"],
        )
    if code == "rate_not_applicable":
        return InvalidInput(f"Both wallets hold {d['currency']}: a rate applies only between currencies.", field=field)
    if code == "amount_too_small":
        return InvalidAmount(
            f"At a rate of {d['rate']} this amount is less than one {d['currency']} minor unit.", field=field
        )
    if code == "fee_already_refunded":
        return FeeAlreadyRefunded(f"The fee of transaction {d['transaction_id']} was already returned.", field=field)
    if code == "balance_limit_exceeded":
        return BalanceLimitExceeded(
            f"No wallet can hold more than {d['limit']} {d['currency']}; "
            f"this would take wallet {d['wallet_id']} past it.",
            field=field,
        )
    if code == "idempotency_key_reused":
        return IdempotencyKeyReused("This idempotency key was already used for a different request.", field=field)
    raise AssertionError(f"ledger_post refused with an unknown code {code!r}")


class BatchPosted(NamedTuple):
    verdict: str  # posted | replay | awaiting_approval | rejected
    batch_id: int
    batch_status: str
    first_status: int
    waits: bool | None = None  # above the threshold: the batch waits for a second person


_BATCH_CALL = """ledger_batch(
    p_scope => {scope}, p_key => :key, p_fp => :fp, p_actor => {actor}, p_owner => {owner}, p_issuer => {issuer},
    p_ip => :ip, p_mode => :mode, p_items => CAST(:items AS jsonb), p_rate_max_age => CAST(:rate_max_age AS int),
    p_expires_in => CAST(:expires_in AS int), p_resolve => CAST(:resolve AS text),
    p_target => CAST(:target AS bigint), p_reason => CAST(:reason AS text), p_dry_run => :dry_run,
    p_always_wait => :always_wait)"""
_BATCH = text(
    "SELECT b.* FROM "
    + _BATCH_CALL.format(scope=":scope", actor=":actor", owner=":owner", issuer="CAST(:issuer AS text)")
    + " b"
)
# As _POST_AS_TOKEN: a token's batch is posted only while the token is live, in one statement.
_BATCH_AS_TOKEN = text(
    "SELECT b.* FROM api_tokens t CROSS JOIN LATERAL "
    + _BATCH_CALL.format(
        scope="'token:' || t.id",
        actor="'token:' || t.name",
        owner="coalesce('user:' || t.owner_user_id, 'integration:' || t.integration_id)",
        issuer="'user:' || t.created_by_id",
    )
    + " b WHERE t.token_hash = :token AND t.revoked_at IS NULL"
)
BATCH_SQL = str(_BATCH.compile(dialect=psycopg_dialect()))
BATCH_AS_TOKEN_SQL = str(_BATCH_AS_TOKEN.compile(dialect=psycopg_dialect()))


def batch_item(movement: Movement, fp: str) -> dict:
    """One item of a batch as ledger_batch() takes it: ledger_post()'s parameters of the
    movement, its legs composed by the catalogue as post() composes them."""
    kind = KINDS[movement.kind]
    legs = kind.legs(movement)
    return {
        "kind": movement.kind,
        "amount": f"{movement.amount:f}",
        "source": movement.source,
        "dest": movement.dest,
        "reference": movement.reference,
        "fp": fp,
        "wallets": _array(leg.wallet_id for leg in legs),
        "systems": _array(leg.system for leg in legs),
        "likes": _array(None if leg.like is None else leg.like + 1 for leg in legs),
        "amounts": _array(leg.amount for leg in legs),
        "fields": _array(leg.field for leg in legs),
        "converts": _array(str(leg.converted).lower() for leg in legs),
        "fee_payer": None if kind.fee_payer is None else kind.fee_payer + 1,
        "fee_kind": kind.fee_kind,
    }


def post_batch(
    session: Session,
    items: list[dict],
    *,
    actor: Actor,
    mode: str,
    key: str | None = None,
    fp: str | None = None,
    resolve: str | None = None,
    target: int | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    always_wait: bool = False,
) -> BatchPosted:
    """Post a batch of items (batch_item()) in one call and one commit, or decide one that
    awaits approval (`resolve` approve | reject, batch `target`). A refusal raises its
    WalletError; an atomic batch's is BatchRefused, naming each refused item's WalletError.
    `dry_run`: every item checked as if posted, nothing committed: the caller reads what the
    call wrote in `session`, then rolls it back. `always_wait`: the batch waits for a second
    person whatever its amounts (its maker may not move money alone)."""
    config = current_app.config
    params = dict(
        scope=actor.scope,
        key=key,
        fp=fp,
        actor=actor.name,
        owner=actor.person,
        issuer=actor.issuer,
        ip=actor.ip,
        mode=mode,
        items=json.dumps(items),
        rate_max_age=config["FX_RATE_MAX_AGE"],
        expires_in=config["APPROVAL_EXPIRES_IN"],
        resolve=resolve,
        target=target,
        reason=reason,
        dry_run=dry_run,
        always_wait=always_wait,
    )
    sql = BATCH_SQL
    if actor.token is not None:
        sql, params["token"] = BATCH_AS_TOKEN_SQL, actor.token

    def op(conn: Session | SingleStatements) -> BatchPosted:
        bind = conn if isinstance(conn, SingleStatements) else conn.connection()
        try:
            row = execute_one(bind, sql, params)
        except DBAPIError as exc:
            _raise_refusal(exc)
        if row is None:
            raise TokenNotLive("This token has been revoked.")
        return BatchPosted(*row)

    # One statement, its own transaction (as post()'s): the batch's wallet locks end with the
    # call, not after a commit round trip behind the GIL of a busy worker (bench/RESULTS.md,
    # issue 26: locked batches spent a third of their lock time idle in transaction).
    return op(session) if dry_run else atomic(single_statements(session) or session, op)
