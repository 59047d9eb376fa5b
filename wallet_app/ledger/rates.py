"""Exchange rates (finance) and approval thresholds (admins): the two tables the engine
reads for an exchange and for four eyes. Every change is audited with before and after."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..extensions import db
from ..models import ApprovalThreshold, FxRate
from ..models.types import utcnow
from ..money import check_currency, format_amount, parse_amount, parse_rate
from ..services import audit
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso


def list_rates() -> list[dict]:
    return [rate_dict(r) for r in db.session.scalars(select(FxRate).order_by(FxRate.base, FxRate.quote))]


def set_rate(base, quote, rate, *, spread_bps=0, actor: Actor) -> dict:
    """Create or change the rate of `base` -> `quote` (units of quote per unit of base) and its
    spread; its `updated_at` is what the engine's staleness check reads."""
    base, quote = check_currency(base, "base"), check_currency(quote, "quote")
    if base == quote:
        raise InvalidInput("A rate is between two different currencies.", field="quote")
    rate = parse_rate(rate)
    if isinstance(spread_bps, str) and spread_bps.isascii() and spread_bps.isdigit() and len(spread_bps) <= 5:
        spread_bps = int(spread_bps)
    if isinstance(spread_bps, bool) or not isinstance(spread_bps, int) or not 0 <= spread_bps <= 10000:
        raise InvalidInput("The spread is a whole number of basis points from 0 to 10000.", field="spread_bps")
    return _upsert(FxRate, (base, quote), dict(base=base, quote=quote, rate=rate, spread_bps=spread_bps),
                   actor, "rate.set", f"{base}:{quote}", rate_dict)


def rate_dict(r: FxRate) -> dict:
    return {"base": r.base, "quote": r.quote, "rate": f"{Decimal(r.rate).normalize():f}", "spread_bps": r.spread_bps,
            "updated_by": r.updated_by, "updated_at": iso(r.updated_at)}


def list_thresholds() -> list[dict]:
    return [threshold_dict(t) for t in db.session.scalars(select(ApprovalThreshold)
                                                           .order_by(ApprovalThreshold.currency))]


def set_threshold(currency, amount, *, actor: Actor) -> dict | None:
    """Above `amount`, a movement in `currency` by an actor who may not approve waits for a
    second operator; an empty amount removes the threshold (None)."""
    currency = check_currency(currency)
    if amount in (None, ""):
        def drop(s: Session) -> None:
            row = s.get(ApprovalThreshold, currency, with_for_update=True)
            if row is not None:
                audit.record(s, actor, "threshold.set", "threshold", currency, before=threshold_dict(row), after=None)
                s.delete(row)
        return atomic(db.session, drop)
    value = parse_amount(amount, currency, allow_zero=True)
    return _upsert(ApprovalThreshold, currency, dict(currency=currency, amount=value), actor, "threshold.set",
                   currency, threshold_dict)


def threshold_dict(t: ApprovalThreshold) -> dict:
    return {"currency": t.currency, "amount": format_amount(t.amount, t.currency), "updated_by": t.updated_by,
            "updated_at": iso(t.updated_at)}


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
        audit.record(s, actor, action, object_type=action.split(".")[0], object_id=object_id, before=before,
                     after=after)
        return after

    return atomic(db.session, op)
