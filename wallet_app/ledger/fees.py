"""The fee schedule: per currency and kind, fixed + basis points, clamped to an optional
minimum and maximum. The engine computes each fee from it under the same transaction."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import cache, reads
from ..errors import InvalidInput
from ..extensions import db
from ..models import FeeSchedule
from ..models.types import utcnow
from ..money import check_currency, format_amount, parse_amount
from ..services import audit
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso
from .catalogue import FEE_KINDS


def list_fees() -> list[dict]:
    """The schedule as people read it (cached: cache.py); the engine reads the table itself."""
    return cache.cached(
        "fees",
        lambda: [
            fee_dict(f)
            for f in reads.session().scalars(select(FeeSchedule).order_by(FeeSchedule.currency, FeeSchedule.kind))
        ],
    )


def set_fee(currency, kind, *, fixed="0", bps=0, minimum=None, maximum=None, actor: Actor) -> dict:
    """Create or change the fee of `kind` in `currency` (admins); audited with before and after.
    All zero removes nothing: it is a free kind, written down."""
    currency = check_currency(currency)
    if kind not in FEE_KINDS:
        raise InvalidInput(f"Fees apply to {', '.join(FEE_KINDS)}.", field="kind")
    fixed = _amount(fixed, currency, "fixed") or Decimal(0)
    if isinstance(bps, str) and bps.isascii() and bps.isdigit() and len(bps) <= 5:
        bps = int(bps)
    if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= 10000:
        raise InvalidInput("Basis points are a whole number from 0 to 10000.", field="bps")
    minimum, maximum = _amount(minimum, currency, "minimum"), _amount(maximum, currency, "maximum")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InvalidInput("The minimum is above the maximum.", field="maximum")

    def op(s: Session) -> dict:
        row = s.get(FeeSchedule, (currency, kind), with_for_update=True)
        before = fee_dict(row) if row else None
        if row is None:
            row = FeeSchedule(currency=currency, kind=kind)
            s.add(row)
        row.fixed, row.bps, row.minimum, row.maximum = fixed, bps, minimum, maximum
        row.updated_by, row.updated_at = actor.name, utcnow()
        s.flush()
        after = fee_dict(row)
        audit.record(s, actor, "fee.set", "fee", f"{currency}:{kind}", before=before, after=after)
        return after

    row = atomic(db.session, op)
    cache.invalidate("fees")
    return row


def _amount(value, currency: str, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return parse_amount(value, currency, field=field, allow_zero=True)


def fee_dict(f: FeeSchedule) -> dict:
    money = lambda v: None if v is None else format_amount(v, f.currency)  # noqa: E731
    return {
        "currency": f.currency,
        "kind": f.kind,
        "fixed": money(f.fixed),
        "bps": f.bps,
        "minimum": money(f.minimum),
        "maximum": money(f.maximum),
        "updated_by": f.updated_by,
        "updated_at": iso(f.updated_at),
    }
