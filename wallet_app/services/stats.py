"""Read-only figures for the console: dashboard totals, daily volume, a wallet's balance series."""

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import cache, reads
from ..models import Transaction, Wallet, WalletHistory
from ..money import format_amount
from .serialize import iso


def dashboard(session: Session | None = None, days: int = 30) -> dict:
    """Totals, daily volume and the latest transactions; a little stale is fine (cache.py)."""
    if session is not None:
        return _dashboard(session, days)
    return cache.cached(f"dashboard:{days}", lambda: _dashboard(reads.session(), days), _decimal_series)


def _decimal_series(data: dict) -> dict:
    """The dashboard as cached (JSON) back to what the charts compute with."""
    data["daily"] = {c: [(d, Decimal(v)) for d, v in points] for c, points in data["daily"].items()}
    return data


def _dashboard(s: Session, days: int) -> dict:
    today = datetime.combine(datetime.now(timezone.utc).date(), time(), timezone.utc)
    start = today - timedelta(days=days - 1)
    totals = s.execute(
        select(Wallet.currency, func.count(), func.sum(Wallet.balance))
        .where(Wallet.system_purpose.is_(None))
        .group_by(Wallet.currency)
        .order_by(Wallet.currency)
    ).all()
    system = s.execute(  # a system wallet's shards (migration 0014) shown as the one wallet
        select(Wallet.currency, Wallet.system_purpose, func.sum(Wallet.balance).label("balance"))
        .where(Wallet.system_purpose.is_not(None))
        .group_by(Wallet.currency, Wallet.system_purpose)
        .order_by(Wallet.currency, Wallet.system_purpose)
    ).all()
    day = func.date(Transaction.created_at)
    daily = s.execute(
        select(Transaction.currency, day, func.sum(Transaction.amount), func.count())
        .where(Transaction.created_at >= start)
        .group_by(Transaction.currency, day)
    ).all()
    latest = s.scalars(select(Transaction).order_by(Transaction.id.desc()).limit(10)).all()
    names = (
        dict(
            s.execute(
                select(Wallet.id, Wallet.owner_name).where(
                    Wallet.id.in_({i for t in latest for i in (t.source_wallet_id, t.dest_wallet_id) if i})
                )
            ).all()
        )
        if latest
        else {}
    )
    series = {}
    for currency, d, amount, n in daily:
        series.setdefault(currency, {})[str(d)] = (Decimal(amount), n)
    days_list = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    return {
        "wallets": sum(n for _, n, _ in totals),
        "totals": [{"currency": c, "wallets": n, "balance": format_amount(b or 0, c)} for c, n, b in totals],
        # The ledger's own wallets per currency: world is minus everything the ledger holds.
        "system": [{"currency": c, "purpose": p, "balance": format_amount(b, c)} for c, p, b in system],
        "today": [
            {"currency": c, "volume": format_amount(v[days_list[-1]][0], c), "count": v[days_list[-1]][1]}
            for c, v in sorted(series.items())
            if days_list[-1] in v
        ],
        "daily": {c: [(d, v.get(d, (Decimal(0), 0))[0]) for d in days_list] for c, v in sorted(series.items())},
        "latest": [
            {
                "id": t.id,
                "kind": t.kind,
                "amount": format_amount(t.amount, t.currency),
                "currency": t.currency,
                "source_wallet_id": t.source_wallet_id,
                "dest_wallet_id": t.dest_wallet_id,
                "source_name": names.get(t.source_wallet_id),
                "dest_name": names.get(t.dest_wallet_id),
                "created_at": iso(t.created_at),
            }
            for t in latest
        ],
    }


def balance_series(wallet_id: int, points: int = 60, session: Session | None = None) -> list[Decimal]:
    """The wallet's balance after each of its last `points` entries, oldest first."""
    s = session or reads.session()
    where, order = WalletHistory.newest_first(wallet_id)
    rows = s.scalars(select(WalletHistory.balance_after).where(*where).order_by(*order).limit(points)).all()
    return list(reversed(rows))


def chart(
    points: list[tuple[str | None, Decimal]], *, signed: bool = False, width: int = 600, height: int = 120
) -> dict:
    """A server-rendered bar chart (no JavaScript, no inline styles): bar geometry from the
    zero line, the axis' top and bottom values, and each point's label and value (the page
    shows them as a hover title and in a table). `signed`: values may be below zero."""
    values = [Decimal(v) for _, v in points]
    hi = max([Decimal(0), *values])
    lo = min([Decimal(0), *values]) if signed else Decimal(0)
    span = (hi - lo) or Decimal(1)
    step = width / max(len(values), 1)

    def y(v: Decimal) -> float:
        return round(float((hi - v) / span) * height, 1)

    bars = [
        {
            "x": round(i * step, 1),
            "w": round(max(step - 2, 1), 1),
            "y": y(max(v, Decimal(0))),
            "h": max(round(y(min(v, Decimal(0))) - y(max(v, Decimal(0))), 1), 0.5 if v else 0),
            "label": label,
            "value": v,
        }
        for i, ((label, _), v) in enumerate(zip(points, values))
    ]
    return {
        "bars": bars,
        "top": hi,
        "bottom": lo,
        "zero": y(Decimal(0)),
        "width": width,
        "height": height,
        "first": points[0][0] if points else None,
        "last": points[-1][0] if points else None,
    }
