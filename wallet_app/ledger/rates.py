"""Exchange rates (finance), approval thresholds and the ledger's policy settings (admins):
the tables the engine reads for an exchange and for four eyes. Every change is audited with
before and after."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import cache, reads
from ..errors import InvalidInput
from ..extensions import db
from ..models import ApprovalThreshold, FxRate, LedgerSettings
from ..models.types import utcnow
from ..money import check_currency, format_amount, parse_amount, parse_rate
from ..services import audit
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso


def list_rates() -> list[dict]:
    """The rates as people read them (cached: cache.py); the engine reads the table itself."""
    return cache.cached(
        "rates",
        lambda: [rate_dict(r) for r in reads.session().scalars(select(FxRate).order_by(FxRate.base, FxRate.quote))],
    )


def set_rate(base, quote, rate, *, spread_bps=0, tolerance_bps=0, actor: Actor) -> dict:
    """Create or change the rate of `base` -> `quote` (units of quote per unit of base), its
    spread, and how far (`tolerance_bps`) a caller's expected rate may be from it before the
    movement is refused; its `updated_at` is what the engine's staleness check reads."""
    base, quote = check_currency(base, "base"), check_currency(quote, "quote")
    if base == quote:
        raise InvalidInput("A rate is between two different currencies.", field="quote")
    rate = parse_rate(rate)
    spread_bps = basis_points(spread_bps, "spread_bps", "The spread")
    tolerance_bps = basis_points(tolerance_bps, "tolerance_bps", "The tolerance")
    _no_round_trip_profit(base, quote, rate, spread_bps)
    row = _upsert(
        FxRate,
        (base, quote),
        dict(base=base, quote=quote, rate=rate, spread_bps=spread_bps, tolerance_bps=tolerance_bps),
        actor,
        "rate.set",
        f"{base}:{quote}",
        rate_dict,
    )
    cache.invalidate("rates")
    return row


def _no_round_trip_profit(base: str, quote: str, rate: Decimal, spread_bps: int) -> None:
    """An exchange there and back must never pay: with the reverse pair's rate r' and both
    spreads, rate x r' may pass 1 by no more than the spreads take (else anyone could mint by
    exchanging in a loop)."""
    reverse = db.session.get(FxRate, (quote, base))
    if reverse is None:
        return
    if rate * reverse.rate > 1 + Decimal(spread_bps + reverse.spread_bps) / 10000:
        limit = (1 + Decimal(spread_bps + reverse.spread_bps) / 10000) / reverse.rate
        raise InvalidInput(
            f"With {quote}->{base} at {Decimal(reverse.rate).normalize():f}, an exchange there and back "
            f"would make money: {base}->{quote} may be at most {limit:.6f} (or change the other "
            "rate first).",
            field="rate",
        )


def basis_points(value, field: str, what: str, *, most: int = 10000) -> int:
    """A whole number of basis points, 0 to 10000 (a form's text or a JSON integer)."""
    if value in (None, ""):
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise InvalidInput(f"{what} is a whole number of basis points from 0 to {most}.", field=field)
    return value


def rate_dict(r: FxRate) -> dict:
    return {
        "base": r.base,
        "quote": r.quote,
        "rate": f"{Decimal(r.rate).normalize():f}",
        "spread_bps": r.spread_bps,
        "tolerance_bps": r.tolerance_bps,
        "updated_by": r.updated_by,
        "updated_at": iso(r.updated_at),
    }


def list_thresholds() -> list[dict]:
    return [
        threshold_dict(t) for t in db.session.scalars(select(ApprovalThreshold).order_by(ApprovalThreshold.currency))
    ]


def set_threshold(currency, amount, *, actor: Actor) -> dict | None:
    """Above `amount` (a wallet's unapproved movements of the last day), a movement in
    `currency` waits for a second person, whoever asks; an empty amount removes the
    currency's own threshold (None): the default threshold applies again."""
    currency = check_currency(currency)
    if amount in (None, ""):

        def drop(s: Session) -> None:
            row = s.get(ApprovalThreshold, currency, with_for_update=True)
            if row is not None:
                audit.record(s, actor, "threshold.set", "threshold", currency, before=threshold_dict(row), after=None)
                s.delete(row)

        return atomic(db.session, drop)
    value = parse_amount(amount, currency, allow_zero=True)
    return _upsert(
        ApprovalThreshold,
        currency,
        dict(currency=currency, amount=value),
        actor,
        "threshold.set",
        currency,
        threshold_dict,
    )


def threshold_dict(t: ApprovalThreshold) -> dict:
    return {
        "currency": t.currency,
        "amount": format_amount(t.amount, t.currency),
        "updated_by": t.updated_by,
        "updated_at": iso(t.updated_at),
    }


# Reconcile's allowance for the fx desk's drift stays well short of "anything goes".
FX_TOLERANCE_MAX = 2000


def policy() -> dict:
    """The ledger's policy settings: the default approval threshold (a currency without its
    own) and the fx position tolerance of reconcile."""
    return policy_dict(db.session.get(LedgerSettings, True))


def set_policy(*, actor: Actor, default_approval_threshold=None, fx_position_tolerance_bps=None) -> dict:
    """Change the default approval threshold (a plain amount, applied in each currency's own
    units) and/or reconcile's fx position tolerance; audited with before and after."""
    values = {}
    if default_approval_threshold is not None:
        values["default_approval_threshold"] = parse_amount(
            default_approval_threshold, None, field="default_approval_threshold", allow_zero=True
        )
    if fx_position_tolerance_bps is not None:
        values["fx_position_tolerance_bps"] = basis_points(
            fx_position_tolerance_bps, "fx_position_tolerance_bps", "The tolerance", most=FX_TOLERANCE_MAX
        )
    return _upsert(LedgerSettings, True, values, actor, "policy.set", "ledger", policy_dict)


def policy_dict(p: LedgerSettings) -> dict:
    return {
        "default_approval_threshold": f"{Decimal(p.default_approval_threshold).normalize():f}",
        "fx_position_tolerance_bps": p.fx_position_tolerance_bps,
        "updated_by": p.updated_by,
        "updated_at": iso(p.updated_at),
    }


def _upsert(model, key, values: dict, actor: Actor, action: str, object_id: str, to_dict) -> dict:
    def op(s: Session) -> dict:
        row = s.get(model, key, with_for_update=True)
        before = to_dict(row) if row else None
        if row is None:
            row = model()
            s.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by, row.updated_at = actor.name, utcnow()
        s.flush()
        after = to_dict(row)
        audit.record(
            s, actor, action, object_type=action.split(".")[0], object_id=object_id, before=before, after=after
        )
        return after

    return atomic(db.session, op)
